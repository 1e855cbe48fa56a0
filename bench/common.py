"""Shared helpers for benchmarks: peer virtualenvs, interleaved timing, JSON records."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
import venv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
VENVS = BENCH_DIR / ".venvs"
WORK = BENCH_DIR / ".work"


def peer_python(name: str, requirements: Sequence[str]) -> Path:
    """A throwaway venv for one peer with pinned requirements; created once, reused after."""
    env_dir = VENVS / name
    python = env_dir / "bin" / "python"
    stamp = env_dir / ".requirements"
    wanted = "\n".join(requirements)
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        print(f"installing peer {name}: {' '.join(requirements)}", file=sys.stderr)
        venv.create(env_dir, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
        stamp.write_text(wanted)
    return python


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=BENCH_DIR
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def interleave(runs: dict[str, Callable[[], float | None]], repetitions: int) -> dict[str, list[float]]:
    """Run each contender once per round (A B A B ...); each returns seconds (or None to time it here)."""
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repetitions):
        for name, fn in runs.items():
            start = time.perf_counter()
            measured = fn()
            timings[name].append(measured if measured is not None else time.perf_counter() - start)
    return timings


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def write_record(path: Path | None, record: dict[str, Any]) -> None:
    record = {
        "git_sha": git_sha(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        **record,
    }
    text = json.dumps(record, indent=2, sort_keys=True)
    if path is not None:
        path.write_text(text + "\n")
        print(f"wrote {path}", file=sys.stderr)
