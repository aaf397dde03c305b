"""`python -m bench.readcpu` runs end to end with a row per client; timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_read_cpu_prints_a_row_per_client():
    """Stock ldap3 and FastConnection are measured; python-ldap is measured or named missing."""
    result = subprocess.run([sys.executable, "-m", "bench.readcpu", "--count", "50", "--rounds", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| Client | best | median |" in result.stdout
    for row in ("| stock ldap3 |", "| FastConnection (ldap/fastpath.py) |"):
        assert row in result.stdout, row
    assert (
        "| python-ldap (libldap) |" in result.stdout or "python-ldap not installed" in result.stdout
    )
