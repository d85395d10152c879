"""``make bench``: run every benchmark, print one table, write it into docs/PERFORMANCE.md.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--no-write]

Each ``bench/bench_*.py`` runs in its own process (one's memory and garbage don't colour the
next) with ``--json``; its rows are collected in the order the scripts run. The table replaces
the part of docs/PERFORMANCE.md between the ``bench:begin`` and ``bench:end`` markers, together
with the machine it ran on; what is written around the markers (why a target is missed, how
to read a figure) stays as it is.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import Row, read_rows, table  # noqa: E402

REPORT = ROOT / "docs" / "PERFORMANCE.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    postgres = "PostgreSQL: not reachable"
    try:
        out = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-tAc",
                "SHOW server_version",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        postgres = f"PostgreSQL {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return (
        f"{os.cpu_count()} × {cpu}{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; {postgres}"
    )


def commit() -> str:
    """The commit measured, and whether the tree had changes on top of it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} with uncommitted changes" if dirty else head


def run(script: Path, quick: bool) -> tuple[list[Row], float, str | None]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        command = [sys.executable, str(script), "--json", str(out)] + (["--quick"] if quick else [])
        print(f"== {script.relative_to(ROOT)}", flush=True)
        started = time.monotonic()
        result = subprocess.run(command, cwd=ROOT, check=False)
        seconds = time.monotonic() - started
        if result.returncode != 0 or not out.exists():
            return [], seconds, f"exit code {result.returncode}"
        return read_rows(out), seconds, None


def write_report(rows: list[Row], failures: list[str], quick: bool) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    generated = [
        BEGIN,
        f"Measured {stamp} at commit {commit()}"
        + (" with `--quick` (small sizes: not the targets' sizes)" if quick else "")
        + f", by `make bench`, on: {machine()}.",
        "",
        table(rows),
    ]
    if failures:
        generated += ["", "Did not run to the end: " + "; ".join(failures) + "."]
    generated.append(END)
    block = "\n".join(generated)
    text = (
        REPORT.read_text(encoding="utf-8")
        if REPORT.exists()
        else f"# Performance\n\n{BEGIN}\n{END}\n"
    )
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    REPORT.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", nargs="*", default=None, help="names like bench_scale")
    parser.add_argument("--no-write", action="store_true", help="don't touch docs/PERFORMANCE.md")
    args = parser.parse_args()
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem in set(args.only)]
    rows: list[Row] = []
    failures: list[str] = []
    for script in scripts:
        found, seconds, failure = run(script, args.quick)
        rows += found
        print(f"   {len(found)} figures in {seconds:.0f} s" + (f" ({failure})" if failure else ""))
        if failure:
            failures.append(f"{script.name} ({failure})")
    print()
    print(table(rows))
    missed = [row for row in rows if row.met is False]
    met = sum(row.met is True for row in rows)
    print(f"\n{len(rows)} figures, {met} targets met, {len(missed)} missed")
    if not args.no_write:
        write_report(rows, failures, args.quick)
        print(f"written to {REPORT.relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
