"""Answer autosave throughput: many concurrent sittings against the real app, served by waitress.

Two servers run in subprocesses on free localhost ports, both under waitress with the same
number of threads: the application (SQLite in a temporary folder, WAL, schema built by the
migrations) and a bare Flask app with a trivial JSON endpoint of the same shape. The same
client — one thread and one keep-alive connection per sitting, all released together — posts
answers to each. Reported: requests per second, latency percentiles, and the ratios.

The project runs pytest with ``--benchmark-disable``; then only the smoke version runs
(20 sittings × 6 answers), checking that every answer was stored exactly once. The figures
come from

    .venv/bin/pytest tests/benchmarks/test_autosave_throughput.py --benchmark-enable -s

(200 sittings answering all 64 items each, as a whole intake would). Every loop is bounded,
every socket has a timeout, and only 127.0.0.1 is used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Benchmark-2026"
SECRET = "autosave-benchmark-secret"
THREADS = 8  # waitress worker threads, as `make run` serves
TIMEOUT = 60.0
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
RESULTS: dict[str, "LoadResult"] = {}


def enabled(config: pytest.Config) -> bool:
    return bool(not config.getoption("benchmark_disable") or config.getoption("benchmark_enable"))


# --------------------------------------------------------------------------- servers

APP_SERVER = """
import sys
from waitress import serve
from lms_plugin import create_app
serve(create_app(), host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[2]),
      connection_limit=1000, channel_timeout=120, _quiet=True)
"""

BARE_SERVER = """
import sys
from flask import Flask, jsonify, request
from waitress import serve

app = Flask("bare")


@app.post("/api/sittings/<int:sitting_id>/answers")
def save(sitting_id):
    body = request.get_json()
    return jsonify(saved=True, item_id=body["item_id"], value=body["value"], answered=1)


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[2]),
      connection_limit=1000, channel_timeout=120, _quiet=True)
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(source: str, env: dict[str, str], log: Path) -> Iterator[int]:
    """Run a waitress server from ``source`` in a subprocess; yield its port once /healthz answers.

    The server's output goes to ``log`` (a pipe nobody reads could fill up and stall the server).
    """
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-c", source, str(port), str(THREADS)], cwd=ROOT,
                                   env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    connection.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


# --------------------------------------------------------------------------- a small browser


class Browser:
    """One keep-alive connection with its own cookies: one person at one computer."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self.connection.request(method, path, body=body, headers=sent)
        response = self.connection.getresponse()
        data = response.read()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, data

    def form(self, path: str, fields: dict[str, str]) -> tuple[int, http.client.HTTPMessage, bytes]:
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def token(self, path: str) -> str:
        status, _, data = self.request("GET", path)
        match = CSRF.search(data.decode())
        assert status == 200 and match, (path, status)
        return match.group(1) or match.group(2)

    def close(self) -> None:
        self.connection.close()


@dataclass
class Sitter:
    """A signed-in cadet with a started sitting, ready to autosave."""

    browser: Browser
    sitting_id: int
    token: str
    answers: list[tuple[str, str]]
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def sign_in_and_start(port: int, username: str, assignment_id: int, answers: list[tuple[str, str]]) -> Sitter:
    browser = Browser(port)
    token = browser.token("/login")
    status, headers, _ = browser.form("/login", {"csrf_token": token, "username": username, "password": PASSWORD})
    assert status == 302, (username, status)
    token = browser.token(f"/tests/{assignment_id}")
    status, headers, _ = browser.form(f"/tests/{assignment_id}/start", {"csrf_token": token})
    assert status == 302, (username, status)
    sitting_id = int(headers["Location"].rstrip("/").rsplit("/", 1)[1])
    return Sitter(browser, sitting_id, token, answers)


def autosave_all(sitter: Sitter, barrier: threading.Barrier) -> None:
    """Post every answer as the page's script does, timing each request."""
    barrier.wait(timeout=TIMEOUT)
    for position, (item_id, value) in enumerate(sitter.answers):
        body = json.dumps({"item_id": item_id, "value": value, "position": position}).encode()
        started = time.perf_counter()
        try:
            status, _, data = sitter.browser.request(
                "POST", f"/api/sittings/{sitter.sitting_id}/answers", body,
                {"Content-Type": "application/json", "X-CSRFToken": sitter.token})
        except (OSError, http.client.HTTPException) as error:
            sitter.errors.append(f"{item_id}: {error!r}")
            sitter.browser.connection.close()  # start the next request on a fresh connection
            continue
        sitter.latencies.append(time.perf_counter() - started)
        if status != 200 or not json.loads(data).get("saved"):
            sitter.errors.append(f"{item_id}: HTTP {status} {data[:200]!r}")


@dataclass(frozen=True)
class LoadResult:
    name: str
    requests: int
    seconds: float
    latencies: tuple[float, ...]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run_load(name: str, sitters: list[Sitter]) -> LoadResult:
    """All sitters at once, each on its own thread; the clock runs from the common start to the last answer."""
    barrier = threading.Barrier(len(sitters) + 1)
    threads = [threading.Thread(target=autosave_all, args=(sitter, barrier), daemon=True) for sitter in sitters]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=TIMEOUT)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
        assert not thread.is_alive(), "a client thread did not finish within 10 minutes"
    elapsed = time.perf_counter() - started
    errors = [error for sitter in sitters for error in sitter.errors]
    assert not errors, (len(errors), errors[:3])
    latencies = tuple(value for sitter in sitters for value in sitter.latencies)
    result = LoadResult(name, len(latencies), elapsed, latencies)
    RESULTS[name] = result
    return result


# --------------------------------------------------------------------------- the database


@dataclass(frozen=True)
class Prepared:
    database_url: str
    assignment_id: int
    usernames: list[str]
    answers: dict[str, list[tuple[str, str]]]


def prepare_database(folder: Path, n_people: int, n_answers: int) -> Prepared:
    """A migrated SQLite database with one cohort of ``n_people`` cadets and the instrument assigned."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    import lms_plugin.core.people as people_model
    from lms_plugin import create_app
    from lms_plugin.core.base import utcnow
    from lms_plugin.core.people import Role
    from lms_plugin.extensions import db
    from lms_plugin.instruments import instrument_definition
    from lms_plugin.people.operations import create_user
    from lms_plugin.practice.operations import placements as organisation
    from lms_plugin.testing import operations as assessments

    url = f"sqlite:///{folder / 'autosave.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    # A fast password hash for the benchmark's own accounts: signing in is not what is measured.
    cheap = functools.partial(generate_password_hash, method="pbkdf2:sha256:1000")
    original = people_model.generate_password_hash
    people_model.generate_password_hash = cheap  # type: ignore[assignment]
    try:
        with app.app_context():
            upgrade()
            session = db.session
            cohort = organisation.upsert_cohort(session, code="BENCH", name_en="Benchmark intake",
                                                name_lt="Bandomoji laida", starts_on=dt.date(2026, 9, 1))
            usernames = [f"bench.{index:03d}" for index in range(n_people)]
            for username in usernames:
                create_user(session, username=username, full_name=f"Kursantas {username}", role=Role.CADET,
                            password=PASSWORD, cohort=cohort)
            record = assessments.register_instrument(session, instrument_definition("staff_competence"))
            now = utcnow()
            assignment = assessments.assign_instrument(session, None, record=record, cohort_id=cohort.id,
                                                       opens_at=now - dt.timedelta(hours=1),
                                                       closes_at=now + dt.timedelta(days=1))
            session.commit()
            instrument = assessments.instrument_of(record)
            items = instrument.items[:n_answers]
            answers = {}
            for index, username in enumerate(usernames):
                chosen = [(item.id, item.options[(index + j) % len(item.options)].key) for j, item in enumerate(items)]
                # The first item is answered again at the end, differently: the latest answer must win.
                first = items[0]
                chosen.append((first.id, first.options[(index + 1) % len(first.options)].key))
                answers[username] = chosen
            assignment_id = assignment.id
            db.session.remove()
            db.engine.dispose()
    finally:
        people_model.generate_password_hash = original  # type: ignore[assignment]
    return Prepared(url, assignment_id, usernames, answers)


def stored_answers(prepared: Prepared) -> dict[int, list[tuple[str, str]]]:
    from lms_plugin import create_app
    from lms_plugin.extensions import db
    from lms_plugin.testing.models import Answer

    app = create_app({"SQLALCHEMY_DATABASE_URI": prepared.database_url, "SECRET_KEY": SECRET})
    with app.app_context():
        rows = db.session.execute(select(Answer.sitting_id, Answer.item_id, Answer.value)
                                  .order_by(Answer.sitting_id, Answer.id)).all()
        duplicates = db.session.execute(select(Answer.sitting_id, Answer.item_id, func.count(Answer.id))
                                        .group_by(Answer.sitting_id, Answer.item_id)
                                        .having(func.count(Answer.id) > 1)).all()
        db.session.remove()
        db.engine.dispose()
    assert not duplicates, duplicates[:5]
    stored: dict[int, list[tuple[str, str]]] = {}
    for sitting_id, item_id, value in rows:
        stored.setdefault(sitting_id, []).append((item_id, value))
    return stored


# --------------------------------------------------------------------------- the measurement


def measure(tmp_path: Path, n_people: int, n_answers: int) -> tuple[LoadResult, LoadResult]:
    prepared = prepare_database(tmp_path, n_people, n_answers)
    env = {"DATABASE_URL": prepared.database_url, "SECRET_KEY": SECRET}
    with served(APP_SERVER, env, tmp_path / "app-server.log") as port:
        sitters = []
        for username in prepared.usernames:  # signing in is set-up, not measured
            sitters.append(sign_in_and_start(port, username, prepared.assignment_id, prepared.answers[username]))
        try:
            app_result = run_load("app", sitters)
        finally:
            for sitter in sitters:
                sitter.browser.close()

    # Every answer stored exactly once, with the latest value, in the sitting it was sent to.
    stored = stored_answers(prepared)
    assert len(stored) == n_people
    for sitter in sitters:
        expected = dict(sitter.answers)  # the re-answered first item keeps its latest value
        assert dict(stored[sitter.sitting_id]) == expected
        assert len(stored[sitter.sitting_id]) == len(expected) == n_answers

    with served(BARE_SERVER, {}, tmp_path / "bare-server.log") as port:
        bare = [Sitter(Browser(port), index + 1, "", prepared.answers[username])
                for index, username in enumerate(prepared.usernames)]
        try:
            bare_result = run_load("bare Flask", bare)
        finally:
            for sitter in bare:
                sitter.browser.close()
    return app_result, bare_result


def report(config: pytest.Config, app_result: LoadResult, bare_result: LoadResult, n_people: int) -> None:
    lines = [
        "",
        f"answer autosave, {n_people} concurrent sittings, waitress with {THREADS} threads each, localhost",
        f"{'server':12} {'requests':>9} {'seconds':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}",
    ]
    for result in (app_result, bare_result):
        lines.append(f"{result.name:12} {result.requests:9d} {result.seconds:8.2f} {result.per_second:8.1f} "
                     f"{1000 * result.percentile(0.5):8.1f} {1000 * result.percentile(0.95):8.1f} "
                     f"{1000 * result.percentile(0.99):8.1f}")
    latency_ratio = statistics.median(app_result.latencies) / statistics.median(bare_result.latencies)
    lines.append(f"bare / app throughput: {bare_result.per_second / app_result.per_second:.2f}x; "
                 f"median latency app / bare: {latency_ratio:.2f}x")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)


def test_autosave_smoke_every_answer_stored_exactly_once(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Always runs: 20 concurrent sittings against the real server; nothing lost, nothing doubled."""
    app_result, bare_result = measure(tmp_path, n_people=20, n_answers=5)
    assert app_result.requests == bare_result.requests == 20 * 6
    if enabled(request.config):
        report(request.config, app_result, bare_result, 20)


def test_autosave_throughput_200_concurrent_sittings(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A whole intake at once: 200 sittings answering all 64 items, against a bare Flask endpoint."""
    if not enabled(request.config):
        pytest.skip("the full autosave benchmark runs with --benchmark-enable")
    app_result, bare_result = measure(tmp_path, n_people=200, n_answers=64)
    assert app_result.requests == 200 * 65
    report(request.config, app_result, bare_result, 200)
