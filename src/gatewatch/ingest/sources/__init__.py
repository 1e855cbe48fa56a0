"""gatewatch.ingest.sources: read files, directories, archives and stdin into ingest units (I/O).

``iter_units`` walks paths into :class:`BuildUnit`/:class:`FileUnit` records
(or :class:`SourceProblem` for what cannot be read); ``read_member`` and
``open_stream`` give a member's bytes, decompressed and bounded by
:class:`Limits`. See docs/ingest-layout.md.
"""

from gatewatch.ingest.sources.files import BuildUnit, FileUnit, SourceProblem, Unit, iter_units
from gatewatch.ingest.sources.streams import Limits, Member, open_stream, read_head, read_member

__all__ = [
    "BuildUnit",
    "FileUnit",
    "Limits",
    "Member",
    "SourceProblem",
    "Unit",
    "iter_units",
    "open_stream",
    "read_head",
    "read_member",
]
