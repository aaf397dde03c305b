"""A real stand-in daemon for the helper's command backend: start it, it detaches and keeps a pidfile.

    dummy_daemon.py start PIDFILE [DELAY]   detach a daemon that writes PIDFILE after DELAY s
    dummy_daemon.py stop PIDFILE [DELAY]    send SIGTERM, then wait DELAY s before returning

The daemon removes its pidfile when it gets SIGTERM. Standard library only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def run(pidfile: str, delay: float) -> None:
    """Be the daemon: wait, write the pidfile, sleep until SIGTERM."""

    def stop(_signum, _frame):
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    time.sleep(delay)
    with open(pidfile + ".tmp", "w") as handle:
        handle.write(f"{os.getpid()}\n")
    os.replace(pidfile + ".tmp", pidfile)
    while True:
        time.sleep(60)


def main(argv: list[str]) -> int:
    """Start, stop or be the daemon."""
    command, pidfile = argv[0], argv[1]
    delay = float(argv[2]) if len(argv) > 2 else 0.0
    if command == "run":
        run(pidfile, delay)
    elif command == "start":
        subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), "run", pidfile, str(delay)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    elif command == "stop":
        with open(pidfile) as handle:
            os.kill(int(handle.read()), signal.SIGTERM)
        time.sleep(delay)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
