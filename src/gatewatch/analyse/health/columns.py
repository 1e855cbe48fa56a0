"""Observations as columns: the vectorised form every health computation works on.

Building the columns is the one linear Python pass over the records (about 1 µs per
field); everything after is numpy. A store that reads raw rows can skip the records and
build :class:`ObservationColumns` directly from its arrays.

"Same code" (docs/health.md): two runs tested the same code when they share
change and patchset, or else (no change, e.g. periodic and post builds) the same commit.
Runs that name neither get a code of their own, so they never count as a repeat.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from gatewatch.domain.health import BuildVerdict, TestObservation
from gatewatch.domain.results import Outcome
from gatewatch.errors import HealthError

K = TypeVar("K", bound=Hashable)

PASS, FAIL, SKIP = 0, 1, 2
OUTCOME_CODE: Mapping[Outcome, int] = {
    Outcome.PASS: PASS,
    Outcome.XFAIL: PASS,
    Outcome.FAIL: FAIL,
    Outcome.ERROR: FAIL,
    Outcome.XPASS: FAIL,
    Outcome.SKIP: SKIP,
}


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ObservationColumns:
    """Test observations as parallel numpy arrays (row i = observation i, in ingest order).

    Integer columns index the vocabularies (``test_ids``, ``run_keys``, ``codes``,
    ``build_uuids``, ``slices``: (job_name, branch, pipeline)). ``time_s`` is the epoch
    second (NaN without a timestamp); ``outcome`` holds PASS/FAIL/SKIP; ``infra`` and
    ``known`` flag the build's verdict.
    """

    test_ids: tuple[str, ...]
    run_keys: tuple[str, ...]
    codes: tuple[str, ...]
    build_uuids: tuple[str, ...]
    slices: tuple[tuple[str, str, str], ...]
    test: npt.NDArray[np.int64]
    run: npt.NDArray[np.int64]
    code: npt.NDArray[np.int64]
    build: npt.NDArray[np.int64]
    slice: npt.NDArray[np.int64]
    time_s: npt.NDArray[np.float64]
    outcome: npt.NDArray[np.int8]
    infra: npt.NDArray[np.bool_]
    known: npt.NDArray[np.bool_]
    duration_s: npt.NDArray[np.float64]

    @property
    def size(self) -> int:
        return int(self.test.size)


def compute_code_key(obs: TestObservation) -> str:
    """The code a run tested: ``c:CHANGE,PS``, else ``sha:COMMIT``, else ``run:KEY``."""
    return _code_name(obs.change, obs.patchset, obs.commit_sha, obs.run_key)


def _factorise(values: Iterable[K], count: int) -> tuple[tuple[K, ...], npt.NDArray[np.int64]]:
    index: dict[K, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=count)
    return tuple(index), codes


def _epoch_s(ts: datetime | None) -> float:
    if ts is None:
        return float("nan")
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def _mapped(
    observations: Sequence[TestObservation], field: str, convert: Callable[[Any], Any], dtype: type
) -> npt.NDArray[Any]:
    """``convert`` applied to each distinct value of ``field`` once, then spread to all rows."""
    vocab, idx = _factorise(map(attrgetter(field), observations), len(observations))
    return np.array([convert(v) for v in vocab], dtype=dtype)[idx] if vocab else np.zeros(0, dtype=dtype)


def _codes(observations: Sequence[TestObservation]) -> tuple[tuple[str, ...], npt.NDArray[np.int64]]:
    """Code keys (see :func:`compute_code_key`), formatted once per distinct run identity."""
    n = len(observations)
    fields = attrgetter("change", "patchset", "commit_sha", "run_key")
    raw_vocab, raw = _factorise(map(fields, observations), n)
    names = [_code_name(*v) for v in raw_vocab]
    codes, remap = _factorise(names, len(names))
    return codes, remap[raw] if n else raw


def _code_name(change: int | None, patchset: int | None, commit_sha: str, run_key: str) -> str:
    if change is not None and patchset is not None:
        return f"c:{change},{patchset}"
    return f"sha:{commit_sha}" if commit_sha else f"run:{run_key}"


def compute_columns(observations: Sequence[TestObservation]) -> ObservationColumns:
    """Columns from records, in the given (ingest) order (one C-level pass per field)."""
    n = len(observations)
    test_ids, test = _factorise(map(attrgetter("test_id"), observations), n)
    run_keys, run = _factorise(map(attrgetter("run_key"), observations), n)
    codes, code = _codes(observations)
    builds, build = _factorise(map(attrgetter("build_uuid"), observations), n)
    slices, slice_ = _factorise(map(attrgetter("job_name", "branch", "pipeline"), observations), n)
    return ObservationColumns(
        test_ids=test_ids,
        run_keys=run_keys,
        codes=codes,
        build_uuids=builds,
        slices=slices,
        test=test,
        run=run,
        code=code,
        build=build,
        slice=slice_,
        time_s=_mapped(observations, "started_at", _epoch_s, np.float64),
        outcome=_mapped(observations, "outcome", OUTCOME_CODE.__getitem__, np.int8),
        infra=_mapped(observations, "build_verdict", lambda v: v == BuildVerdict.INFRA, np.bool_),
        known=_mapped(observations, "build_verdict", lambda v: v == BuildVerdict.KNOWN, np.bool_),
        duration_s=np.array(list(map(attrgetter("duration_s"), observations)), dtype=np.float64).reshape(n),
    )


def compute_resolved_renames(renames: Mapping[str, str]) -> dict[str, str]:
    """Follow rename chains (a->b, b->c gives a->c); a cycle is an error."""
    resolved: dict[str, str] = {}
    for old in renames:
        seen = [old]
        new = renames[old]
        while new in renames:
            if new == old and len(seen) == 1:  # a -> a: not a rename
                break
            if new in seen:
                raise HealthError(
                    f"test renames form a cycle: {' -> '.join([*seen, new])}",
                    hint="remove one mapping of the cycle",
                )
            seen.append(new)
            new = renames[new]
        if new != old:
            resolved[old] = new
    return resolved


def apply_renames(
    observations: Sequence[TestObservation], renames: Mapping[str, str]
) -> list[TestObservation]:
    """The observations with renamed tests under their newest id, so histories merge."""
    resolved = compute_resolved_renames(renames)
    if not resolved:
        return list(observations)
    return [replace(o, test_id=resolved[o.test_id]) if o.test_id in resolved else o for o in observations]


def select_observations(
    observations: Iterable[TestObservation],
    *,
    branch: str | None = None,
    pipeline: str | None = None,
    job_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[TestObservation]:
    """Observations of one branch/pipeline/job and time window [since, until).

    With a window, observations without a timestamp are left out (they cannot be placed).
    """
    lo = None if since is None else _epoch_s(since)
    hi = None if until is None else _epoch_s(until)
    out = []
    for o in observations:
        if branch is not None and o.branch != branch:
            continue
        if pipeline is not None and o.pipeline != pipeline:
            continue
        if job_name is not None and o.job_name != job_name:
            continue
        if lo is not None or hi is not None:
            t = _epoch_s(o.started_at)
            if math.isnan(t) or (lo is not None and t < lo) or (hi is not None and t >= hi):
                continue
        out.append(o)
    return out
