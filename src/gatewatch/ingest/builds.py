"""Parse one Zuul build record (the builds API JSON object) into a :class:`Build` (pure).

Zuul's web API (``zuul/web/__init__.py``, ``buildToDict``) has serialised a
build in two shapes, both accepted:

- flat (Zuul < 10): ``project``, ``branch``, ``change``, ``patchset``, ``ref``,
  ``newrev``, ``pipeline``, ``event_id`` and ``buildset: {uuid}`` beside the
  build's own ``uuid``, ``job_name``, ``result``, ``voting``, ``start_time``,
  ``end_time``, ``log_url``, ``node_name``;
- nested (Zuul >= 10): the change fields move into ``ref: {project, branch,
  change, patchset, ref, newrev, ...}`` and the build gains ``nodeset``;
  ``pipeline``/``event_id`` may sit on the build or its ``buildset``.

``uuid``, ``job_name`` and ``result`` are required (a build still running has
``result: null`` and is refused). Results outside :class:`BuildResult` (Zuul
also reports ``DISK_FULL``, ``LOST``, ``CONFIG_ERROR``, ``MERGER_FAILURE``...)
become ``ERROR`` with the original kept in the ``zuul_result`` property. Times
are ISO 8601 with or without a zone (Zuul writes UTC without one).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gatewatch.domain.builds import Build, BuildResult
from gatewatch.errors import IngestError
from gatewatch.ingest.timestamps import parse_timestamp

_REF_FIELDS = ("project", "branch", "change", "patchset", "ref", "newrev")
_EXTRA_PROPERTIES = ("error_detail", "ref_url", "final", "held", "tenant", "duration")


def _load(data: bytes, source: str) -> dict[str, Any]:
    try:
        record = json.loads(data)
    except UnicodeDecodeError as exc:
        raise IngestError(f"build record is not UTF-8: {exc.reason}", path=source, offset=exc.start) from None
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"build record is not valid JSON: {exc.msg}", path=source, line=exc.lineno, column=exc.colno
        ) from None
    if isinstance(record, list) and len(record) == 1:
        record = record[0]  # the builds API answers a list; a one-build answer is accepted
    if not isinstance(record, dict):
        raise IngestError("build record must be one JSON object", path=source, line=1)
    return record


def _required(record: dict[str, Any], name: str, source: str) -> str:
    value = record.get(name)
    if value is None or value == "":
        raise IngestError(
            f"build record lacks the required field {name!r}",
            path=source,
            hint="a build record is one object of Zuul's /api/tenant/<t>/builds answer",
        )
    return str(value)


def _optional_int(value: Any, name: str, source: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise IngestError(f"build record field {name!r} is not a number: {value!r}", path=source) from None


def _patchset(value: Any) -> int | None:
    """Gerrit patchsets are numbers; GitHub/GitLab ones are commit shas (kept as a property)."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def _odd_patchset(value: Any) -> tuple[tuple[str, str], ...]:
    text = str(value or "").strip()
    return (("patchset", text),) if text and not text.isdigit() else ()


def _time(record: dict[str, Any], name: str, source: str) -> datetime | None:
    value = record.get(name)
    if value is None or value == "":
        return None
    parsed = parse_timestamp(str(value))
    if parsed is None:
        raise IngestError(f"build record field {name!r} is not an ISO 8601 time: {value!r}", path=source)
    return parsed


def _ref_fields(record: dict[str, Any]) -> dict[str, Any]:
    nested = record.get("ref")
    if isinstance(nested, dict):
        return {name: nested.get(name) for name in _REF_FIELDS}
    return {name: record.get(name) for name in _REF_FIELDS}


def _result(raw: str) -> tuple[BuildResult, tuple[tuple[str, str], ...]]:
    try:
        return BuildResult(raw.upper()), ()
    except ValueError:
        return BuildResult.ERROR, (("zuul_result", raw),)


def _node_label(record: dict[str, Any]) -> str:
    nodeset = record.get("nodeset")
    if isinstance(nodeset, dict):
        nodeset = nodeset.get("name")
    return str(nodeset or record.get("node_name") or "")


def _properties(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    props = []
    for name in _EXTRA_PROPERTIES:
        value = record.get(name)
        if value is not None and value != "":
            props.append((name, json.dumps(value) if isinstance(value, bool) else str(value)))
    return tuple(props)


def parse_build_record(data: bytes, *, source: str) -> Build:
    """A :class:`Build` from one Zuul build record; IngestError names a missing field."""
    record = _load(data, source)
    uuid = _required(record, "uuid", source)
    job_name = _required(record, "job_name", source)
    result, result_props = _result(_required(record, "result", source))
    ref = _ref_fields(record)
    raw_buildset = record.get("buildset")
    buildset: dict[str, Any] = raw_buildset if isinstance(raw_buildset, dict) else {}
    return Build(
        uuid=uuid,
        project=str(ref["project"] or ""),
        job_name=job_name,
        result=result,
        voting=record.get("voting") is not False,
        pipeline=str(record.get("pipeline") or buildset.get("pipeline") or ""),
        branch=str(ref["branch"] or ""),
        change=_optional_int(ref["change"], "change", source),
        patchset=_patchset(ref["patchset"]),
        ref=str(ref["ref"] or ""),
        commit_sha=str(ref["newrev"] or ""),
        buildset_uuid=str(buildset.get("uuid") or ""),
        event_id=str(record.get("event_id") or buildset.get("event_id") or ""),
        node_label=_node_label(record),
        start_time=_time(record, "start_time", source),
        end_time=_time(record, "end_time", source),
        log_url=str(record.get("log_url") or ""),
        properties=result_props + _properties(record) + _odd_patchset(ref["patchset"]),
    )
