"""The benchmark suite runs end to end (`python -m bench --quick`); timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_bench_runs_and_prints_the_table(tmp_path):
    report = tmp_path / "performance.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--report", str(report), "--workdir", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| Operation | API | Raw ldap3 | Ratio | Target | Result | Notes |" in result.stdout
    for operation in ("create user", "get user", "first page of 50", "export", "bulk update", "delete a domain",
                      "login", "LDAP connections during"):  # fmt: skip
        assert operation in result.stdout, operation
    text = report.read_text()
    assert "<!-- bench-results:begin -->" in text and "CPUs (nproc)" in text and "slapd" in text


def test_cpu_breakdown_runs_and_prints_every_row():
    result = subprocess.run([sys.executable, "-m", "bench.cpu", "--count", "400"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for row in ("| GET /api/user |", "| raw base search |", "| POST /api/user |", "| raw add |",
                "| empty WSGI app (HTTP stack only) |", "get user ratio:", "create user ratio:"):  # fmt: skip
        assert row in result.stdout, row
