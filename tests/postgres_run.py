"""Run the database-backed suites again on a throw-away PostgreSQL cluster.

Starts its own cluster (initdb + pg_ctl from Debian's PostgreSQL) in a temporary
folder on a private port and Unix socket, runs pytest with ``TEST_DATABASE_URL``
pointing at it, then stops and removes it. Exits with pytest's status.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SUITES = ["tests/web", "tests/competency_framework"]
PORT = "54329"


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    sys.exit("PostgreSQL is not installed: install Debian's postgresql package (.ci/run does).")


def as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root; run the server as the 'postgres' system user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def main() -> int:
    binaries = postgres_bin()
    workdir = Path(tempfile.mkdtemp(prefix="pg-test-"))
    data, socket_dir = workdir / "data", workdir / "socket"
    socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(socket_dir, "postgres")
    run = lambda command: subprocess.run(as_postgres_user(command), check=True, capture_output=True, text=True)
    try:
        run([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale=C.UTF-8"])
        run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(workdir / "server.log"), "-w", "start",
             "-o", f"-p {PORT} -k {socket_dir} -c listen_addresses='' -c fsync=off -c full_page_writes=off"])
        run([str(binaries / "createdb"), "-h", str(socket_dir), "-p", PORT, "-U", "postgres", "training_test"])
        url = f"postgresql+psycopg://postgres@/training_test?host={socket_dir}&port={PORT}"
        suites = [suite for suite in SUITES if Path(suite).exists()]
        print(f"PostgreSQL suites on a throw-away cluster: {' '.join(suites)}", flush=True)
        return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *suites,
                                "-m", "not browser"], env={**os.environ, "TEST_DATABASE_URL": url})
    finally:
        subprocess.run(as_postgres_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
