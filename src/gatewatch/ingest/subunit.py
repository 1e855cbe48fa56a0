"""Decode and encode subunit v2 streams (pure).

Why not python-subunit's parser: ``ByteStreamToStreamResult`` reads the stream
one byte at a time through a file object, builds a ``datetime`` for every
packet and dispatches each packet through the testtools ``StreamResult``
object chain; it parses about 11.7k tests/s, which alone would spend more than
the whole ingest budget (20,000 tests at >= 25k tests/s end to end). This
decoder walks one ``bytes`` buffer with ``struct.unpack_from`` and slices,
checks each packet's CRC32 with ``zlib.crc32`` over a ``memoryview`` (no copy),
keeps timestamps as integers until a test finishes and never loops per byte.
python-subunit stays a test dependency: the unit tests cross-check this
decoder against ``subunit.ByteStreamToStreamResult`` on real and generated
streams.

Packet layout (subunit v2): ``0xB3``, 16-bit flags (version nibble 0x2), a
1-3 byte length covering the whole packet, then optional fields in this order:
timestamp (u32 seconds + varint nanoseconds), test id, tags, MIME type, file
content (name + varint length + bytes), route code; then a CRC32 of everything
before it. A test's events are keyed by (test id, route code), as testtools
does: attachments may arrive in several packets (file chunks) before the
final status, and streams from several workers interleave under route codes.

Mapping to :class:`TestResult`:

- statuses success/fail/skip/xfail/uxsuccess -> PASS/FAIL/SKIP/XFAIL/XPASS;
  subunit has no "error" status, so ERROR renders as fail.
- a test still ``inprogress`` when a complete stream ends (runner killed
  between packets) -> ERROR with an explanatory message; a test only ever
  ``exists`` (listed, never run) is left out and counted in ``Run.warnings``.
- attachment ``traceback`` -> ``traceback``; ``reason`` -> ``message``
  (subunit's skip reason; it is kept for any status). Other attachments
  (stdout, stderr, pythonlogging...) are kept, bounded, as
  ``("attachment:<name>", text)`` properties of failing results only.
- tag ``worker-N`` -> ``worker``; other tags -> one ``("tags", "a b")`` property.
- first and last timestamps -> ``started_at`` and ``duration_s``.
- the same test id finishing again (a rerun) -> the next ``attempt``.

A packet cut short by the end of the data (runner killed mid-write), a CRC
mismatch or bytes that are not a packet raise :class:`IngestError` with the
byte offset of the packet: a partial run is never returned silently.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from gatewatch.domain.results import Outcome, ResultFormat, Run, TestResult
from gatewatch.errors import IngestError

SIGNATURE = 0xB3
_FLAG_TEST_ID = 0x0800
_FLAG_ROUTE_CODE = 0x0400
_FLAG_TIMESTAMP = 0x0200
_FLAG_RUNNABLE = 0x0100
_FLAG_TAGS = 0x0080
_FLAG_FILE_CONTENT = 0x0040
_FLAG_MIME_TYPE = 0x0020
_FLAG_EOF = 0x0010
_VERSION_2 = 0x2000

_EXISTS, _INPROGRESS = 1, 2
_FAILING = frozenset(o for o in Outcome if o.is_failure)
_FINAL = {3: Outcome.PASS, 4: Outcome.XPASS, 5: Outcome.SKIP, 6: Outcome.FAIL, 7: Outcome.XFAIL}
_STATUS_CODE = {
    Outcome.PASS: 3,
    Outcome.XPASS: 4,
    Outcome.SKIP: 5,
    Outcome.FAIL: 6,
    Outcome.ERROR: 6,
    Outcome.XFAIL: 7,
}
MAX_ATTACHMENT_BYTES = 1 << 20
"""Bytes kept per attachment (traceback, reason, stdout...); the rest is cut."""
MAX_EXTRA_ATTACHMENT_BYTES = 64 << 10
"""Bytes kept per stdout/stderr-like attachment stored as a property."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_unpack_h = struct.Struct(">H").unpack_from
_unpack_i = struct.Struct(">I").unpack_from
_INPROGRESS_MESSAGE = "test started but never finished: the stream ended while it was in progress"


class _Pending:
    """The events seen so far for one (test id, route code)."""

    __slots__ = ("attachments", "first_ts", "last_ts", "route", "status", "tags", "test_id")

    def __init__(self, test_id: str, route: str) -> None:
        self.test_id = test_id
        self.route = route
        self.status = 0
        self.first_ts: tuple[int, int] | None = None
        self.last_ts: tuple[int, int] | None = None
        self.tags: list[str] | None = None
        self.attachments: dict[str, bytearray] = {}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    kind = first & 0xC0
    if kind == 0:
        return first, pos + 1
    if kind == 0x40:
        return ((first & 0x3F) << 8) | data[pos + 1], pos + 2
    if kind == 0x80:
        return ((first & 0x3F) << 16) | (data[pos + 1] << 8) | data[pos + 2], pos + 3
    return ((first & 0x3F) << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3], pos + 4


def _string(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = _varint(data, pos)
    end = pos + size
    return data[pos:end].decode("utf-8", "replace"), end


_OPTIONAL_FIELDS = _FLAG_TAGS | _FLAG_MIME_TYPE | _FLAG_FILE_CONTENT | _FLAG_ROUTE_CODE


def _optional_fields(
    data: bytes, flags: int, pos: int
) -> tuple[list[str] | None, str | None, int, int, str, int]:
    """(tags, file name, chunk start, chunk end, route code, next position) after the test id."""
    tags = None
    if flags & _FLAG_TAGS:
        count, pos = _varint(data, pos)
        tags = []
        for _ in range(count):
            size = data[pos]  # tags are short: one-byte lengths inline
            if size < 0x40:
                pos += 1
            else:
                size, pos = _varint(data, pos)
            tags.append(data[pos : pos + size].decode("utf-8", "replace"))
            pos += size
    if flags & _FLAG_MIME_TYPE:
        _, pos = _string(data, pos)
    file_name = None
    chunk_start = chunk_end = 0
    if flags & _FLAG_FILE_CONTENT:
        file_name, pos = _string(data, pos)
        chunk_len, chunk_start = _varint(data, pos)
        chunk_end = pos = chunk_start + chunk_len
    route = ""
    if flags & _FLAG_ROUTE_CODE:
        route, pos = _string(data, pos)
    return tags, file_name, chunk_start, chunk_end, route, pos


class _Decoder:
    """Walks a stream packet by packet and collects finished tests."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.view = memoryview(data)
        self.source = source
        self.pending: dict[tuple[str, str], _Pending] = {}
        self.results: list[TestResult] = []
        self.attempts: dict[str, int] = {}
        self.seconds: dict[int, datetime] = {}  # whole seconds already turned into datetimes
        self.listed_only = 0

    def error(self, message: str, offset: int) -> IngestError:
        return IngestError(message, path=self.source, offset=offset)

    def run(self) -> None:
        """Walk every packet. Hot loop: header checks inline, the details only on failure."""
        data, view, size, pos = self.data, self.view, len(self.data), 0
        crc32, unpack_i, fields = zlib.crc32, _unpack_i, self.fields
        while pos < size:
            start = pos
            if data[start] != SIGNATURE or start + 6 > size:
                raise self.bad_header(start)
            flags = (data[start + 1] << 8) | data[start + 2]
            length = data[start + 3]
            if length < 0x40:
                pos = start + 4
            else:
                length, pos = _varint(data, start + 3)
            end = start + length
            if flags & 0xF000 != _VERSION_2 or end > size or length < 10 or pos > end - 4:
                raise self.bad_header(start)
            if crc32(view[start : end - 4]) != unpack_i(data, end - 4)[0]:
                raise self.error("subunit packet checksum (CRC32) mismatch: corrupt stream", start)
            try:
                fields(flags, pos, end - 4)
            except IndexError:
                raise self.error("subunit packet fields run past the packet end", start) from None
            pos = end
        for state in list(self.pending.values()):
            self.finish(state)

    def bad_header(self, start: int) -> IngestError:
        """The precise error for a packet header the hot loop rejected."""
        data, size = self.data, len(self.data)
        if data[start] != SIGNATURE:
            return self.error(f"not a subunit v2 packet (byte 0x{data[start]:02x}, expected 0xb3)", start)
        if start + 6 > size:
            return self.error("truncated subunit packet header (stream ends mid-packet)", start)
        (flags,) = _unpack_h(data, start + 1)
        if flags & 0xF000 != _VERSION_2:
            return self.error(f"unsupported subunit packet version 0x{flags >> 12:x}", start)
        length = _varint(data, start + 3)[0]
        if start + length > size:
            return self.error(
                f"truncated subunit packet: it declares {length} bytes, {size - start} remain", start
            )
        return self.error(f"invalid subunit packet length {length}", start)

    def fields(self, flags: int, pos: int, body_end: int) -> None:
        # Hot path (one call per packet): one-byte varints are decoded inline.
        data = self.data
        timestamp = None
        if flags & _FLAG_TIMESTAMP:
            seconds = _unpack_i(data, pos)[0]
            if data[pos + 4] >= 0xC0:  # nanoseconds are usually a 4-byte varint
                timestamp = (seconds, _unpack_i(data, pos + 4)[0] & 0x3FFFFFFF)
                pos += 8
            else:
                nanos, pos = _varint(data, pos + 4)
                timestamp = (seconds, nanos)
        if not flags & _FLAG_TEST_ID:
            return  # stream-level packets (global tags, non-test files) carry no test result
        size = data[pos]
        if size < 0x40:
            pos += 1
        else:
            size, pos = _varint(data, pos)
        test_id = data[pos : pos + size].decode("utf-8", "replace")
        pos += size
        tags = file_name = None
        chunk_start = chunk_end = 0
        route = ""
        if flags & _OPTIONAL_FIELDS:
            tags, file_name, chunk_start, chunk_end, route, pos = _optional_fields(data, flags, pos)
        if pos > body_end:
            raise IndexError
        key = (test_id, route)
        state = self.pending.get(key)
        if state is None:
            state = self.pending[key] = _Pending(test_id, route)
        if timestamp is not None:
            if state.first_ts is None or (flags & 0x7 == _INPROGRESS and state.status == _EXISTS):
                state.first_ts = timestamp  # the run starts now, not when the test was listed
                state.last_ts = None
            else:
                state.last_ts = timestamp
        if tags is not None:
            state.tags = tags
        if file_name is not None:
            buf = state.attachments.get(file_name)
            if buf is None:
                buf = state.attachments[file_name] = bytearray()
            room = MAX_ATTACHMENT_BYTES - len(buf)
            if room > 0:
                buf += self.view[chunk_start : min(chunk_end, chunk_start + room)]
        status = flags & 0x7
        if status:
            state.status = status
            if status in _FINAL:
                del self.pending[key]
                self.finish(state)

    def finish(self, state: _Pending) -> None:
        if state.status in (0, _EXISTS):
            self.listed_only += 1
            return
        attempt = self.attempts.get(state.test_id, 0) + 1
        self.attempts[state.test_id] = attempt
        self.results.append(_to_result(state, attempt, self.seconds))


def _text(raw: bytearray | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def _when(stamp: tuple[int, int], seconds: dict[int, datetime] | None = None) -> datetime:
    """The UTC time of a subunit timestamp; ``seconds`` caches whole seconds (tests share them)."""
    micros = stamp[1] // 1000
    if seconds is not None and micros < 1_000_000:
        base = seconds.get(stamp[0])
        if base is None:
            base = seconds[stamp[0]] = _EPOCH + timedelta(seconds=stamp[0])
        return base.replace(microsecond=micros)
    return _EPOCH + timedelta(seconds=stamp[0], microseconds=stamp[1] // 1000)


def _seconds_between(first: tuple[int, int], last: tuple[int, int]) -> float:
    """``(_when(last) - _when(first)).total_seconds()`` without building datetimes."""
    micros = (last[0] - first[0]) * 1_000_000 + (last[1] // 1000 - first[1] // 1000)
    return micros / 10**6


def _split_tags(tags: list[str] | None) -> tuple[str, list[str]]:
    """(worker tag, the other tags)."""
    if not tags:
        return "", []
    if len(tags) == 1 and tags[0].startswith("worker-"):
        return tags[0], []
    worker = next((t for t in tags if t.startswith("worker-")), "")
    return worker, [t for t in tags if t != worker]


def _properties(state: _Pending, outcome: Outcome, other_tags: list[str]) -> tuple[tuple[str, str], ...]:
    props: list[tuple[str, str]] = []
    if other_tags:
        props.append(("tags", " ".join(sorted(other_tags))))
    files = state.attachments
    if files and outcome in _FAILING:
        for name in sorted(files):
            if name not in ("traceback", "reason") and files[name]:
                props.append((f"attachment:{name}", _text(files[name][:MAX_EXTRA_ATTACHMENT_BYTES])))
    if state.route:
        props.append(("route_code", state.route))
    return tuple(props)


def _to_result(state: _Pending, attempt: int, seconds: dict[int, datetime]) -> TestResult:
    outcome = _FINAL.get(state.status, Outcome.ERROR)
    files = state.attachments
    message = _text(files.get("reason")) if files else ""
    if state.status == _INPROGRESS and not message:
        message = _INPROGRESS_MESSAGE
    first, last = state.first_ts, state.last_ts
    worker, other_tags = _split_tags(state.tags)
    props = _properties(state, outcome, other_tags) if other_tags or files or state.route else ()
    classname, name = split_test_id(state.test_id)
    return TestResult(
        test_id=state.test_id,
        classname=classname,
        name=name,
        outcome=outcome,
        attempt=attempt,
        duration_s=_seconds_between(first, last) if first is not None and last is not None else None,
        started_at=_when(first, seconds) if first is not None else None,
        message=message,
        traceback=_text(files.get("traceback")) if files else "",
        worker=worker,
        properties=props,
    )


def split_test_id(test_id: str) -> tuple[str, str]:
    """(classname, name) of a Python-style test id.

    ``pkg.mod.Class.test_x[id-1,smoke]`` -> (``pkg.mod.Class``, ``test_x[id-1,smoke]``);
    a class fixture ``setUpClass (pkg.mod.Class)`` -> (``pkg.mod.Class``, ``setUpClass``).
    """
    if test_id.endswith(")") and " (" in test_id:
        name, _, rest = test_id.partition(" (")
        return rest[:-1], name
    head, bracket, params = test_id.partition("[")
    classname, dot, name = head.rpartition(".")
    if not dot:
        return "", test_id
    return classname, name + bracket + params


def parse_subunit(data: bytes, *, source: str) -> Run:
    """A :class:`Run` from a subunit v2 byte stream; raises IngestError with a byte offset."""
    decoder = _Decoder(data, source)
    decoder.run()
    if not decoder.results and not decoder.listed_only and data:
        raise IngestError("subunit stream holds no test events", path=source, offset=0)
    warnings: tuple[str, ...] = ()
    if decoder.listed_only:
        warnings = (f"{decoder.listed_only} test(s) were listed (status 'exists') but never ran",)
    results = tuple(decoder.results)
    starts = [r.started_at for r in results if r.started_at is not None]
    ends = [r.started_at + timedelta(seconds=r.duration_s or 0.0) for r in results if r.started_at]
    return Run(
        format=ResultFormat.SUBUNIT,
        source=source,
        content_hash=hashlib.sha256(data).hexdigest(),
        results=results,
        started_at=min(starts) if starts else None,
        ended_at=max(ends) if ends else None,
        warnings=warnings,
    )


# --- encoder -------------------------------------------------------------------------------------


def _encode_number(value: int) -> bytes:
    if value < 0x40:
        return bytes((value,))
    if value < 0x4000:
        return struct.pack(">H", value | 0x4000)
    if value < 0x400000:
        return struct.pack(">I", value | 0x800000)[1:]
    if value < 0x40000000:
        return struct.pack(">I", value | 0xC0000000)
    raise ValueError(f"value too large for a subunit varint: {value}")


def _encode_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _encode_number(len(raw)) + raw


def _encode_packet(
    *,
    test_id: str,
    status: int = 0,
    when: datetime | None = None,
    tags: Iterable[str] = (),
    attachment: tuple[str, bytes, bool] | None = None,
    mime_type: str = "",
) -> bytes:
    """One packet; ``attachment`` is (file name, chunk, eof)."""
    flags = _VERSION_2 | _FLAG_TEST_ID | _FLAG_RUNNABLE | status
    body = bytearray()
    if when is not None:
        flags |= _FLAG_TIMESTAMP
        delta = when - _EPOCH
        body += struct.pack(">I", delta.days * 86400 + delta.seconds)
        body += _encode_number(delta.microseconds * 1000)
    body += _encode_string(test_id)
    tag_list = sorted(tags)
    if tag_list:
        flags |= _FLAG_TAGS
        body += _encode_number(len(tag_list))
        for tag in tag_list:
            body += _encode_string(tag)
    if mime_type:
        flags |= _FLAG_MIME_TYPE
        body += _encode_string(mime_type)
    if attachment is not None:
        name, chunk, eof = attachment
        flags |= _FLAG_FILE_CONTENT | (_FLAG_EOF if eof else 0)
        body += _encode_string(name) + _encode_number(len(chunk)) + chunk
    base = len(body) + 3 + 4
    length = base + (1 if base <= 62 else 2 if base <= 16381 else 3)
    head = bytes((SIGNATURE,)) + struct.pack(">H", flags) + _encode_number(length)
    packet = head + body
    return packet + struct.pack(">I", zlib.crc32(packet))


_TEXT_MIME = "text/plain;charset=utf8"
_MIME_TYPES = {"traceback": "text/x-traceback;charset=utf8"}


def _tags_of(result: TestResult) -> list[str]:
    tags = [result.worker] if result.worker else []
    for key, value in result.properties:
        if key == "tags":
            tags.extend(value.split())
    return tags


def _attachments_of(result: TestResult) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    if result.traceback:
        files.append(("traceback", result.traceback.encode("utf-8")))
    if result.message:
        files.append(("reason", result.message.encode("utf-8")))
    for key, value in result.properties:
        if key.startswith("attachment:"):
            files.append((key.removeprefix("attachment:"), value.encode("utf-8")))
    return files


def render_subunit(results: Iterable[TestResult], *, chunk_bytes: int = 65536) -> bytes:
    """A subunit v2 stream for ``results``, as testtools writes one.

    Each result becomes an ``inprogress`` packet (start time, tags), its
    attachments in ``chunk_bytes`` pieces, and a final status packet (end
    time). Results are written in order, so repeated test ids parse back as
    increasing attempts.
    """
    out = bytearray()
    for result in results:
        tags = _tags_of(result)
        end = None
        if result.started_at is not None and result.duration_s is not None:
            end = result.started_at + timedelta(seconds=result.duration_s)
        out += _encode_packet(test_id=result.test_id, status=_INPROGRESS, when=result.started_at, tags=tags)
        for name, raw in _attachments_of(result):
            pieces = [raw[i : i + chunk_bytes] for i in range(0, len(raw), chunk_bytes)] or [b""]
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                mime = _MIME_TYPES.get(name, _TEXT_MIME) if index == 0 else ""
                out += _encode_packet(test_id=result.test_id, attachment=(name, piece, last), mime_type=mime)
        status = _STATUS_CODE[result.outcome]
        out += _encode_packet(test_id=result.test_id, status=status, when=end, tags=tags)
    return bytes(out)
