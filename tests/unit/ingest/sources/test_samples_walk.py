"""Walk the real samples directory, detect every file from its content and parse it."""

from __future__ import annotations

from collections import Counter

from gatewatch.errors import IngestError
from gatewatch.ingest.detect import HEAD_BYTES, FileKind, detect_format
from gatewatch.ingest.gotest import parse_gotest
from gatewatch.ingest.junit import parse_junit
from gatewatch.ingest.sources import FileUnit, Limits, iter_units, read_head, read_member
from gatewatch.ingest.subunit import parse_subunit
from support.ingest_samples import SAMPLES

PARSERS = {FileKind.JUNIT: parse_junit, FileKind.SUBUNIT: parse_subunit, FileKind.GOTEST: parse_gotest}


def test_every_sample_is_detected_and_parsed() -> None:
    kinds: Counter[FileKind] = Counter()
    tests = 0
    broken = []
    for unit in iter_units([str(SAMPLES)], limits=Limits()):
        assert isinstance(unit, FileUnit)
        member = unit.member
        kind = detect_format(read_head(member, limits=Limits(), size=HEAD_BYTES), name=member.name)
        kinds[kind] += 1
        if kind in PARSERS:
            try:
                run = PARSERS[kind](read_member(member, limits=Limits()), source=member.origin)
                tests += len(run.results)
            except IngestError as exc:
                broken.append((member.name, exc.line))
    # NOTICE.md and the four licence texts are text, hence logs.
    assert kinds == Counter({FileKind.JUNIT: 26, FileKind.SUBUNIT: 3, FileKind.GOTEST: 1, FileKind.LOG: 5})
    assert broken == [("truncated-pytest.xml", 11)]
    assert tests == 136 + (63 + 21 + 7) + 12  # JUnit records as in test_junit's table, stestr, go
