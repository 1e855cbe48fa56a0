"""Text analysis for ``message``: the tokenizer, globs, and phrase -> prefilter regex.

The tokenizer approximates Lucene's StandardTokenizer (Unicode UAX#29 word
boundaries) followed by a lower-case filter; docs/query-language.md lists the
differences. A token is a run of word characters (letters, digits, ``_``)
joined by:

* ``.``, ``'`` and ``’`` between two letters or between two digits
  (``java.io.ioexception``, ``don't``, ``1.5``),
* ``:`` and ``·`` between two letters (``hw:pmem``), as in Unicode 6.x,
* ``,`` and ``;`` between two digits (``1,000``).

Case folding is ASCII-only (so the matcher's case-insensitive byte patterns and
this tokenizer agree exactly). The Python ``re`` patterns here are fixed ones of
ours, never built from user input; user text only ever becomes an escaped
literal in a Hyperscan/RE2 pattern (see ``phrase_regex``).
"""

from __future__ import annotations

import re

_LETTER = r"[^\W\d_]"
_JOIN = rf"(?:(?<={_LETTER})[.'’:·](?={_LETTER})|(?<=\d)[.'’,;](?=\d))"
_TOKEN = re.compile(rf"\w+(?:{_JOIN}\w+)*")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# An ANSI escape: CSI (colours, cursor), OSC (titles) or a two-character one; never spans a newline.
_ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[@-Z\\-_])")

# Between two tokens of a line there is at least one non-word character (any
# byte but an ASCII letter, digit or ``_``) and never a newline.
SEPARATOR = rb"[^a-z0-9_\n]+"
# The same where ANSI escapes may occur: they separate tokens too (see ``blank_ansi``).
ANSI_SEPARATOR = (
    rb"(?:[^a-z0-9_\n]|\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    rb"|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\x5c)?|\x1b[\x40-\x5a\x5c-\x5f])+"
)
# A character inside a token (for ``*``/``?`` in a term): never white space.
_TOKEN_BYTE = rb"[^\s]"
MIN_WILDCARD_LITERAL = 2
PREFILTER_WINDOW = 2
LONG_TOKEN_CHARS = 14


def fold(text: str) -> str:
    """Lower-case ASCII letters only (the matcher's case-insensitivity)."""
    return text.translate(_ASCII_LOWER)


def tokenize(text: str) -> list[str]:
    """The line's tokens, case-folded, in order."""
    return [fold(m.group()) for m in _TOKEN.finditer(text)]


def strip_ansi(data: bytes) -> bytes:
    """Remove ANSI escape sequences (colours, cursor moves), for display; never removes newlines."""
    if b"\x1b" not in data:
        return data
    return _ANSI.sub(b"", data)


def blank_ansi(data: bytes) -> bytes:
    """Replace each ANSI escape sequence by a space: for matching, an escape separates tokens."""
    if b"\x1b" not in data:
        return data
    return _ANSI.sub(b" ", data)


def line_tokens(raw: bytes) -> list[str]:
    """The tokens of one raw log line (ANSI escapes separate, CR dropped, bad UTF-8 replaced)."""
    return tokenize(decode_line(blank_ansi(raw)))


def ansi_aware(regex: bytes) -> bytes:
    """``regex`` with every ``SEPARATOR`` also accepting ANSI escapes (ours never contain it otherwise)."""
    return regex.replace(SEPARATOR, ANSI_SEPARATOR)


def decode_line(data: bytes) -> str:
    """A line as text: invalid UTF-8 replaced, NUL kept, trailing CR dropped."""
    return data.rstrip(b"\r").decode("utf-8", errors="replace")


def contains_phrase(line_tokens: list[str], phrase: tuple[str, ...]) -> bool:
    """True if ``phrase`` occurs as consecutive tokens in ``line_tokens``."""
    n = len(phrase)
    if n == 0:
        return False
    first = phrase[0]
    for i in range(len(line_tokens) - n + 1):
        if line_tokens[i] == first and tuple(line_tokens[i : i + n]) == phrase:
            return True
    return False


def glob_match(pattern: str, text: str) -> bool:
    """Lucene wildcard match: ``*`` any run, ``?`` one character; the whole text.

    The classic two-pointer algorithm: O(len(pattern) * len(text)) worst case,
    no backtracking explosion (never a regex).
    """
    p = t = 0
    star_p, star_t = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] in ("?", text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0:
            p = star_p + 1
            star_t += 1
            t = star_t
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def contains_glob_token(line_tokens: list[str], pattern: str) -> bool:
    """True if any token of the line matches the (case-folded) wildcard ``pattern``."""
    return any(glob_match(pattern, token) for token in line_tokens)


def _literal(text: str) -> bytes:
    """``text`` as an escaped, case-folded byte literal for Hyperscan/RE2."""
    out = bytearray()
    for byte in fold(text).encode("utf-8"):
        if 0x30 <= byte <= 0x39 or 0x61 <= byte <= 0x7A or byte == 0x5F:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    return bytes(out)


def phrase_regex(tokens: tuple[str, ...], window: int = PREFILTER_WINDOW) -> bytes:
    """A prefilter pattern that matches every line containing the token sequence.

    A superset of the phrase that Hyperscan scans fast: the phrase's longest
    token alone when it has ``LONG_TOKEN_CHARS`` or more (a pure literal, rare
    in logs: ``openstackapiexception``), else the ``window`` adjacent tokens with
    the most characters joined by ``SEPARATOR`` (no ``\\b``, no long chains of
    classes). Lines it matches are confirmed with ``contains_phrase``.
    """
    longest = max(tokens, key=len)
    if len(longest) >= LONG_TOKEN_CHARS and window < len(tokens):
        return _literal(longest)
    count = min(window, len(tokens))
    start = max(range(len(tokens) - count + 1), key=lambda i: sum(len(t) for t in tokens[i : i + count]))
    return SEPARATOR.join(_literal(t) for t in tokens[start : start + count])


def glob_regex(pattern: str) -> bytes:
    """A pattern that matches every line with a token matching ``pattern`` (a superset)."""
    core = pattern.strip("*")
    parts: list[bytes] = []
    for char in core:
        if char == "*":
            parts.append(_TOKEN_BYTE + b"*")
        elif char == "?":
            parts.append(_TOKEN_BYTE + b"{1,4}")
        else:
            parts.append(_literal(char))
    return b"".join(parts)


def wildcard_literal_length(pattern: str) -> int:
    """How many literal (non-wildcard) characters a wildcard term has."""
    return sum(1 for c in pattern if c not in "*?")
