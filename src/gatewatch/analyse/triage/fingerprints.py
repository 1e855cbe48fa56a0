"""Parse one fingerprint file (``<bug-id>.yaml``), checking keys, types and the query.

elastic-recheck's files load unchanged (``query``, ``suppress-graph``,
``suppress-notification``, ``allow-nonvoting``, ``test_ids``, and
``resolved_at`` in old files). Ours add ``title``, ``bug_url``, ``owner`` and
``infra``. Every error names the file and the line (from the YAML node marks);
a query error also gives the column inside the query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from gatewatch.domain.triage import Fingerprint
from gatewatch.errors import FingerprintError, QueryError
from gatewatch.query.compile import compile_query

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"


def _is_str(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _STR


def _is_bool(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _BOOL


def _is_str_list(node: yaml.Node) -> bool:
    return isinstance(node, yaml.SequenceNode) and all(_is_str(n) for n in node.value)


def _is_scalar(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode)


# key -> (Fingerprint attribute or "" to ignore, type check, type name)
_KEYS: dict[str, tuple[str, Callable[[yaml.Node], bool], str]] = {
    "query": ("query", _is_str, "a string"),
    "suppress-graph": ("suppress_graph", _is_bool, "true or false"),
    "suppress-notification": ("suppress_notification", _is_bool, "true or false"),
    "allow-nonvoting": ("allow_nonvoting", _is_bool, "true or false"),
    "test_ids": ("test_ids", _is_str_list, "a list of test ids"),
    "resolved_at": ("", _is_scalar, "a date"),
    "title": ("title", _is_str, "a string"),
    "bug_url": ("bug_url", _is_str, "a string"),
    "owner": ("owner", _is_str, "a string"),
    "infra": ("infra", _is_bool, "true or false"),
}


def bug_id_from_path(path: str) -> str:
    """``queries/1284371.yaml`` -> ``1284371``."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def parse_fingerprint(text: str, *, path: str, builtin: bool = False) -> Fingerprint:
    """The fingerprint in ``text`` (the content of ``path``); ``FingerprintError`` when invalid."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise FingerprintError(f"not valid YAML: {exc.problem or exc}", path=path, line=line) from None
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        raise FingerprintError("expected a mapping with a 'query' key", path=path, line=line)
    fields: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key = key_node.value if _is_str(key_node) else repr(key_node.value)
        line = key_node.start_mark.line + 1
        if key not in _KEYS:
            raise FingerprintError(
                f"unknown key {key!r}", path=path, line=line, hint=f"known keys: {', '.join(sorted(_KEYS))}"
            )
        attribute, check, type_name = _KEYS[key]
        if not check(value_node):
            raise FingerprintError(f"{key!r} must be {type_name}", path=path, line=line)
        if attribute:
            fields[attribute] = _value(value_node)
    if "query" not in fields:
        raise FingerprintError("missing 'query'", path=path, line=root.start_mark.line + 1)
    query_node = next(v for k, v in root.value if k.value == "query")
    _check_query(fields["query"], path=path, line=query_node.start_mark.line + 1)
    return Fingerprint(bug_id=bug_id_from_path(path), source=path, builtin=builtin, **fields)


def _value(node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return tuple(str(n.value) for n in node.value)
    if _is_bool(node):
        return str(node.value).lower() in ("true", "yes", "on", "y")
    return str(node.value)


def _check_query(query: str, *, path: str, line: int) -> None:
    try:
        compile_query(query)
    except QueryError as exc:
        where = f" (column {exc.position + 1} of the query)" if exc.position is not None else ""
        raise FingerprintError(
            f"invalid query: {exc.message}{where}", path=path, line=line, hint=exc.hint
        ) from None
