"""Writes to file descriptors 1 and 2 directly and through a subprocess, not through sys.stdout."""
import os
import subprocess


def apply(input):
    n = int(input or 0)
    os.write(1, b"fd1 says hi\n")
    os.write(2, b"fd2 says hi\n")
    subprocess.run(["echo", "child says hi"], check=True)
    if n:
        os.write(1, b"x" * n)
    return "done"
