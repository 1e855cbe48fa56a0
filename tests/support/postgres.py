"""A throwaway PostgreSQL server for tests, started from the local binaries.

``PostgresServer.start()`` finds ``initdb``/``pg_ctl`` (on PATH, else the
newest ``/usr/lib/postgresql/*/bin``), runs ``initdb`` into a fresh temporary
directory, starts the server on a free loopback port (``-h 127.0.0.1``, unix
socket in the same temporary directory, fsync off: the data is disposable) and
``stop()`` shuts it down and deletes the directory. ``create_database()``
returns the URL of a new, empty database, so each test gets its own.

Running as root: ``initdb`` and ``postgres`` refuse to run as root. The server
processes then run as the ``postgres`` system user (created by Debian's
``apt-get install postgresql``) or, if there is none, as ``nobody``; the data
directory is created under /tmp and chowned to that user. No user is created
and nothing outside the temporary directory is touched. Not root: everything
runs as the current user.

Missing binaries: ``postgres_or_skip()`` skips the test with the reason,
unless ``GATEWATCH_REQUIRE_POSTGRES=1`` is set (CI), in which case it fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

REQUIRE_ENV = "GATEWATCH_REQUIRE_POSTGRES"
SUPERUSER = "postgres"


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _run_as() -> str | None:
    """The user to run the server as, or None for the current user (when not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gatewatch-pg-")))
    port: int = 0
    user: str | None = None
    _databases: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            user=self.user,
            check=True,
            capture_output=True,
            cwd=self.root,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "TZ": "UTC"},
        )

    def start(self) -> PostgresServer:
        self.user = _run_as()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        self.port = _free_port()
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c full_page_writes=off"
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
                "-w",
                "start",
            )
        except subprocess.CalledProcessError as exc:
            log = (
                (self.root / "server.log").read_text(errors="replace")
                if (self.root / "server.log").exists()
                else ""
            )
            raise RuntimeError(f"PostgreSQL failed to start: {exc.stderr!r}\n{log}") from exc
        return self

    def stop(self) -> None:
        if self.data_dir.exists():
            subprocess.run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                user=self.user,
                check=False,
                capture_output=True,
                cwd=self.root,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        """A libpq connection string (for psycopg) to ``database``."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, *, template: str = "template0", name: str = "") -> str:
        """A new database copied from ``template`` (default: empty); returns its SQLAlchemy URL.

        A template with a migrated schema makes a fresh per-test database cheap;
        nothing may be connected to the template while it is copied.
        """
        self._databases += 1
        name = name or f"gw_test_{self._databases}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            # FILE_COPY (PostgreSQL 15+) copies files instead of WAL-logging every page: faster here.
            strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\'{strategy}')
        return self.url(name)


def postgres_or_skip() -> Path:
    """The PostgreSQL bin directory; skips (or fails under GATEWATCH_REQUIRE_POSTGRES=1) without one."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 requires them")
        pytest.skip(reason)
    return bin_dir
