"""``make bench``'s report: one table with the baseline of the same run, met or missed, written
between the markers of docs/PERFORMANCE.md without touching what is written around them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run_all
from bench.results import Row, percentile, read_rows, table, write_rows

FAST = Row(
    "updates", "read taps", 1200.0, "updates/s", "bare PTB", 2000.0, 0.6, "ratio >= 0.5", True
)
SLOW = Row("scale", "event list p95", 14.2, "ms", None, None, None, "< 10 ms", False, "SQLite")


def test_the_table_names_the_baseline_and_says_met_or_missed() -> None:
    lines = table([FAST, SLOW]).splitlines()
    assert "bare PTB: 2,000 updates/s" in lines[2] and "| 0.6 |" in lines[2]
    assert lines[2].endswith("| met |")
    assert lines[3].endswith("| **missed** |") and "| – |" in lines[3]


def test_rows_survive_the_trip_through_json(tmp_path: Path) -> None:
    write_rows(tmp_path / "rows.json", [FAST, SLOW])
    assert read_rows(tmp_path / "rows.json") == [FAST, SLOW]


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.95) == 95.0
    assert percentile(samples, 0.5) == 50.0


def test_the_report_keeps_what_is_written_around_the_markers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "PERFORMANCE.md"
    report.write_text(
        "# Performance\n\nWhy the event list misses.\n\n"
        f"{run_all.BEGIN}\nold\n{run_all.END}\n\nTail.\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(run_all, "REPORT", report)
    run_all.write_report([FAST, SLOW], ["bench_x.py (exit code 1)"], quick=False)
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nWhy the event list misses.\n\n")
    assert text.endswith(f"{run_all.END}\n\nTail.\n")
    assert "old" not in text and "event list p95" in text and "bench_x.py" in text
