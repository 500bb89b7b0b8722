"""Test algorithm: misbehaves on demand. Returns its pid otherwise."""
import os
import signal
import sys


def apply(input):
    if input == "exit":
        os._exit(3)
    if input == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if input == "sysexit":
        sys.exit(2)
    if isinstance(input, dict) and "spawn-and-hang" in input:
        print(spawn_child(input["spawn-and-hang"]), flush=True)
        import time
        time.sleep(60)
    if isinstance(input, dict) and "alloc_mb" in input:
        blob = bytearray(int(input["alloc_mb"]) * 1024 * 1024)
        return len(blob)
    return os.getpid()


def spawn_child(mark):
    """Start a grandchild process that would outlive a naive kill; ``mark`` names it in its command line."""
    import subprocess
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", mark]).pid
