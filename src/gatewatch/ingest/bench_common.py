"""Shared pieces of the benchmark parsers: the build context, typed JSON access, sample building.

JSON access goes through ``field``/``items``: a missing key or a wrong type raises
``IngestError`` naming the JSON path (``benchmarks[3].stats.mean``), so a malformed
file is reported with where it went wrong instead of a ``KeyError`` traceback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from gatewatch.domain.perf import BenchmarkSample, Direction, SeriesKey
from gatewatch.errors import IngestError

T = TypeVar("T")

HIGHER_IS_BETTER_UNITS = ("/s", "/sec", "ops", "per_second", "per second", "hz", "qps", "rps", "tps")


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchContext:
    """Defaults from the build a benchmark file came with.

    ``environment`` (the node label) wins over a host name found in the file, so
    the runs of one job on many CI nodes of one flavour form one series; commit and
    timestamp found in the file win over these defaults.
    """

    project: str
    commit_sha: str = ""
    timestamp: datetime | None = None
    environment: str = ""
    build_uuid: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where samples come from: the context plus what the file itself says."""

    context: BenchContext
    source: str
    commit_sha: str = ""
    timestamp: datetime | None = None
    environment: str = ""

    def sample(
        self,
        *,
        benchmark: str,
        metric: str,
        value: float,
        unit: str,
        direction: Direction | None = None,
        samples: Sequence[float] = (),
    ) -> BenchmarkSample:
        """One sample keyed by the context's project and the best environment known."""
        key = SeriesKey(
            project=self.context.project,
            benchmark=benchmark,
            metric=metric,
            environment=self.context.environment or self.environment,
        )
        return BenchmarkSample(
            key=key,
            value=float(value),
            unit=unit,
            direction=direction or direction_for_unit(unit),
            samples=tuple(float(s) for s in samples),
            commit_sha=self.commit_sha or self.context.commit_sha,
            timestamp=self.timestamp or self.context.timestamp,
            build_uuid=self.context.build_uuid,
        )


def direction_for_unit(unit: str) -> Direction:
    """Throughput-like units (ops/s, items per second, Hz) are better higher; the rest lower."""
    lowered = unit.lower()
    if any(marker in lowered for marker in HIGHER_IS_BETTER_UNITS) and not lowered.endswith("/op"):
        return Direction.HIGHER_IS_BETTER
    return Direction.LOWER_IS_BETTER


def fail(source: str, path: str, message: str) -> IngestError:
    """An IngestError naming the file and the JSON path of the problem."""
    where = f" at {path}" if path else ""
    return IngestError(
        f"{message}{where}", path=source, hint="is this file complete and of the format named?"
    )


def field(obj: Any, key: str, kind: type[T], *, source: str, path: str) -> T:
    """``obj[key]`` checked to be a ``kind`` (ints count as floats)."""
    if not isinstance(obj, dict):
        raise fail(source, path, f"expected an object, found {type(obj).__name__}")
    if key not in obj:
        raise fail(source, f"{path}.{key}".lstrip("."), "missing field")
    return check(obj[key], kind, source=source, path=f"{path}.{key}".lstrip("."))


def optional(obj: Any, key: str, kind: type[T], default: T, *, source: str, path: str) -> T:
    """``obj[key]`` if present and not null, else ``default``."""
    if not isinstance(obj, dict) or obj.get(key) is None:
        return default
    return check(obj[key], kind, source=source, path=f"{path}.{key}".lstrip("."))


def check(value: Any, kind: type[T], *, source: str, path: str) -> T:
    """``value`` if it is a ``kind`` (bool is not a number; int is accepted for float)."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # type: ignore[return-value]
    if kind is float and isinstance(value, str) and value.lower() in ("nan", "inf", "-inf", "infinity"):
        return float(value)  # type: ignore[return-value]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise fail(source, path, f"expected {kind.__name__}, found {type(value).__name__}")
    return value


def numbers(value: Any, *, source: str, path: str) -> list[float]:
    """A list of numbers (per-iteration samples)."""
    items = check(value, list, source=source, path=path)
    return [check(v, float, source=source, path=f"{path}[{i}]") for i, v in enumerate(items)]


def parse_time(value: Any, *, source: str, path: str) -> datetime | None:
    """ISO 8601 text or a Unix time (seconds, or milliseconds when large) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) / 1000.0 if value > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise fail(source, path, f"time out of range: {value!r}") from None
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise fail(source, path, f"not a date/time: {value!r}") from None
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    raise fail(source, path, f"not a date/time: {value!r}")


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else math.nan
