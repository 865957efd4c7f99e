"""SQL queries per page and time per page: the mentor's sign-off queue and the unit-load page.

Two databases are bulk-seeded in the same run: a small one (400 staff, 30 cadets, 5,000 logbook
entries) and the full one (4,000 staff, 300 cadets, 50,000 logbook entries, with sign-offs,
requests and placements in proportion). Each page is fetched through the real app as a signed-in
user, and a ``before_cursor_execute`` listener counts the statements it sends. The counts must be
equal for both sizes (no query per row), and small: this is asserted on every run. With
``--benchmark-enable`` each page is also timed on the full data and the figures are printed:

    .venv/bin/pytest tests/benchmarks/test_mentoring_queries.py --benchmark-enable -q -s
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from flask import Flask
from sqlalchemy import event, insert
from werkzeug.security import generate_password_hash

from lms_plugin import create_app
from lms_plugin.core.base import Base
from lms_plugin.core.people import Institution, Role, TrainingUnit, User
from lms_plugin.extensions import db
from lms_plugin.practice.models import (
    LogbookEntry,
    MentorProfile,
    Placement,
    PracticeTask,
    RequestStatus,
    SignOff,
    SignOffOutcome,
    SignOffRequest,
)
from tests.conftest import csrf_token, freeze_service_day

TODAY = dt.date(2026, 11, 23)
PASSWORD = "Benchmark-2026"
SIZES = {"small": (400, 30, 5_000), "full": (4_000, 300, 50_000)}
RESULTS: dict[str, dict[str, Any]] = {}


def enabled(config: pytest.Config) -> bool:
    return bool(not config.getoption("benchmark_disable") or config.getoption("benchmark_enable"))


@dataclass
class Dataset:
    app: Flask
    mentor: str
    pending_for_mentor: int
    entries: int


def seed(url: str, staff: int, cadets: int, entries: int) -> tuple[str, int]:
    """Bulk-insert a service of this size; return a busy mentor's username and their pending requests."""
    rng = random.Random(20261123)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    now = dt.datetime(2026, 11, 23, 8, tzinfo=dt.timezone.utc)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        session = db.session
        session.execute(insert(Institution), [
            {"id": i, "code": f"I{i}", "kind": "correction_house", "name_en": f"Institution {i}", "name_lt": f"Įstaiga {i}",
             "city": "Vilnius"} for i in range(1, 11)])
        units = 40
        session.execute(insert(TrainingUnit), [
            {"id": u, "institution_id": 1 + u % 10, "code": f"U-{u}", "name_en": f"Unit {u}", "name_lt": f"Padalinys {u}",
             "address": f"Gatvė {u}", "contact_name": "Kontaktas", "contact_phone": "+370", "contact_email": "u@x.lt"}
            for u in range(1, units + 1)])
        mentors = staff // 7  # about one in seven staff members mentors
        users = [{"id": n, "username": f"staff.{n}", "full_name": f"Staff Member {n:05d}", "password_hash": password_hash,
                  "role": (Role.MENTOR if n <= mentors else Role.ASSESSOR).value, "unit_id": 1 + n % units,
                  "email": "", "active": True, "created_at": now} for n in range(1, staff + 1)]
        users += [{"id": staff + c, "username": f"cadet.{c}", "full_name": f"Cadet {c:04d}",
                   "password_hash": password_hash, "role": Role.CADET.value, "unit_id": None, "email": "",
                   "active": True, "created_at": now} for c in range(1, cadets + 1)]
        users.append({"id": staff + cadets + 1, "username": "admin", "full_name": "Admin", "password_hash": password_hash,
                      "role": Role.ADMIN.value, "unit_id": None, "email": "", "active": True, "created_at": now})
        session.execute(insert(User), users)
        session.execute(insert(MentorProfile), [
            {"user_id": n, "capacity": 3, "accreditation_expires_on": TODAY + dt.timedelta(days=rng.randint(-30, 900))}
            for n in range(1, mentors + 1)])
        # Every cadet: a finished first placement and a current one, two cadets per mentor at a time.
        placements, current_of = [], {}
        for c in range(1, cadets + 1):
            cadet_id, mentor_id = staff + c, 1 + (c - 1) // 2 % mentors
            placements.append({"id": 2 * c - 1, "cadet_id": cadet_id, "mentor_id": 1 + (c + 7) % mentors,
                               "unit_id": 1 + c % units, "starts_on": dt.date(2026, 9, 7), "ends_on": dt.date(2026, 10, 2),
                               "created_at": now, "change_reason": ""})
            placements.append({"id": 2 * c, "cadet_id": cadet_id, "mentor_id": mentor_id, "unit_id": 1 + mentor_id % units,
                               "starts_on": dt.date(2026, 10, 5), "ends_on": dt.date(2026, 12, 18), "created_at": now,
                               "change_reason": ""})
            current_of[cadet_id] = 2 * c
        session.execute(insert(Placement), placements)
        session.execute(insert(PracticeTask), [{"id": t, "code": f"PT-{t:02d}", "title_en": f"Task {t}",
                                                "title_lt": f"Užduotis {t}", "description_en": "", "description_lt": ""}
                                               for t in range(1, 21)])
        rows, signoffs, requests = [], [], []
        for e in range(1, entries + 1):
            cadet_id = staff + 1 + (e - 1) % cadets
            performed = dt.date(2026, 10, 5) + dt.timedelta(days=rng.randint(0, 48))
            rows.append({"id": e, "cadet_id": cadet_id, "placement_id": current_of[cadet_id], "task_id": 1 + e % 20,
                         "performed_on": performed, "location": "Sektorius", "description": "Atlikau užduotį.",
                         "reflection": "Pavyko.", "created_at": now})
            roll = rng.random()
            if roll < 0.4:
                signoffs.append({"id": len(signoffs) + 1, "entry_id": e, "cadet_id": cadet_id, "task_id": 1 + e % 20,
                                 "signer_id": 1, "signer_role": "mentor", "comment": "",
                                 "outcome": (SignOffOutcome.ACHIEVED if roll < 0.32 else SignOffOutcome.NOT_YET).value,
                                 "signed_at": now, "correction_reason": "", "chain_seq": None})
            elif roll < 0.43:
                requests.append({"entry_id": e, "cadet_id": cadet_id, "placement_id": current_of[cadet_id],
                                 "status": RequestStatus.PENDING.value, "message": "Prašau.",
                                 "requested_at": now - dt.timedelta(days=rng.randint(0, 20))})
        session.execute(insert(LogbookEntry), rows)
        session.execute(insert(SignOff), signoffs)
        session.execute(insert(SignOffRequest), requests)
        session.commit()
        mentor_id = 1
        mine = {staff + c for c in range(1, cadets + 1) if 1 + (c - 1) // 2 % mentors == mentor_id}
        pending = sum(1 for r in requests if r["cadet_id"] in mine)
        db.engine.dispose()
    return f"staff.{mentor_id}", pending


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Dataset]]:
    found = {}
    for name, (staff, cadets, entries) in SIZES.items():
        url = f"sqlite:///{tmp_path_factory.mktemp('bench') / f'{name}.sqlite3'}"
        started = time.perf_counter()
        mentor, pending = seed(url, staff, cadets, entries)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
        found[name] = Dataset(app, mentor, pending, entries)
        RESULTS.setdefault("seed", {})[name] = time.perf_counter() - started
    yield found
    for dataset in found.values():
        with dataset.app.app_context():
            db.engine.dispose()


def signed_in(app: Flask, username: str) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return client


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_service_day(monkeypatch, TODAY)


def count_queries(app: Flask, client: Any, path: str) -> tuple[int, str]:
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return len([s for s in statements if not s.startswith(("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK"))]), \
        response.get_data(as_text=True)


PAGES = {"mentor queue": ("mentor", "/mentoring/queue"), "unit load": ("admin", "/units/")}


@pytest.mark.parametrize("page", list(PAGES))
def test_queries_per_page_do_not_grow_with_the_data(datasets: dict[str, Dataset], page: str,
                                                    benchmark: Any, request: pytest.FixtureRequest) -> None:
    who, path = PAGES[page]
    counts, sizes = {}, {}
    for name, dataset in datasets.items():
        client = signed_in(dataset.app, dataset.mentor if who == "mentor" else "admin")
        counts[name], html = count_queries(dataset.app, client, path)
        if page == "mentor queue":
            sizes[name] = html.count('class="card queue-item"')
            assert sizes[name] == dataset.pending_for_mentor > 0
        else:
            sizes[name] = html.count("Staff Member")  # every mentor, under their home unit
    assert counts["small"] == counts["full"], (page, counts)
    assert counts["full"] <= 12, counts
    full = datasets["full"]
    client = signed_in(full.app, full.mentor if who == "mentor" else "admin")
    timings: list[float] = []

    def fetch() -> None:
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200

    benchmark.pedantic(fetch, rounds=20 if benchmark.enabled else 1, warmup_rounds=1 if benchmark.enabled else 0)
    benchmark.extra_info.update(queries=counts["full"], rows=sizes)
    RESULTS[page] = {"queries": counts, "rows": sizes, "median_ms": 1000 * statistics.median(timings),
                     "max_ms": 1000 * max(timings)}


def test_print_figures(request: pytest.FixtureRequest) -> None:
    """Runs last in this module: the figures, when benchmarks are enabled."""
    if not enabled(request.config) or not RESULTS:
        pytest.skip("figures only with --benchmark-enable")
    lines = ["", "Mentoring pages: SQL statements per page (small / full data) and time on the full data"]
    for page in PAGES:
        if page in RESULTS:
            row = RESULTS[page]
            lines.append(f"  {page:<13} queries {row['queries']['small']:>2} / {row['queries']['full']:>2}   "
                         f"mentors or requests shown {row['rows']['small']} / {row['rows']['full']}   "
                         f"median {row['median_ms']:.1f} ms, max {row['max_ms']:.1f} ms")
    seed_times = RESULTS.get("seed", {})
    lines.append("  seeding: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in seed_times.items()))
    print("\n".join(lines))
