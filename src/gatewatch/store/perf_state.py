"""The detector state of one series as JSON (``perf_series.state``), and back.

Everything ``update_analysis`` needs: raw and cleaned values, noise SD, change points,
outliers, seed and detector options; plus the commits of the points (so a service can tell
whether new samples only extend the series). Non-finite floats become ``null`` (PostgreSQL's
JSON rejects NaN) and come back as NaN.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from gatewatch.analyse.perf import Analysis, DetectorOptions
from gatewatch.domain.perf import ChangeKind, ChangePoint, Direction, Outlier
from gatewatch.store.convert import clean_text

STATE_VERSION = 1
_INT_FIELDS = frozenset({"index", "first_index", "last_index", "count_before", "count_after"})


def json_float(value: float) -> float | None:
    """``value``, or None when it is NaN or infinite."""
    return value if math.isfinite(value) else None


def load_float(value: Any) -> float:
    """The inverse of ``json_float`` (None reads as NaN)."""
    return math.nan if value is None else float(value)


def dump_state(analysis: Analysis, commits: Sequence[str]) -> dict[str, Any]:
    """The JSON-ready state of ``analysis`` over the points at ``commits``."""
    options = dataclasses.asdict(analysis.options)
    options["direction"] = Direction(analysis.options.direction).value
    return {
        "version": STATE_VERSION,
        "values": list(analysis.values),
        "cleaned": list(analysis.cleaned),
        "commits": [clean_text(c) for c in commits],
        "noise_sd": json_float(analysis.noise_sd),
        "seed": analysis.seed,
        "analysed_from": analysis.analysed_from,
        "options": options,
        "change_points": [_dump_point(p) for p in analysis.change_points],
        "outliers": [_floats_to_json(dataclasses.asdict(o)) for o in analysis.outliers],
    }


def load_state(state: dict[str, Any]) -> Analysis:
    """The ``Analysis`` that ``dump_state`` stored."""
    options = dict(state["options"])
    options["direction"] = Direction(options["direction"])
    return Analysis(
        values=tuple(float(v) for v in state["values"]),
        cleaned=tuple(float(v) for v in state["cleaned"]),
        change_points=tuple(_load_point(p) for p in state["change_points"]),
        outliers=tuple(
            Outlier(
                index=int(o["index"]),
                value=load_float(o["value"]),
                expected=load_float(o["expected"]),
                deviation_pct=load_float(o["deviation_pct"]),
            )
            for o in state["outliers"]
        ),
        noise_sd=load_float(state["noise_sd"]),
        options=DetectorOptions(**options),
        seed=int(state["seed"]),
        analysed_from=int(state["analysed_from"]),
    )


def _floats_to_json(data: dict[str, Any]) -> dict[str, Any]:
    return {k: json_float(v) if isinstance(v, float) else v for k, v in data.items()}


def _dump_point(point: ChangePoint) -> dict[str, Any]:
    data = dataclasses.asdict(point)
    data["kind"] = point.kind.value
    return _floats_to_json(data)


def _load_point(data: dict[str, Any]) -> ChangePoint:
    values: dict[str, Any] = {
        k: load_float(v) if k not in _INT_FIELDS and k != "kind" else v for k, v in data.items()
    }
    values["kind"] = ChangeKind(data["kind"])
    return ChangePoint(**values)
