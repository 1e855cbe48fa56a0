"""Read fingerprint files from a directory, and the built-in infra fingerprints from the package.

The only I/O of triage's fingerprints; parsing and checking are pure
(``gatewatch.analyse.triage.fingerprints.parse_fingerprint``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from gatewatch.analyse.triage.fingerprints import parse_fingerprint
from gatewatch.domain.triage import Fingerprint
from gatewatch.errors import FingerprintError

BUILTIN_PACKAGE = "gatewatch.analyse.triage.builtin"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FingerprintError(f"cannot read: {exc}", path=str(path)) from None


def load_fingerprints(directory: str | Path) -> list[Fingerprint]:
    """Every ``*.yaml``/``*.yml`` in ``directory`` (sorted by name); the first bad file raises."""
    fps, errors = check_fingerprints(directory)
    if errors:
        raise errors[0]
    return fps


def check_fingerprints(directory: str | Path) -> tuple[list[Fingerprint], list[FingerprintError]]:
    """The valid fingerprints and one error per invalid file (``gatewatch fingerprints check``)."""
    root = Path(directory)
    if not root.is_dir():
        raise FingerprintError(
            "not a directory", path=str(root), hint="give the folder of <bug-id>.yaml files"
        )
    fps: list[Fingerprint] = []
    errors: list[FingerprintError] = []
    for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
        try:
            fps.append(parse_fingerprint(_read(path), path=str(path)))
        except FingerprintError as exc:
            errors.append(exc)
    return fps, errors


def load_builtin_fingerprints() -> list[Fingerprint]:
    """The infra fingerprints shipped inside the package (``fingerprints/infra`` links to them)."""
    fps: list[Fingerprint] = []
    entries = sorted(resources.files(BUILTIN_PACKAGE).iterdir(), key=lambda e: e.name)
    for entry in entries:
        if entry.name.endswith(".yaml"):
            text = entry.read_text(encoding="utf-8")
            fps.append(parse_fingerprint(text, path=f"builtin/{entry.name}", builtin=True))
    return fps
