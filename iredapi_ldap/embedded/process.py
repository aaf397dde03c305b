"""Server child processes (slapd here, test servers too) that do not outlive their parent."""

import ctypes
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1


def death_signal_setter(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """Return a preexec_fn that makes Linux send `signum` to the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    # Linux sends it when the *thread* that forked exits, so start the child
    # from a thread that lives as long as the server should (the main one).
    # Loaded before fork: the child must not touch the dynamic loader.
    libc = ctypes.CDLL(None, use_errno=True)

    def set_death_signal() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signum)

    return set_death_signal


def spawn_logged(command: list[str], output_path: Path) -> subprocess.Popen[bytes]:
    """Start a server as our child in a session of its own, its output going to a file."""
    with open(output_path, "wb") as output:
        # A session of its own keeps a terminal ^C away from the child until
        # stop() runs; the death signal covers a parent killed hard.
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=death_signal_setter(),
        )
