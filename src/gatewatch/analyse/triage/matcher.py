"""All fingerprints compiled into one multi-pattern matcher, run over a log's bytes.

Only each fingerprint's *trigger* phrases (see ``query.compile.compute_triggers``)
go into the Hyperscan/RE2 database; a line with a trigger hit is then checked
exactly (tokenised, every atom tested, the whole formula evaluated), so rarer
long phrases do the scanning and common words never flood the callbacks.

Logs arrive as byte chunks. They are re-cut into blocks at line ends (bounded
by ``block_bytes``; a line longer than that is scanned in pieces with the same
line number, so a phrase spanning a piece boundary is missed). ANSI escapes
separate tokens (a block containing ESC is scanned with a second database whose
separators accept them, so no block is rewritten), a trailing CR is dropped,
invalid UTF-8 and NUL are separators; evidence text has the escapes removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatewatch.analyse.triage.backends import BackendName, ScanBackend, make_backend
from gatewatch.analyse.triage.tags import derive_file_tags, file_name_candidates
from gatewatch.domain.triage import BuildFacts, Fingerprint, Match
from gatewatch.errors import FingerprintError, QueryError
from gatewatch.query import analysis
from gatewatch.query.compile import (
    CompiledQuery,
    Const,
    FieldTest,
    Formula,
    MessageAtom,
    compile_query,
    evaluate,
    specialise,
)

MAX_PATTERNS = 100_000
_NEWLINE = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanOptions:
    """Bounds: block size (memory), evidence text length, matches kept per fingerprint and file."""

    block_bytes: int = 1 << 20
    max_evidence_chars: int = 500
    max_matches_per_fingerprint: int = 100


@dataclass(slots=True)
class _Active:
    """One fingerprint specialised to one file: its residual line formula."""

    index: int
    formula: Formula
    default: bool
    matches: list[Match] = field(default_factory=list)
    hit_lines: set[int] = field(default_factory=set)
    recorded: set[int] = field(default_factory=set)


def compile_fingerprints(fps: Sequence[Fingerprint], *, backend: BackendName = "auto") -> CompiledMatcher:
    """Compile every fingerprint into one matcher; a bad query raises ``FingerprintError``."""
    compiled: list[CompiledQuery] = []
    for fp in fps:
        try:
            compiled.append(compile_query(fp.query))
        except QueryError as exc:
            raise FingerprintError(f"bug {fp.bug_id}: {exc}", path=fp.source) from None
    return CompiledMatcher(tuple(fps), tuple(compiled), backend=backend)


class CompiledMatcher:
    """The compiled fingerprints; ``scan_log`` per file, ``scan_build`` per build."""

    def __init__(
        self, fps: tuple[Fingerprint, ...], queries: tuple[CompiledQuery, ...], *, backend: BackendName
    ) -> None:
        self.fingerprints = fps
        self.queries = queries
        regex_ids: dict[bytes, int] = {}
        # pattern id -> fingerprint indexes whose triggers use it
        self.owners: list[list[int]] = []
        for index, query in enumerate(queries):
            scanned = query.triggers if query.triggers is not None else range(len(query.atoms))
            for atom_index in scanned:
                regex = query.atoms[atom_index].regex
                if regex not in regex_ids:
                    regex_ids[regex] = len(regex_ids)
                    self.owners.append([])
                owners = self.owners[regex_ids[regex]]
                if index not in owners:
                    owners.append(index)
        if len(regex_ids) > MAX_PATTERNS:
            raise QueryError(f"{len(regex_ids)} patterns, more than {MAX_PATTERNS}")
        self.patterns: tuple[bytes, ...] = tuple(regex_ids)
        self.backend: ScanBackend = make_backend(self.patterns, backend)
        # blocks with ESC bytes are scanned with separators that also accept ANSI escapes
        self.ansi_backend: ScanBackend = make_backend(
            [analysis.ansi_aware(p) for p in self.patterns], backend
        )

    def scan_build(self, build: BuildFacts) -> list[Match]:
        """Matches of build-level fingerprints (no message, tags or filename tests)."""
        found: list[Match] = []
        for fp, query in zip(self.fingerprints, self.queries, strict=True):
            if query.level == "build" and evaluate(
                query.formula, atom=lambda _: False, test=lambda t: t.accepts_build(build)
            ):
                found.append(Match(bug_id=fp.bug_id, build_uuid=build.build_uuid))
        return found

    def scan_log(
        self,
        chunks: Iterable[bytes] | bytes,
        *,
        file_name: str,
        build: BuildFacts,
        file_tags: tuple[str, ...] = (),
        options: ScanOptions | None = None,
    ) -> list[Match]:
        """Matches of line- and file-level fingerprints in one log file, by line number."""
        opts = options or ScanOptions()
        active = self._specialise(
            file_name=file_name, tags=derive_file_tags(file_name, file_tags), build=build
        )
        if not active:
            return []
        scan = _FileScan(self, active, file_name=file_name, build=build, options=opts)
        for block in iter_blocks([chunks] if isinstance(chunks, bytes) else chunks, opts.block_bytes):
            scan.feed(block)
        return scan.finish()

    def scan_lines(
        self,
        lines: Iterable[str | bytes],
        *,
        file_name: str,
        build: BuildFacts,
        file_tags: tuple[str, ...] = (),
    ) -> list[Match]:
        """``scan_log`` over lines given one by one (without their newlines)."""
        data = (line.encode("utf-8") if isinstance(line, str) else line for line in lines)
        return self.scan_log(
            (line + b"\n" for line in data), file_name=file_name, build=build, file_tags=file_tags
        )

    def _specialise(self, *, file_name: str, tags: tuple[str, ...], build: BuildFacts) -> dict[int, _Active]:
        names = file_name_candidates(file_name)

        def test(t: FieldTest) -> bool:
            if t.field == "tags":
                return t.accepts(tags)
            if t.field == "filename":
                return t.accepts(names)
            return t.accepts_build(build)

        active: dict[int, _Active] = {}
        for index, query in enumerate(self.queries):
            if query.level == "build":
                continue
            residual = specialise(query.formula, test)
            if residual == Const(False):
                continue
            default = evaluate(residual, atom=lambda _: False, test=lambda _: False)
            active[index] = _Active(index=index, formula=residual, default=default)
        return active


class _FileScan:
    """The state of scanning one file: line numbers, matches so far."""

    def __init__(
        self,
        matcher: CompiledMatcher,
        active: dict[int, _Active],
        *,
        file_name: str,
        build: BuildFacts,
        options: ScanOptions,
    ) -> None:
        self.matcher = matcher
        self.active = active
        self.file_name = file_name
        self.build_uuid = build.build_uuid
        self.options = options
        self.line_base = 1  # number of the first line of the next block
        self.defaults = [a for a in active.values() if a.default]

    def feed(self, block: bytes) -> None:
        by_line: dict[int, tuple[int, set[int]]] = {}
        backend = self.matcher.ansi_backend if b"\x1b" in block else self.matcher.backend
        hits = backend.scan(block)
        newlines: np.ndarray[Any, Any] | None = None
        if hits:
            newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == _NEWLINE)
            # a match's last byte is end - 1; its line is the number of newlines before it
            lines = np.searchsorted(newlines, [end - 1 for _, end in hits]).tolist()
            for (pattern_id, _end), line in zip(hits, lines, strict=True):
                if line not in by_line:
                    start = int(newlines[line - 1]) + 1 if line else 0
                    by_line[line] = (start, set())
                by_line[line][1].update(self.matcher.owners[pattern_id])
        for local, (start, owners) in sorted(by_line.items()):
            self._check_line(_raw_line_at(block, start), self.line_base + local, owners)
        if self.defaults:
            self._default_lines(block)
        self.line_base += len(newlines) if newlines is not None else count_newlines(block)

    def _check_line(self, raw: bytes, number: int, owners: set[int]) -> None:
        tokens = analysis.line_tokens(raw)
        for index in sorted(owners):
            act = self.active.get(index)
            if act is None:
                continue
            act.hit_lines.add(number)
            atoms = self.matcher.queries[index].atoms

            def atom(i: int, atoms: tuple[MessageAtom, ...] = atoms) -> bool:
                return atoms[i].test(tokens)

            if evaluate(act.formula, atom=atom, test=lambda _: False):
                self._record(act, number, _display(raw))

    def _default_lines(self, block: bytes) -> None:
        """Fingerprints true on a line without hits: every such line matches."""
        limit = self.options.max_matches_per_fingerprint
        for act in self.defaults:
            start, number = 0, self.line_base
            while start < len(block) and len(act.matches) < limit:
                if number not in act.hit_lines:
                    self._record(act, number, _display(_raw_line_at(block, start)))
                end = block.find(b"\n", start)
                if end < 0:
                    break
                start, number = end + 1, number + 1

    def _record(self, act: _Active, number: int, text: str) -> None:
        if len(act.matches) >= self.options.max_matches_per_fingerprint:
            return
        if number in act.recorded:
            return  # a long line scanned in pieces
        act.recorded.add(number)
        act.matches.append(
            Match(
                bug_id=self.matcher.fingerprints[act.index].bug_id,
                build_uuid=self.build_uuid,
                file_name=self.file_name,
                line_number=number,
                text=text[: self.options.max_evidence_chars],
            )
        )

    def finish(self) -> list[Match]:
        found: list[Match] = []
        for act in self.active.values():
            found.extend(act.matches)
        return sorted(found, key=lambda m: (m.line_number, m.bug_id))


def count_newlines(block: bytes) -> int:
    """Newlines in ``block`` (numpy: about 3x faster than ``bytes.count`` on large blocks)."""
    if len(block) < 4096:
        return block.count(b"\n")
    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == _NEWLINE))


def _raw_line_at(block: bytes, start: int) -> bytes:
    end = block.find(b"\n", start)
    return block[start : end if end >= 0 else len(block)]


def _display(raw: bytes) -> str:
    return analysis.decode_line(analysis.strip_ansi(raw))


def iter_blocks(chunks: Iterable[bytes], block_bytes: int) -> Iterator[bytes]:
    """Re-cut arbitrary chunks into blocks of about ``block_bytes`` that end at a newline.

    Small chunks are gathered; a block is cut at the last newline of the piece that
    fills it (one copy; none when a lone piece already ends at a newline). A line
    with no newline in twice ``block_bytes`` is given in pieces, so memory stays
    bounded (about three blocks).
    """
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        for piece in (chunk,) if len(chunk) <= block_bytes else _pieces(chunk, block_bytes):
            parts.append(piece)
            size += len(piece)
            if size < block_bytes:
                if size >= block_bytes // 2 and piece.endswith(b"\n"):  # big enough, and ends a line
                    yield _join(parts)
                    parts, size = [], 0
                continue
            cut = piece.rfind(b"\n") + 1
            if cut == 0:
                if size >= 2 * block_bytes:  # a gigantic line: give what we have
                    yield _join(parts)
                    parts, size = [], 0
                continue
            if len(parts) == 1 and cut == len(piece):
                yield piece
            else:
                yield b"".join([*parts[:-1], memoryview(piece)[:cut]])
            rest = piece[cut:]
            parts, size = ([rest] if rest else []), len(rest)
    if parts:
        yield _join(parts)


def _join(parts: list[bytes]) -> bytes:
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _pieces(chunk: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(chunk), size):
        yield chunk[start : start + size]
