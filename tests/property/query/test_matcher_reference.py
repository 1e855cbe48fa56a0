"""The matcher (regex prefilter, triggers, exact confirmation) agrees with the reference evaluator."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewatch.analyse.triage.backends import hyperscan_available
from gatewatch.analyse.triage.matcher import ScanOptions, compile_fingerprints
from gatewatch.domain.triage import BuildFacts, Fingerprint
from support.query_reference import reference_lines

WORDS = [
    "error",
    "Failed",
    "OpenStackApiException",
    "java.lang.InterruptedException",
    "java.io",
    "io",
    "x_y",
    "1.5",
    "don't",
    "hw:pmem",
    "1,000",
    "é",
    "ÉTÉ",
    "a",
]
PUNCT = [
    " ",
    "  ",
    ".",
    ":",
    ", ",
    "-",
    "/",
    "'",
    "\t",
    "\x00",
    "\x1b[31m",
    "\x1b[0;1m ",
    "\x1b]0;t\x07",
    "\x1bM",
    "→",
    "\r",
]


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(PUNCT)), max_size=8))
    text = "".join(w + p for w, p in parts)
    raw = text.encode("utf-8")
    if draw(st.booleans()):
        raw += draw(st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82"]))
    return raw


def _phrase(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
    seps = [draw(st.sampled_from([" ", ".", ": ", "-"])) for _ in words]
    return "".join(w + s for w, s in zip(words, seps, strict=True)).rstrip(" .:-") or words[0]


@st.composite
def clauses(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["phrase", "term", "glob", "tags", "build"]))
    if kind == "phrase":
        text = _phrase(draw).replace('"', "")
        return f'message:"{text}"'
    if kind == "term":
        return "message:" + draw(st.sampled_from(["error", "failed", "io", "a", "x_y"]))
    if kind == "glob":
        return "message:" + draw(st.sampled_from(["err*", "*ail*", "fa?led", "java.*", "*.io", "x_*"]))
    if kind == "tags":
        return "tags:" + draw(st.sampled_from(['"console"', "console", '"screen-n-cpu.txt"', "screen*"]))
    return draw(
        st.sampled_from(["build_name:tempest-full", 'build_status:"FAILURE"', "voting:1", "project:x*"])
    )


queries = st.recursive(
    clauses(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" AND ", " OR ", " AND NOT "]), inner).map(
            lambda t: f"({''.join(t)})"
        ),
        inner.map(lambda q: f"NOT {q}"),
    ),
    max_leaves=5,
)

BUILD = BuildFacts(
    build_uuid="b1", build_name="tempest-full", build_status="FAILURE", voting="1", project="xy"
)


@settings(derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    query=queries,
    body=st.lists(lines(), max_size=12),
    file_name=st.sampled_from(["job-output.txt", "logs/screen-n-cpu.txt.gz", "syslog.txt"]),
    backend=st.sampled_from(["re2", *(["hyperscan"] if hyperscan_available() else [])]),
    block_bytes=st.sampled_from([16, 64, 1 << 20]),
)
def test_matcher_agrees_with_reference(
    query: str, body: list[bytes], file_name: str, backend: str, block_bytes: int
) -> None:
    data = b"\n".join(body)
    expected = reference_lines(query, data, file_name=file_name, build=BUILD)
    matcher = compile_fingerprints([Fingerprint(bug_id="q", query=query)], backend=backend)  # type: ignore[arg-type]
    options = ScanOptions(max_matches_per_fingerprint=10_000, block_bytes=block_bytes)
    if matcher.queries[0].level == "build":
        return  # build-level queries are decided without logs (tests/unit/analyse/triage)
    # Lines longer than a block are scanned in pieces: only compare when none is.
    if block_bytes < 1 << 20 and any(len(line) + 1 > block_bytes for line in body):
        return
    found = matcher.scan_log(data, file_name=file_name, build=BUILD, options=options)
    assert [m.line_number for m in found] == expected
