"""Parse JUnit XML result files (pure), as the many producers write them.

The XML parser is lxml with entity resolution, network access, DTD loading and
huge trees switched off; a document that declares a DTD (``<!DOCTYPE``) is
refused outright, so external entities are never fetched and entity bombs
("billion laughs") are never expanded. The document is read as a stream of
events (``iterparse``) and each testcase's subtree is dropped once it is read, so
memory holds the results, not the XML tree (a file of a million testcases peaks
at 0.54 GB instead of the 1.39 GB of a whole tree).

Identity: ``test_id`` is ``classname.name`` (``class=`` is read when
``classname=`` is missing), or ``name`` alone when a producer writes no class
(Bazel, Jest's unnamed describe blocks, xUnit.net, container-structure-test).

Producer quirks handled (samples in tests/data/result-samples, see NOTICE.md):

- Nested ``<testsuite>`` elements: ``suite`` is the path of suite names joined
  with :data:`SUITE_SEPARATOR`.
- Reruns. Maven Surefire ``<flakyFailure>``/``<flakyError>`` sit on a test
  whose final run passed: each is an earlier failed attempt, in document
  order, and the pass is the last attempt (2 flakyFailures -> attempts 1 fail,
  2 fail, 3 pass). ``<rerunFailure>``/``<rerunError>`` sit on a test that
  failed every run: its main ``<failure>``/``<error>`` is attempt 1 and each
  rerun element follows in document order. A rerun element without any content
  (pytest-rerunfailures) still counts as a failed attempt, never as a pass.
- A testcase repeated with the same classname and name (TestNG's retry
  analyser, crafted retry files) -> attempts 1, 2, ... in document order.
- ``status="disabled"``/``"skipped"``/``"notrun"`` -> SKIP; ``status="failed"``
  or ``"errored"`` without a child element -> FAIL/ERROR.
- pytest ``<skipped type="pytest.xfail">`` and xmlrunner ``type="XFAIL"`` -> XFAIL.
- Times: floats, scientific notation. container-structure-test writes
  nanoseconds: if any ``time`` in the file is a whole number >= 1e6 (11.6 days
  as seconds: implausible for one test), every whole-number time in the file
  is read as nanoseconds and a warning says so.
- Header counts (``tests=``, ``failures=``, ``errors=``) that disagree with
  the testcases found: the content wins and ``Run.warnings`` says so.
- Swift ``--xunit-output`` writes skipped tests with no ``<skipped/>`` element
  and no attribute or count that differs from a pass: nothing in the file can
  tell them apart, so they are recorded as PASS (see docs/ingest-layout.md).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from lxml import etree

from gatewatch.domain.results import Outcome, ResultFormat, Run, TestResult
from gatewatch.errors import IngestError
from gatewatch.ingest.timestamps import parse_timestamp

SUITE_SEPARATOR = " / "
MAX_OUTPUT_CHARS = 64 << 10
"""Characters of system-out/system-err kept (as properties) for failing tests."""
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")
_PROLOG_ITEM = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)\s*", re.S)
_NANOSECOND_THRESHOLD = 1e6
_MAX_WARNINGS = 20
_SKIP_STATUSES = {"disabled", "skipped", "skip", "notrun", "ignored"}
_MAIN_TAGS = {"failure": Outcome.FAIL, "error": Outcome.ERROR, "skipped": Outcome.SKIP}
_FLAKY_TAGS = {"flakyFailure": Outcome.FAIL, "flakyError": Outcome.ERROR}
_RERUN_TAGS = {"rerunFailure": Outcome.FAIL, "rerunError": Outcome.ERROR}
_SUITE_TAGS = frozenset({"testsuite", "testsuites"})
_TIMED_TAGS = frozenset({"testcase", "testsuite", "testsuites"})


@dataclass(slots=True, kw_only=True)
class _Context:
    source: str
    results: list[TestResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    whole_times: list[int] = field(default_factory=list)
    """Indices of results whose time was a whole number (nanoseconds, if the file uses them)."""

    def warn(self, text: str) -> None:
        if len(self.warnings) < _MAX_WARNINGS:
            self.warnings.append(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Attempt:
    outcome: Outcome
    message: str = ""
    traceback: str = ""


def _refuse_dtd(source: str) -> IngestError:
    return IngestError(
        "XML document type declarations (DTDs) are refused: entities are never resolved",
        path=source,
        line=1,
        hint="JUnit files never need a DOCTYPE; this file may be hostile",
    )


def _prolog_text(data: bytes) -> str:
    """The document as text good enough to walk its prolog (UTF-16 decoded, else byte-for-byte)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    if data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        return data.decode("utf-16-le" if data[0] == 0x3C else "utf-16-be", "replace")
    return data.decode("latin-1")  # ASCII-compatible encodings keep markup bytes as they are


def _declares_doctype(data: bytes) -> bool:
    """Whether the prolog (before the root element) holds a DOCTYPE; checked before parsing."""
    if b"<!DOCTYPE" not in data and b"<\x00!\x00" not in data and b"\x00<\x00!" not in data:
        return False
    text = _prolog_text(data).lstrip("\ufeff")
    pos = 0
    while True:
        item = _PROLOG_ITEM.match(text, pos)
        if item is None:
            break
        pos = item.end()
    return text.startswith("<!DOCTYPE", pos)


def _syntax_hint(reason: str, cut: bool) -> str:
    if cut:
        return "a killed test runner leaves a cut-off file; re-run or discard it"
    if "huge" in reason.lower():
        return "one text node exceeds libxml2's 10 MB safety limit (huge trees are refused); trim system-out"
    return ""


def _syntax_error(exc: etree.XMLSyntaxError, data: bytes, source: str) -> IngestError:
    line, column = exc.position if exc.position else (None, None)
    cut = "Premature end" in exc.msg or not data.rstrip().endswith(b">")
    reason = _POSITION_SUFFIX.sub("", exc.msg)
    return IngestError(
        f"{'truncated' if cut else 'malformed'} XML: {reason}",
        path=source,
        line=line,
        column=column,
        hint=_syntax_hint(reason, cut),
    )


def _line(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _nanosecond_time(element: etree._Element) -> bool:
    """Whether the element's ``time`` is a whole number too large to be seconds."""
    text = element.get("time", "").strip()
    return text.isdigit() and float(text) >= _NANOSECOND_THRESHOLD


def _duration(text: str | None, ctx: _Context, where: str) -> float | None:
    if text is None or not text.strip():
        return None
    raw = text.strip().replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        ctx.warn(f"{where}: unreadable time {text!r} ignored")
        return None
    if not math.isfinite(value) or value < 0:
        ctx.warn(f"{where}: implausible time {text!r} ignored")
        return None
    return value


def _element_text(element: etree._Element) -> str:
    return "".join(str(t) for t in element.itertext()).strip()


def _child_text(element: etree._Element, tag: str) -> str:
    for child in element:
        if _local(child.tag) == tag:
            return _element_text(child)
    return ""


def _attempt_from(element: etree._Element, outcome: Outcome) -> _Attempt:
    stack = _child_text(element, "stackTrace")
    text = stack or (element.text or "").strip()
    message = (element.get("message") or "").strip()
    if outcome is Outcome.SKIP and (element.get("type") or "").lower() in ("pytest.xfail", "xfail"):
        outcome = Outcome.XFAIL
    if not message and text:
        message = text.splitlines()[0].strip()
    return _Attempt(outcome=outcome, message=message, traceback=text)


def _status_outcome(case: etree._Element) -> Outcome:
    status = (case.get("status") or "").strip().lower()
    if status in _SKIP_STATUSES:
        return Outcome.SKIP
    if status in ("failed", "failure", "fail"):
        return Outcome.FAIL
    if status in ("errored", "error"):
        return Outcome.ERROR
    return Outcome.PASS


def _attempts(case: etree._Element) -> list[_Attempt]:
    """Every attempt a testcase element records, in run order (see module docstring)."""
    main: _Attempt | None = None
    flaky: list[_Attempt] = []
    reruns: list[_Attempt] = []
    for child in case:
        tag = _local(child.tag)
        if tag in _MAIN_TAGS and main is None:
            main = _attempt_from(child, _MAIN_TAGS[tag])
        elif tag in _FLAKY_TAGS:
            flaky.append(_attempt_from(child, _FLAKY_TAGS[tag]))
        elif tag in _RERUN_TAGS:
            reruns.append(_attempt_from(child, _RERUN_TAGS[tag]))
    if main is None:
        main = _Attempt(outcome=_status_outcome(case))
    if main.outcome in (Outcome.FAIL, Outcome.ERROR):
        return [*flaky, main, *reruns]
    return [*flaky, *reruns, main]


def _case_properties(case: etree._Element, failing: bool) -> tuple[tuple[str, str], ...]:
    props: list[tuple[str, str]] = []
    for attr in ("file", "line"):
        value = case.get(attr)
        if value:
            props.append((attr, value))
    for child in case:
        tag = _local(child.tag)
        if tag == "properties":
            props.extend(
                (p.get("name", ""), p.get("value", p.text or ""))
                for p in child
                if _local(p.tag) == "property"
            )
        elif failing and tag in ("system-out", "system-err"):
            text = _element_text(child)
            if text:
                props.append((tag, text[-MAX_OUTPUT_CHARS:]))
    return tuple(props)


def _parse_case(case: etree._Element, suite_path: tuple[str, ...], ctx: _Context) -> Outcome:
    name = case.get("name") or ""
    classname = case.get("classname") or case.get("class") or ""
    test_id = f"{classname}.{name}" if classname else name
    where = f"testcase {test_id!r} (line {case.sourceline})"
    if not test_id:
        ctx.warn(f"testcase without a name at line {case.sourceline}")
        test_id = f"<unnamed line {case.sourceline}>"
    time_text = case.get("time") or case.get("duration")
    duration = _duration(time_text, ctx, where)
    stamp = case.get("timestamp")
    started: datetime | None = parse_timestamp(stamp) if stamp else None
    attempts = _attempts(case)
    props = _case_properties(case, any(a.outcome.is_failure for a in attempts))
    if duration is not None and (time_text or "").strip().replace(",", "").isdigit():
        ctx.whole_times.append(len(ctx.results) + len(attempts) - 1)  # the final attempt's
    for index, attempt in enumerate(attempts):
        number = ctx.attempts.get(test_id, 0) + 1
        ctx.attempts[test_id] = number
        final = index == len(attempts) - 1
        ctx.results.append(
            TestResult(
                test_id=test_id,
                suite=SUITE_SEPARATOR.join(suite_path),
                classname=classname,
                name=name,
                outcome=attempt.outcome,
                attempt=number,
                duration_s=duration if final else None,
                started_at=started if final else None,
                message=attempt.message,
                traceback=attempt.traceback,
                properties=props,
            )
        )
    return attempts[-1].outcome


def _check_counts(suite: etree._Element, outcomes: list[Outcome], ctx: _Context) -> None:
    found = {
        "tests": len(outcomes),
        "failures": sum(1 for o in outcomes if o is Outcome.FAIL),
        "errors": sum(1 for o in outcomes if o is Outcome.ERROR),
    }
    for attr, count in found.items():
        declared = (suite.get(attr) or "").strip()
        if declared.isdigit() and int(declared) != count:
            label = suite.get("name") or f"<{_local(suite.tag)}>"
            ctx.warn(
                f"suite {label!r} (line {suite.sourceline}) declares {attr}={declared} "
                f"but holds {count}; the testcases found are used"
            )


def _properties_of(element: etree._Element) -> list[tuple[str, str]]:
    return [(p.get("name", ""), p.get("value", "")) for p in element if _local(p.tag) == "property"]


@dataclass(slots=True)
class _Suite:
    """An open suite whose testcases are read: its element, suite path and final outcomes so far."""

    element: etree._Element
    path: tuple[str, ...]
    outcomes: list[Outcome] = field(default_factory=list)


class _Walker:
    """Turns iterparse events into results, dropping each testcase's subtree once it is read.

    Only testcases that are direct children of the root suite or of suites nested in it (suite
    in suite) are read, as producers write them; each suite's header counts are checked against
    the outcomes of every testcase under it, nested suites included. Run properties and start
    times come from the root and, under ``<testsuites>``, its ``<testsuite>`` children.
    """

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.root: etree._Element | None = None
        self.root_tag = ""
        self.suites: list[_Suite] = []
        self.nanoseconds = False
        self.root_properties: list[tuple[str, str]] = []
        self.suite_properties: list[tuple[str, str]] = []
        self.stamps: list[datetime | None] = []

    def _top_level_suite(self, element: etree._Element) -> bool:
        """A ``<testsuite>`` child of a ``<testsuites>`` root (or the root itself)."""
        if element is self.root:
            return True
        return (
            self.root_tag == "testsuites"
            and element.getparent() is self.root
            and _local(element.tag) == "testsuite"
        )

    def start(self, element: etree._Element) -> None:
        if element.tag in _TIMED_TAGS and not self.nanoseconds:
            self.nanoseconds = _nanosecond_time(element)
        tag = _local(element.tag)
        if self.root is None:
            self.root, self.root_tag = element, tag
            if tag not in ("testsuites", "testsuite", "testcase"):
                raise IngestError(
                    f"not a JUnit XML file: root element is <{tag}>",
                    path=self.ctx.source,
                    line=_line(element),
                )
            if tag != "testcase":
                name = element.get("name") or ""
                self.suites.append(_Suite(element, (name,) if name and tag == "testsuite" else ()))
        elif tag in _SUITE_TAGS and self.suites and element.getparent() is self.suites[-1].element:
            name = element.get("name") or ""
            path = self.suites[-1].path
            self.suites.append(_Suite(element, (*path, name) if name else path))
        if (tag == "testsuite" or element is self.root) and self._top_level_suite(element):
            self.stamps.append(parse_timestamp(element.get("timestamp") or ""))

    def end(self, element: etree._Element) -> None:
        tag = _local(element.tag)
        top = self.suites[-1] if self.suites else None
        if tag == "testcase":
            if element is self.root:
                _parse_case(element, (), self.ctx)
            elif top is not None and element.getparent() is top.element:
                top.outcomes.append(_parse_case(element, top.path, self.ctx))
                _forget(element)
        elif top is not None and element is top.element:
            self.suites.pop()
            _check_counts(element, top.outcomes, self.ctx)
            if self.suites:
                self.suites[-1].outcomes.extend(top.outcomes)
                _forget(element)
        elif tag == "properties":
            parent = element.getparent()
            if parent is not None and self._top_level_suite(parent):
                target = self.root_properties if parent is self.root else self.suite_properties
                target.extend(_properties_of(element))


def _forget(element: etree._Element) -> None:
    """Free a read element and the siblings before it (already read): memory stays flat."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _events(data: bytes) -> etree.iterparse:
    """Start and end events of the document; entities, DTDs, the network and huge nodes refused."""
    return etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_junit(data: bytes, *, source: str) -> Run:
    """A :class:`Run` from JUnit XML bytes; raises IngestError with line/column.

    The document is read as a stream (lxml ``iterparse``): each testcase becomes results and its
    subtree is dropped, so a file of a million testcases never holds its whole tree.
    """
    if _declares_doctype(data):
        raise _refuse_dtd(source)
    ctx = _Context(source=source)
    walker = _Walker(ctx)
    events = _events(data)
    try:
        for event, element in events:
            if event == "start":
                walker.start(element)
            else:
                walker.end(element)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, data, source) from None
    root = walker.root
    if root is None:  # pragma: no cover - libxml2 reports an empty document as a syntax error
        raise IngestError("empty XML document", path=source, offset=0)
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise _refuse_dtd(source)  # defence in depth: the prolog check should have caught it
    results = ctx.results
    warnings = ctx.warnings
    if walker.nanoseconds:
        for index in ctx.whole_times:
            result = results[index]
            results[index] = replace(result, duration_s=(result.duration_s or 0.0) / 1e9)
        warnings = ["whole-number times >= 1e6 found: all whole-number times read as nanoseconds", *warnings]
    started = min((s for s in walker.stamps if s is not None), default=None)
    return Run(
        format=ResultFormat.JUNIT,
        source=source,
        content_hash=hashlib.sha256(data).hexdigest(),
        results=tuple(results),
        name=root.get("name") or "",
        started_at=started,
        properties=(*walker.root_properties, *walker.suite_properties),
        warnings=tuple(warnings[:_MAX_WARNINGS]),
    )
