"""The ``tags`` a log file answers to, as elastic-recheck's Logstash pipeline set them.

A file is tagged with its base name (without ``.gz``); the job's console log is
also ``console`` (and both of its historical names, ``console.html`` for Zuul
v2 and ``job-output.txt`` for Zuul v3), so old and new queries both match it.
"""

from __future__ import annotations

CONSOLE_NAMES = frozenset({"job-output.txt", "console.html", "console.log", "console.txt", "job-output.json"})
CONSOLE_TAGS = ("console", "console.html", "job-output.txt")


def derive_file_tags(file_name: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The tags of ``file_name`` (a path inside the build's logs) plus ``extra``, unique, in order."""
    base = file_name.rstrip("/").rsplit("/", 1)[-1]
    if base.endswith(".gz"):
        base = base[:-3]
    tags: list[str] = [*extra]
    if base:
        tags.append(base)
    if base in CONSOLE_NAMES:
        tags.extend(CONSOLE_TAGS)
    return tuple(dict.fromkeys(t for t in tags if t))


def file_name_candidates(file_name: str) -> tuple[str, ...]:
    """Values ``filename:`` compares with, each also without ``.gz``.

    The path, its base name, and the path from its last ``logs/`` folder on
    (``logs/screen-n-cpu.txt``: how devstack-gate's logs were named).
    """
    base = file_name.rsplit("/", 1)[-1]
    names = [file_name, base]
    at = file_name.rfind("logs/")
    if at >= 0 and (at == 0 or file_name[at - 1] == "/"):
        names.append(file_name[at:])
    names += [n[:-3] for n in names if n.endswith(".gz")]
    return tuple(dict.fromkeys(n for n in names if n))
