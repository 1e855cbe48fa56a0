"""The multi-pattern matcher over logs: line numbers, scopes, bad input, both backends."""

from __future__ import annotations

import pytest

from gatewatch.analyse.triage.backends import hyperscan_available
from gatewatch.analyse.triage.matcher import ScanOptions, compile_fingerprints, iter_blocks
from gatewatch.domain.triage import BuildFacts, Fingerprint, Match
from gatewatch.errors import FingerprintError

BACKENDS = ["re2", *(["hyperscan"] if hyperscan_available() else [])]
BUILD = BuildFacts(build_uuid="b1", build_name="tempest-full", build_status="FAILURE", voting="1")

FPS = [
    Fingerprint(bug_id="ping", query='message:"Couldn\'t ping server" AND tags:"console"'),
    Fingerprint(bug_id="same-line", query='message:"backup" AND message:"failed to reach" AND tags:console'),
    Fingerprint(bug_id="cpu", query='message:"InstanceNotFound" AND tags:"screen-n-cpu.txt"'),
    Fingerprint(
        bug_id="not", query='message:"RESULT_TIMED_OUT" AND NOT message:"POST-RUN END" AND tags:console'
    ),
    Fingerprint(bug_id="job", query='message:"boom" AND build_name:"nova-tox"'),
]


def _lines(found: list[Match]) -> list[tuple[str, int]]:
    return [(m.bug_id, m.line_number) for m in found]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("file_name", "data", "expected"),
    [
        ("job-output.txt", b"ok\n[Fail] Couldn't ping server 10.0.0.1\n", [("ping", 2)]),
        ("job-output.txt", b"[FAIL] COULDN'T PING SERVER\n", [("ping", 1)]),
        ("job-output.txt", b"Couldnt ping server\n", []),
        ("screen-n-cpu.txt", b"Couldn't ping server\n", []),
        ("job-output.txt", b"backup\nfailed to reach x\n", []),
        ("job-output.txt", b"backup 1 failed to reach x\n", [("same-line", 1)]),
        ("logs/screen-n-cpu.txt.gz", b"ERROR InstanceNotFound: x\n", [("cpu", 1)]),
        # like Lucene's tokenizer: a dotted name is one token, so the class name alone does not match
        ("logs/screen-n-cpu.txt.gz", b"nova.exception.InstanceNotFound: x\n", []),
        ("job-output.txt", b"RUN END RESULT_TIMED_OUT\nPOST-RUN END RESULT_TIMED_OUT\n", [("not", 1)]),
        ("job-output.txt", b"boom\n", []),
    ],
)
def test_scan_log_reports_matching_lines(
    backend: str, file_name: str, data: bytes, expected: list[tuple[str, int]]
) -> None:
    matcher = compile_fingerprints(FPS, backend=backend)  # type: ignore[arg-type]
    assert _lines(matcher.scan_log(data, file_name=file_name, build=BUILD)) == expected


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "data",
    [
        b"\x1b[31m[Fail] Couldn't\x1b[0m ping server\r\n",
        b"\xff\xfe[Fail] Couldn't\x00ping server\xc3\n",
        b"x" * 3000 + b" Couldn't ping server\n",
    ],
)
def test_bad_bytes_do_not_hide_a_match(backend: str, data: bytes) -> None:
    matcher = compile_fingerprints(FPS, backend=backend)  # type: ignore[arg-type]
    found = matcher.scan_log(data, file_name="job-output.txt", build=BUILD)
    assert _lines(found) == [("ping", 1)]
    assert "\x1b" not in found[0].text
    assert "\r" not in found[0].text


def test_giant_line_is_scanned_in_bounded_pieces_and_evidence_is_cut() -> None:
    data = b"a" * 5000 + b" Couldn't ping server " + b"b" * 5000 + b"\nnext Couldn't ping server\n"
    matcher = compile_fingerprints(FPS)
    options = ScanOptions(block_bytes=1024, max_evidence_chars=80)
    found = matcher.scan_log(
        iter([data[:700], data[700:]]), file_name="job-output.txt", build=BUILD, options=options
    )
    assert _lines(found) == [("ping", 1), ("ping", 2)]
    assert all(len(m.text) <= 80 for m in found)


def test_chunking_does_not_change_line_numbers() -> None:
    data = b"".join(b"line %d\n" % i for i in range(500)) + b"Couldn't ping server\n" + b"tail\n" * 10
    matcher = compile_fingerprints(FPS)
    whole = matcher.scan_log(data, file_name="job-output.txt", build=BUILD)
    pieces = [data[i : i + 37] for i in range(0, len(data), 37)]
    options = ScanOptions(block_bytes=256)
    chunked = matcher.scan_log(pieces, file_name="job-output.txt", build=BUILD, options=options)
    assert _lines(whole) == _lines(chunked) == [("ping", 501)]


def test_scan_lines_numbers_lines_given_one_by_one() -> None:
    matcher = compile_fingerprints(FPS)
    found = matcher.scan_lines(
        ["ok", b"x", "[Fail] Couldn't ping server"], file_name="job-output.txt", build=BUILD
    )
    assert _lines(found) == [("ping", 3)]


def test_fingerprint_without_phrases_matches_every_line_of_its_files() -> None:
    matcher = compile_fingerprints([Fingerprint(bug_id="f", query='tags:console AND NOT message:"fine"')])
    found = matcher.scan_log(b"fine\nbad\nfine\nworse", file_name="job-output.txt", build=BUILD)
    assert _lines(found) == [("f", 2), ("f", 4)]
    assert matcher.scan_log(b"", file_name="job-output.txt", build=BUILD) == []


def test_matches_per_fingerprint_are_capped() -> None:
    matcher = compile_fingerprints(FPS)
    data = b"Couldn't ping server\n" * 50
    found = matcher.scan_log(
        data, file_name="job-output.txt", build=BUILD, options=ScanOptions(max_matches_per_fingerprint=3)
    )
    assert _lines(found) == [("ping", 1), ("ping", 2), ("ping", 3)]


def test_build_level_fingerprints_match_the_build() -> None:
    matcher = compile_fingerprints([Fingerprint(bug_id="nf", query='build_status:"NODE_FAILURE"'), *FPS])
    assert [
        m.bug_id for m in matcher.scan_build(BuildFacts(build_uuid="u", build_status="NODE_FAILURE"))
    ] == ["nf"]
    assert matcher.scan_build(BUILD) == []


def test_bad_query_names_the_fingerprint() -> None:
    with pytest.raises(FingerprintError, match="bug 42") as info:
        compile_fingerprints([Fingerprint(bug_id="42", query='message:"open', source="q/42.yaml")])
    assert info.value.path == "q/42.yaml"


def test_patterns_are_shared_between_fingerprints() -> None:
    same = [Fingerprint(bug_id=str(i), query='message:"No space left on device"') for i in range(3)]
    matcher = compile_fingerprints(same)
    assert len(matcher.patterns) == 1
    found = matcher.scan_log(b"No space left on device\n", file_name="syslog.txt", build=BUILD)
    assert sorted(m.bug_id for m in found) == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("chunks", "block", "expected"),
    [
        ([b"a\nb\nc"], 100, [b"a\nb\nc"]),
        ([b"aa\nbb\ncc\n"], 4, [b"aa\n", b"bb\n", b"cc\n"]),
        ([b"aaaaaaaaa"], 4, [b"aaaaaaaa", b"a"]),
        ([b"aaaaa", b"a\nb"], 4, [b"aaaaaa\n", b"b"]),
        ([b"a\n", b"b\n", b"c\nd"], 4, [b"a\n", b"b\n", b"c\nd"]),
        ([b"abc\n"], 4, [b"abc\n"]),
        ([b"ab\n", b"cd\n", b"e"], 8, [b"ab\ncd\n", b"e"]),
        ([b"abcd\n", b"e"], 8, [b"abcd\n", b"e"]),
        ([b"a\n", b"b"], 8, [b"a\nb"]),
        ([], 4, []),
    ],
)
def test_iter_blocks_cuts_at_newlines(chunks: list[bytes], block: int, expected: list[bytes]) -> None:
    assert list(iter_blocks(chunks, block)) == expected


@pytest.mark.skipif(not hyperscan_available(), reason="needs Hyperscan")
def test_backends_agree_on_the_real_fingerprints() -> None:
    from pathlib import Path

    from gatewatch.ingest.sources.fingerprints import load_fingerprints

    fps = load_fingerprints(Path(__file__).resolve().parents[3] / "data" / "elastic-recheck-queries")
    hs = compile_fingerprints(fps, backend="hyperscan")
    re2 = compile_fingerprints(fps, backend="re2")
    lines = []
    for query in hs.queries:  # every fingerprint's phrases on one line, then each phrase alone
        lines.append(" : ".join(" ".join(a.tokens) or a.glob for a in query.atoms))
        lines.extend(" ".join(a.tokens).upper() for a in query.atoms)
    data = ("\n".join(lines) + "\n").encode()
    for name in ("job-output.txt", "screen-n-cpu.txt", "syslog.txt"):
        found_hs = hs.scan_log(data, file_name=name, build=BUILD)
        assert found_hs == re2.scan_log(data, file_name=name, build=BUILD)
        assert found_hs  # the planted phrases are found
    console = {m.bug_id for m in hs.scan_log(data, file_name="job-output.txt", build=BUILD)}
    assert len(console) >= 60


def test_every_real_fingerprint_matches_a_line_made_of_its_phrases() -> None:
    from pathlib import Path

    from gatewatch.ingest.sources.fingerprints import load_fingerprints

    fps = load_fingerprints(Path(__file__).resolve().parents[3] / "data" / "elastic-recheck-queries")
    matcher = compile_fingerprints(fps)
    lines = [" : ".join(" ".join(a.tokens) for a in q.atoms) for q in matcher.queries]
    data = ("\n".join(lines) + "\n").encode()
    facts = BuildFacts(
        build_uuid="b",
        build_name="neutron-fullstack",
        build_branch="master",
        build_node="ubuntu-bionic",
        project="openstack/python-openstackclient",
    )
    files = {tag for fp in fps for tag in _quoted_tags(fp.query)} | {"job-output.txt"}
    found = {m.bug_id for name in files for m in matcher.scan_log(data, file_name=name, build=facts)}
    # 1410969 needs build_queue:"gate"; 1686542 excludes a phrase that the line holds (NOT)
    assert sorted(fp.bug_id for fp in fps if fp.bug_id not in found) == ["1410969", "1686542"]
    gate = BuildFacts(build_uuid="b", build_queue="gate")
    assert "1410969" in {m.bug_id for m in matcher.scan_log(data, file_name="job-output.txt", build=gate)}


def _quoted_tags(query: str) -> list[str]:
    parts = query.split('tags:"')[1:]
    return [p.split('"', 1)[0] for p in parts]
