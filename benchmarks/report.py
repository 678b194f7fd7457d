"""Figures of repeated runs beside their references, the bars of issue 5, a table and JSON."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.stats import median


@dataclass(frozen=True)
class Bar:
    """A goal for one row, judged on the medians: ours, and the reference when there is one."""

    text: str
    judge: Callable[[float, float | None], bool] = field(repr=False, compare=False)

    def met(self, ours: float, reference: float | None) -> bool:
        return self.judge(ours, reference)


def _relative(compare: Callable[[float, float], bool], limit: float) -> Callable[..., bool]:
    def judge(ours: float, reference: float | None) -> bool:
        if reference is None or reference <= 0:
            return False
        return compare(ours / reference, limit)

    return judge


def below_reference() -> Bar:
    return Bar("< reference", _relative(operator.lt, 1.0))


def ratio_at_most(limit: float) -> Bar:
    return Bar(f"≤ {limit:g}x reference", _relative(operator.le, limit))


def ratio_at_least(limit: float) -> Bar:
    return Bar(f"≥ {limit:g}x reference", _relative(operator.ge, limit))


def at_most(limit: float, unit: str) -> Bar:
    return Bar(f"≤ {limit:g} {unit}", lambda ours, _: ours <= limit)


def above_reference_by_at_most(limit: float, unit: str) -> Bar:
    def judge(ours: float, reference: float | None) -> bool:
        return reference is not None and ours - reference <= limit

    return Bar(f"≤ reference + {limit:g} {unit}", judge)


@dataclass
class Row:
    """One metric: a value per run for xmpp-bridge and for its reference, measured in pairs."""

    group: str
    metric: str
    unit: str
    reference_name: str
    bar: Bar | None
    ours: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)

    @property
    def ours_median(self) -> float:
        return median(self.ours)

    @property
    def reference_median(self) -> float | None:
        return median(self.reference) if self.reference else None

    @property
    def ratio(self) -> float | None:
        """The median of the per-run ratios: each pair ran back to back, so drift cancels."""
        pairs = [o / r for o, r in zip(self.ours, self.reference, strict=False) if r > 0]
        return median(pairs) if pairs else None

    @property
    def met(self) -> bool | None:
        if self.bar is None:
            return None
        return self.bar.met(self.ours_median, self.reference_median)


class Results:
    """Rows in the order they were first measured; a later run of the same metric appends."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Row] = {}

    def add(
        self,
        group: str,
        metric: str,
        unit: str,
        ours: float,
        reference: float | None = None,
        *,
        reference_name: str = "",
        bar: Bar | None = None,
    ) -> None:
        row = self._rows.setdefault((group, metric), Row(group, metric, unit, reference_name, bar))
        row.ours.append(ours)
        if reference is not None:
            row.reference.append(reference)

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows.values())


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(met: bool | None) -> str:
    return {None: "", True: "met", False: "NOT MET"}[met]


_HEADER = ("group", "metric", "xmpp-bridge", "reference", "ref. value", "ratio", "bar", "")


def _cells(row: Row) -> tuple[str, ...]:
    ratio = row.ratio
    return (
        row.group,
        row.metric,
        f"{_number(row.ours_median)} {row.unit}",
        row.reference_name or "—",
        f"{_number(row.reference_median)} {row.unit}" if row.reference else "—",
        f"{ratio:.2f}x" if ratio is not None else "—",
        row.bar.text if row.bar else "",
        _verdict(row.met),
    )


def table(results: Results) -> str:
    """A plain-text table: every figure of ours beside its reference and the ratio."""
    lines = [_HEADER, *(_cells(row) for row in results)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADER))]
    rendered = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(rendered)


def markdown(results: Results) -> str:
    """The same table in Markdown, for docs/benchmarks.md."""
    lines = ["| " + " | ".join((*_HEADER[:-1], "met")) + " |", "|" + "---|" * len(_HEADER)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in results]
    return "\n".join(lines) + "\n"


def as_json(results: Results, context: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for row in results:
        data = asdict(row)
        data["bar"] = row.bar.text if row.bar else None
        data.update(
            ours_median=row.ours_median,
            reference_median=row.reference_median,
            ratio=row.ratio,
            met=row.met,
        )
        rows.append(data)
    return {**context, "figures": rows}


def write_json(path: Path, results: Results, context: dict[str, Any]) -> None:
    path.write_text(json.dumps(as_json(results, context), indent=2, ensure_ascii=False) + "\n")
