"""The errors gatewatch raises, one subclass per area.

Each carries structured fields and a message a user can act on. Library code
raises; only the CLI maps errors to exit codes (``exit_code``) and only the web
app maps them to HTTP statuses.
"""

from __future__ import annotations


class GatewatchError(Exception):
    """Base of every error gatewatch reports to a user.

    ``hint`` says what to do about it; ``exit_code`` is what the CLI exits with.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ConfigError(GatewatchError):
    """A setting is missing, malformed or contradictory."""

    exit_code = 2


class StoreError(GatewatchError):
    """The store cannot be opened, migrated or written."""


class IngestError(GatewatchError):
    """An input file is malformed, truncated, too large or unreadable.

    ``path`` names the file; ``line``/``column`` or ``offset`` (bytes) give the
    position where the problem was found, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        line: int | None = None,
        column: int | None = None,
        offset: int | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line
        self.column = column
        self.offset = offset

    @property
    def position(self) -> str:
        """The position as ``line L, column C`` or ``byte N``, or ''."""
        if self.line is not None:
            if self.column is not None:
                return f"line {self.line}, column {self.column}"
            return f"line {self.line}"
        if self.offset is not None:
            return f"byte {self.offset}"
        return ""

    def __str__(self) -> str:
        where = ", ".join(p for p in (self.path, self.position) if p)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text

    def with_path(self, path: str) -> IngestError:
        """The same error, naming ``path`` (parsers may not know the file name)."""
        return type(self)(
            self.message,
            path=path,
            line=self.line,
            column=self.column,
            offset=self.offset,
            hint=self.hint,
        )


class QueryError(GatewatchError):
    """A fingerprint query cannot be parsed or compiled; ``position`` is 0-based."""

    exit_code = 2

    def __init__(self, message: str, *, query: str = "", position: int | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.query = query
        self.position = position

    def __str__(self) -> str:
        text = self.message
        if self.position is not None:
            text = f"{text} at position {self.position}"
            if self.query:
                text += f"\n  {self.query}\n  {' ' * self.position}^"
        return f"{text} ({self.hint})" if self.hint else text


class FileLocatedError(GatewatchError):
    """A user-written file (fingerprint, job definition) is invalid at ``path``:``line``."""

    exit_code = 2

    def __init__(self, message: str, *, path: str = "", line: int | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line is not None else "")
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class FingerprintError(FileLocatedError):
    """A fingerprint file is invalid; ``path`` and ``line`` locate the problem."""


class PerfError(GatewatchError):
    """A benchmark series cannot be analysed (mixed units, no data...)."""


class GateError(GatewatchError):
    """The gate cannot do what was asked (unknown change, git failure...)."""


class NotFoundError(GatewatchError):
    """A named object (build, test, series, queue item) does not exist."""

    exit_code = 3


class HealthError(GatewatchError):
    """Health input is contradictory (a rename cycle, a bad confidence level...)."""

    exit_code = 2
