"""Starts processes that outlive apply(): a forked child, a setsid child, a double-forked daemon.
Returns their pids. ``{"sleep": s}`` then sleeps in apply itself."""
import os
import subprocess
import time


def apply(input):
    input = input or {}
    pids = []
    pid = os.fork()
    if pid == 0:                       # a plain child that keeps running
        time.sleep(60)
        os._exit(0)
    pids.append(pid)
    pids.append(subprocess.Popen(["sleep", "60"], start_new_session=True,
                                 stdout=subprocess.DEVNULL).pid)
    r, w = os.pipe()
    if os.fork() == 0:                 # double fork: the daemon's parent exits at once
        os.setsid()
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(60)
            os._exit(0)
        os.write(w, str(grandchild).encode())
        os._exit(0)
    os.close(w)
    pids.append(int(os.read(r, 32)))
    if input.get("sleep"):
        time.sleep(input["sleep"])
    return pids
