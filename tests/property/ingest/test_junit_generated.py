"""parse_junit on generated JUnit documents: names, outcomes, attempts and times survive."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gatewatch.domain.results import Outcome
from gatewatch.ingest.junit import parse_junit

# XML 1.0 allows these characters (no C0 controls but tab/newline, no surrogates, no U+FFFE/FFFF).
_xml_char = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"
) | st.sampled_from("\t<>&\"'")
_names = st.text(_xml_char, min_size=1, max_size=20).filter(lambda s: s.strip() == s and s != "")
_CHILD = {Outcome.FAIL: "failure", Outcome.ERROR: "error", Outcome.SKIP: "skipped"}
_case = st.tuples(
    st.sampled_from(["", "pkg.Class", "ünï.cödé"]),
    _names,
    st.sampled_from([Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.SKIP]),
    st.integers(0, 10**6).map(lambda ms: ms / 1000),
    _names,
)


def _document(cases: list[tuple[str, str, Outcome, float, str]], nested: bool) -> bytes:
    root = etree.Element("testsuites")
    suite = (
        etree.SubElement(etree.SubElement(root, "testsuite", name="outer"), "testsuite", name="inner")
        if nested
        else etree.SubElement(root, "testsuite", name="only")
    )
    for classname, name, outcome, time_s, message in cases:
        case = etree.SubElement(suite, "testcase", name=name, time=repr(time_s))
        if classname:
            case.set("classname", classname)
        if outcome in _CHILD:
            etree.SubElement(case, _CHILD[outcome], message=message).text = f"details of {message}"
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.lists(_case, max_size=12), st.booleans())
def test_generated_documents_parse_faithfully(
    cases: list[tuple[str, str, Outcome, float, str]], nested: bool
) -> None:
    run = parse_junit(_document(cases, nested), source="gen.xml")
    assert [(r.classname, r.name, r.outcome) for r in run.results] == [(c, n, o) for c, n, o, _, _ in cases]
    assert [r.duration_s for r in run.results] == [t for _, _, _, t, _ in cases]
    assert [r.message for r in run.results] == [m if o in _CHILD else "" for _, _, o, _, m in cases]
    ids = Counter()
    for result in run.results:  # repeated ids are retries numbered in document order
        ids[result.test_id] += 1
        assert result.attempt == ids[result.test_id]
    assert {r.suite for r in run.results} <= {"outer / inner" if nested else "only"}
