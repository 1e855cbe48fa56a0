"""Quarantine export: flaky tests as JSON (with their evidence) and as exclude lists.

pytest: one ``--deselect=NODE_ID`` argument per line, a file pytest (>= 8.2) reads with
``pytest @quarantine.txt`` (argparse's ``fromfile_prefix_chars``: one argument per line,
kept verbatim). ``--deselect`` matches node ids by prefix, so ``test_x[`` style parametrized
ids deselect exactly what they name. An id with a line break cannot be one line: it is
left out (:func:`compute_unrepresentable_ids` names them so the caller can warn).

stestr: an ``--exclude-list`` file (stestr's ``exclusion_reader``): one regex per line,
everything after ``#`` is a comment, each regex is ``re.search``-ed against test ids.
Each test id is anchored (``^...$``), may carry stestr's ``[tags]`` suffix, and every
character that is not a letter, digit or ``_`` is escaped — ``#`` as ``\\x23`` because
stestr splits lines on ``#`` before compiling; non-ASCII as ``\\uXXXX`` so the file is
plain ASCII whatever the reader's locale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from gatewatch.domain.health import FlakyEvidence, HealthStatus, TestHealth
from gatewatch.errors import HealthError

STYLES = ("pytest", "stestr")


def _evidence_json(e: FlakyEvidence) -> dict[str, object]:
    return {
        "kind": e.kind,
        "code": e.code,
        "passed_runs": list(e.passed_runs),
        "failed_runs": list(e.failed_runs),
        "build_uuids": list(e.build_uuids),
    }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _test_json(h: TestHealth) -> dict[str, object]:
    return {
        "test_id": h.test_id,
        "status": str(h.status),
        "failure_probability": h.failure_probability,
        "failure_interval": list(h.failure_interval),
        "flakiness_score": h.flakiness_score,
        "flip_rate": h.flip_rate,
        "runs": h.runs,
        "failures": h.failures,
        "last_failure_at": _iso(h.last_failure_at),
        "evidence": [_evidence_json(e) for e in h.evidence],
    }


def select_quarantine(tests: Iterable[TestHealth], *, include_broken: bool = False) -> list[TestHealth]:
    """The tests to quarantine: FLAKY ones (and BROKEN ones if asked), sorted by id."""
    wanted = {HealthStatus.FLAKY} | ({HealthStatus.BROKEN} if include_broken else set())
    return sorted((t for t in tests if t.status in wanted), key=lambda t: t.test_id)


def render_quarantine_json(
    tests: Iterable[TestHealth], *, generated_at: datetime, include_broken: bool = False
) -> str:
    """The quarantine list as JSON: every test with its rates, interval and evidence."""
    doc = {
        "schema": "gatewatch.quarantine/1",
        "generated_at": generated_at.isoformat(),
        "tests": [_test_json(t) for t in select_quarantine(tests, include_broken=include_broken)],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _escape_char(c: str) -> str:
    if c.isascii() and (c.isalnum() or c == "_"):
        return c
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def render_stestr_regex(test_id: str) -> str:
    """An anchored regex matching exactly ``test_id`` (optionally with a ``[tags]`` suffix)."""
    return "^" + "".join(_escape_char(c) for c in test_id) + r"(?:\[[^\]]*\])?$"


def compute_unrepresentable_ids(test_ids: Iterable[str], *, style: str) -> tuple[str, ...]:
    """Ids that ``style`` cannot express (pytest: line breaks; empty ids for both)."""
    _check_style(style)
    if style == "stestr":
        return tuple(t for t in test_ids if not t)
    return tuple(t for t in test_ids if not t or any(c in t for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"))


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise HealthError(f"unknown exclude-list style {style!r}", hint=f"use one of {', '.join(STYLES)}")


def render_exclude_list(tests: Sequence[TestHealth | str], *, style: str = "pytest") -> str:
    """An exclude list for ``tests`` (records or plain ids) in ``style`` (pytest or stestr)."""
    _check_style(style)
    ids = sorted(dict.fromkeys(t if isinstance(t, str) else t.test_id for t in tests))
    bad = set(compute_unrepresentable_ids(ids, style=style))
    ids = [t for t in ids if t not in bad]
    if style == "pytest":
        return "".join(f"--deselect={t}\n" for t in ids)
    notes = {t.test_id: t for t in tests if not isinstance(t, str)}
    lines = ["# gatewatch quarantine: tests excluded as flaky (stestr --exclude-list)"]
    for t in ids:
        h = notes.get(t)
        note = (
            f"  # {h.status}, p_fail={h.failure_probability:.3f}"
            if h and h.failure_probability is not None
            else ""
        )
        lines.append(render_stestr_regex(t) + note)
    return "\n".join(lines) + "\n"
