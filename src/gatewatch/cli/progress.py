"""Rich progress bars for long work, silent when output is not a terminal or is JSON."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


@contextmanager
def progress_bar(*, enabled: bool = True) -> Iterator[Progress]:
    """A progress display on stderr; disabled (but still usable) when not wanted."""
    console = Console(stderr=True)
    show = enabled and sys.stderr.isatty()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=False,
    )
    with progress:
        yield progress
