"""One shape for every benchmark's figures, so that ``make bench`` can print them in one table.

Each ``bench/bench_*.py`` script measures its figure and the baseline it is compared with in the
same run (the machines are shared and noisy: only a side-by-side comparison means something)
and, given ``--json PATH``, writes its rows there with ``write_rows``. ``bench/run_all.py``
runs every script, collects the rows and prints and writes the table (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Row:
    benchmark: str
    figure: str
    value: float
    unit: str
    #: What the figure is compared with, measured in the same run (None: only a target).
    baseline: str | None
    baseline_value: float | None
    #: value / baseline_value (None without a baseline).
    ratio: float | None
    #: The target in words, e.g. "ratio >= 0.5" or "< 10 ms".
    target: str
    #: Whether the target is met (None: no target, a figure for information).
    met: bool | None
    note: str = ""


def ratio(value: float, baseline: float) -> float | None:
    return value / baseline if baseline else None


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of the samples lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def write_rows(path: str | Path, rows: Iterable[Row]) -> None:
    Path(path).write_text(json.dumps([asdict(row) for row in rows], indent=1), encoding="utf-8")


def read_rows(path: str | Path) -> list[Row]:
    return [Row(**row) for row in json.loads(Path(path).read_text(encoding="utf-8"))]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--json PATH`` (write the rows) and ``--quick`` (small sizes, a smoke run)."""
    parser.add_argument("--json", metavar="PATH", help="write the result rows to PATH as JSON")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if value != value:  # NaN
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if magnitude < 1 else f"{value:.2f}"


def table(rows: Sequence[Row]) -> str:
    """A Markdown table: figure, value, baseline, ratio, target, met or missed."""
    lines = [
        "| benchmark | figure | value | baseline (same run) | ratio | target | |",
        "| --- | --- | ---: | --- | ---: | --- | --- |",
    ]
    for row in rows:
        baseline = (
            f"{row.baseline}: {_number(row.baseline_value)} {row.unit}"
            if row.baseline is not None
            else "–"
        )
        verdict = {True: "met", False: "**missed**", None: ""}[row.met]
        lines.append(
            f"| {row.benchmark} | {row.figure} | {_number(row.value)} {row.unit} | {baseline} "
            f"| {_number(row.ratio)} | {row.target} | {verdict} |"
        )
    return "\n".join(lines)
