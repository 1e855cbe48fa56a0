"""JSON round trip of the gate's state, so a loop can persist it between steps.

A small codec driven by the dataclasses' type hints (str, int, float, bool, datetime,
StrEnum, nested frozen dataclasses, homogeneous tuples). Written here rather than taken
from a library (cattrs, pydantic) because the domain types are a closed, tiny set and the
pure core takes no new dependency for it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import datetime
from typing import Any

from gatewatch.domain.gate import GateState
from gatewatch.errors import GateError

FORMAT_VERSION = 1


def state_to_json(state: GateState) -> str:
    """The state as a JSON document (stable key order)."""
    return json.dumps({"version": FORMAT_VERSION, "state": _encode(state)}, sort_keys=True)


def state_from_json(text: str) -> GateState:
    """The state ``state_to_json`` wrote; raises GateError on a malformed document."""
    try:
        document = json.loads(text)
        if document.get("version") != FORMAT_VERSION:
            raise GateError(f"unsupported gate state version {document.get('version')!r}")
        state = _decode(GateState, document["state"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GateError(f"malformed gate state: {exc}", hint="restore it from a backup") from exc
    assert isinstance(state, GateState)
    return state


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(kind: Any, raw: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin is tuple:
        inner = typing.get_args(kind)[0]
        return tuple(_decode(inner, v) for v in raw)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return None if raw is None else _decode(options[0], raw)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        return kind(**{k: _decode(hints[k], v) for k, v in raw.items() if k in names})
    if kind is datetime:
        return datetime.fromisoformat(raw)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(raw)
    if kind is float:
        return float(raw)
    if kind in (str, int, bool) and not isinstance(raw, kind):
        raise TypeError(f"expected {kind.__name__}, got {raw!r}")
    return raw
