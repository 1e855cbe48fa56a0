"""Log helpers: line splitting with bounds, decoding, ANSI stripping, tags."""

from __future__ import annotations

import pytest

from gatewatch.domain.logs import LogLine
from gatewatch.ingest.logs import decode_line, iter_log_lines, log_tags, split_lines, strip_ansi


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"plain\n", "plain"),
        (b"windows\r\n", "windows"),
        (b"progress\r50%\r100%", "progress\r50%\r100%"),
        (b"bad \xff\xfe utf8", "bad \ufffd\ufffd utf8"),
        (b"nul\x00byte", "nul\ufffdbyte"),
        ("astral 𒍺 ok".encode(), "astral 𒍺 ok"),
        (b"", ""),
    ],
)
def test_decode_line(raw: bytes, text: str) -> None:
    assert decode_line(raw) == text


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("\x1b[31mERROR\x1b[0m boom", "ERROR boom"),
        ("\x1b[1;32mok\x1b[K", "ok"),
        ("\x1b]0;title\x07after", "after"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("no escapes [31m here", "no escapes [31m here"),
    ],
)
def test_strip_ansi(text: str, clean: str) -> None:
    assert strip_ansi(text) == clean


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([b"a\nb\n"], [b"a", b"b"]),
        ([b"a\nb"], [b"a", b"b"]),
        ([b"ab", b"c\nd", b"", b"e\n"], [b"abc", b"de"]),
        ([b"\n\n"], [b"", b""]),
        ([b"x\r\n"], [b"x\r"]),
        ([], []),
    ],
)
def test_split_lines_across_chunks(chunks: list[bytes], lines: list[bytes]) -> None:
    assert list(split_lines(chunks)) == lines


def test_long_lines_are_cut_without_holding_them() -> None:
    chunks = [b"short\n", b"x" * 10, b"y" * 10, b"z" * 10 + b"\nnext\n" + b"w" * 50]
    assert list(split_lines(chunks, max_line_bytes=8)) == [b"short", b"x" * 8, b"next", b"w" * 8]


def test_a_large_line_with_no_newline_stays_bounded() -> None:
    size = 64 << 20  # 64 MiB in 1 MiB chunks; memory stays at the 4 KiB limit
    chunk = b"A" * (1 << 20)
    lines = list(split_lines((chunk for _ in range(size // len(chunk))), max_line_bytes=4096))
    assert lines == [b"A" * 4096]


def test_iter_log_lines_numbers_from_one() -> None:
    assert list(iter_log_lines([b"one\r\ntwo\n"])) == [
        LogLine(number=1, text="one"),
        LogLine(number=2, text="two"),
    ]


# Tag values elastic-recheck queries use (grep of /work/shared/data/elastic-recheck-queries):
# console (65), screen-n-cpu.txt, job-output.txt, console.html, screen-c-vol.txt, screen-c-bak.txt,
# screen-c-api.txt, devstack-gate-setup-host.txt, syslog.txt, screen-q-agt.txt, screen-neutron-agent.txt,
# screen-n-sch.txt, screen-n-api.txt, grenade.sh.txt.
@pytest.mark.parametrize(
    ("name", "must_have"),
    [
        ("job-output.txt", {"job-output.txt", "console", "console.html"}),
        ("job-output.txt.gz", {"job-output.txt", "console", "console.html"}),
        ("logs/job-output.json", {"console", "job-output.txt", "job-output.json"}),
        ("console.html", {"console", "console.html", "job-output.txt"}),
        ("controller/logs/screen-n-cpu.txt", {"screen-n-cpu.txt", "controller/logs/screen-n-cpu.txt"}),
        ("logs/screen-c-vol.txt.gz", {"screen-c-vol.txt"}),
        ("logs/screen-n-api.html", {"screen-n-api.txt"}),
        ("logs/devstack-gate-setup-host.txt", {"devstack-gate-setup-host.txt"}),
        ("compute1/logs/syslog.txt.xz", {"syslog.txt"}),
        ("logs/grenade.sh.txt", {"grenade.sh.txt"}),
        ("./logs/screen-q-agt.txt", {"logs/screen-q-agt.txt", "screen-q-agt.txt"}),
        ("logs\\windows\\screen-neutron-agent.txt", {"screen-neutron-agent.txt"}),
    ],
)
def test_log_tags_match_elastic_recheck_vocabulary(name: str, must_have: set[str]) -> None:
    tags = log_tags(name)
    assert must_have <= set(tags)
    assert len(tags) == len(set(tags))


def test_non_console_logs_do_not_claim_console() -> None:
    assert "console" not in log_tags("logs/screen-n-cpu.txt")
