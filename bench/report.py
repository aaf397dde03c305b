"""The results table: printed, and written into docs/performance.md between markers."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from pathlib import Path

from .scenarios import Row

BEGIN = "<!-- bench-results:begin -->"
END = "<!-- bench-results:end -->"


def table(rows: list[Row], columns: tuple[str, str] = ("API", "Raw ldap3")) -> str:
    """Return the rows as a Markdown table (`columns`: the headings of the two measured sides)."""
    lines = [
        f"| Operation | {columns[0]} | {columns[1]} | Ratio | Target | Result | Notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        result = "-" if row.passed is None else ("pass" if row.passed else "**FAIL**")
        lines.append(
            f"| {row.operation} | {row.api} | {row.raw} | {ratio} | {row.target} | {result} | {row.note} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """Describe the machine and the software versions."""
    model = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    slapd = "unknown"
    try:
        from iredapi_ldap.embedded.ldaptools import find_tools

        result = subprocess.run([find_tools()["slapd"], "-VV"], capture_output=True, text=True)
        match = re.search(r"slapd ([\w.+~-]+)", result.stdout + result.stderr)
        slapd = match.group(1) if match else slapd
    except (OSError, RuntimeError):
        pass
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU model": model,
        "RAM": memory,
        "slapd": slapd,
        "Python": platform.python_version(),
        "Kernel": platform.release(),
        "Date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def render(
    rows: list[Row],
    setup: dict[str, str],
    command: str,
    columns: tuple[str, str] = ("API", "Raw ldap3"),
) -> str:
    """Return the report section: machine, setup, command, table."""
    info = {**machine(), **setup}
    lines = [f"Command: `{command}`", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += ["", table(rows, columns)]
    return "\n".join(lines)


def write(path: Path, section: str) -> None:
    """Replace the text between the markers of `path` (append the markers if missing)."""
    text = path.read_text() if path.exists() else "# Performance\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
