"""A throwaway PostgreSQL cluster for tests and benchmarks: Debian's server binaries, a temporary folder, loopback.

Usage::

    reason = PostgresCluster.missing_reason()   # None when PostgreSQL can start here
    cluster = PostgresCluster().start()
    url = cluster.create_database("gateway_test")  # postgresql+psycopg://arena@127.0.0.1:PORT/gateway_test
    ...
    cluster.stop()

initdb and postgres refuse to run as root; under root the cluster's folder is handed to the
``postgres`` user (created by Debian's postgresql package) and every server command runs as it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.processes import free_port

PG_ROOT = Path("/usr/lib/postgresql")
PG_BIN_ENV = "ARENAHUB_TEST_PG_BIN"


def find_pg_bin(root: Path = PG_ROOT) -> Path | None:
    """The ``bin`` folder of the newest PostgreSQL under ``root`` (Debian: /usr/lib/postgresql/<major>/bin).

    ``$ARENAHUB_TEST_PG_BIN`` names another folder holding initdb and pg_ctl. Returns None when
    no folder with an ``initdb`` is found.
    """
    configured = os.environ.get(PG_BIN_ENV)
    if configured:
        return Path(configured) if (Path(configured) / "initdb").exists() else None
    if not root.is_dir():
        return None
    versions = [p for p in root.iterdir() if re.fullmatch(r"\d+(\.\d+)?", p.name) and (p / "bin" / "initdb").exists()]
    if not versions:
        return None
    newest = max(versions, key=lambda p: tuple(int(part) for part in p.name.split(".")))
    return newest / "bin"


class PostgresCluster:
    """A PostgreSQL cluster in a temporary folder on a free loopback port, trust auth, user ``arena``.

    Under root the server runs as the ``postgres`` user (initdb refuses root). fsync is off:
    the cluster is thrown away with its folder by ``stop()``.
    """

    def __init__(self, pg_bin: Path | None = None) -> None:
        found = pg_bin or find_pg_bin()
        if found is None:
            raise RuntimeError(self.missing_reason() or "PostgreSQL binaries not found")
        self.pg_bin = found
        self.root = Path(tempfile.mkdtemp(prefix="arenahub-pg-"))
        self.port = free_port()
        self.user = "arena"
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_owner = ["runuser", "-u", "postgres", "--"]

    @staticmethod
    def missing_reason() -> str | None:
        """Why PostgreSQL cannot be started here, or None when it can."""
        if find_pg_bin() is None:
            where = os.environ.get(PG_BIN_ENV) or f"{PG_ROOT}/<version>/bin"
            return f"PostgreSQL server binaries are not installed (no initdb in {where}; `make test-deps` installs them)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root without a 'postgres' user to own the test cluster"
            if shutil.which("runuser") is None:
                return "running as root without runuser (util-linux) to start PostgreSQL as 'postgres'"
        return None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, *argv: str) -> None:
        done = subprocess.run([*self._as_owner, *argv], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed with {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}\n"
                f"{self.log_tail()}"
            )

    def start(self) -> PostgresCluster:
        """initdb and start the server; returns self once it accepts connections."""
        self._run(str(self.pg_bin / "initdb"), "-D", str(self.data_dir), "-U", self.user, "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        self._run(str(self.pg_bin / "pg_ctl"), "-D", str(self.data_dir), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database`` on this cluster."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` and return its SQLAlchemy URL."""
        import psycopg

        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
            raise ValueError(f"Database name {name!r} must be letters, digits and _, starting with a letter or _.")
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for error messages."""
        try:
            return "\n".join((self.root / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        subprocess.run(
            [*self._as_owner, str(self.pg_bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"],
            capture_output=True, timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
