"""Big framework imports and discards: set-based, and on the job runner in committed batches
(huey's immediate mode in tests), with a job page, a JSON status, and nothing left after a failure."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import event, func, select

from competency_framework.interchange import Format, export_framework
from competency_framework.models import Competency, Framework, FrameworkStatus, RoleRequirement
from competency_framework.operations import current_framework
from lms_plugin.extensions import db
from lms_plugin.framework import operations as ops
from lms_plugin.jobs.models import Job, JobStatus
from tests.conftest import csrf_token
from tests.web.test_framework_pages import competency, moodle


def count(database, model, *where) -> int:
    return database.session.scalar(select(func.count()).select_from(model).where(*where))


@contextmanager
def statements(database) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def big_moodle(nodes: int, code: str = "BIG") -> bytes:
    """A valid Moodle CSV: areas of 20 competencies, three levels deep."""
    rows = []
    for a in range(nodes // 21 + 1):
        rows.append(competency("", f"A{a}"))
        rows.extend(competency(f"A{a}", f"A{a}.C{c}") for c in range(20))
    return moodle(*rows[:nodes], code=code)


@pytest.fixture()
def run_as_jobs(app):
    """Every import and discard goes to the job runner, however small."""
    saved = app.config["JOBS_INLINE_MAX_BYTES"], app.config["JOBS_INLINE_MAX_NODES"]
    app.config["JOBS_INLINE_MAX_BYTES"], app.config["JOBS_INLINE_MAX_NODES"] = 0, 0
    yield
    app.config["JOBS_INLINE_MAX_BYTES"], app.config["JOBS_INLINE_MAX_NODES"] = saved


def test_discarding_a_draft_deletes_its_nodes_set_based_not_one_by_one(database):
    published = current_framework(database.session, "LKT-PAR")
    draft = ops.new_draft(database.session, None, published)
    database.session.commit()
    nodes = count(database, Competency, Competency.framework_id == draft.id)
    assert nodes > 20
    with statements(database) as sent:
        ops.discard(database.session, None, draft)
        database.session.commit()
    node_deletes = [s for s in sent if re.match(r"\s*DELETE FROM competencies\b", s)]
    assert 1 <= len(node_deletes) <= 2, f"{len(node_deletes)} DELETE statements for {nodes} nodes"
    assert count(database, Competency, Competency.framework_id == draft.id) == 0
    assert database.session.get(Framework, draft.id) is None


def test_an_import_inserts_nodes_with_a_statement_per_level_not_per_node(database):
    data = big_moodle(300)
    with statements(database) as sent:
        report = ops.import_file(database.session, None, data, format=Format.MOODLE)
        database.session.commit()
    inserts = [s for s in sent if re.match(r"\s*INSERT INTO competencies\b", s)]
    assert report.nodes == 300
    assert len(inserts) <= 3, f"{len(inserts)} INSERT statements for 300 nodes"
    framework = report.framework
    assert [node.sort_order for node in framework.nodes] == list(range(1, 301))
    assert framework.nodes[1].parent is framework.nodes[0]


def test_a_big_import_runs_as_a_job_and_its_page_reports_the_result(client, login_as, database, run_as_jobs):
    admin = login_as("admin")
    token = csrf_token(client, "/framework/import")
    response = client.post("/framework/import", data={
        "csrf_token": token, "format": "", "scale": "", "file": (io.BytesIO(big_moodle(120)), "big.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    match = re.search(r"/jobs/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    job_id = int(match.group(1))
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["status"] == "done" and status["done"] == status["total"] == 120
    framework = database.session.scalar(select(Framework).where(Framework.code == "BIG"))
    assert framework.status is FrameworkStatus.DRAFT and len(framework.nodes) == 120
    assert status["next_url"].endswith(f"/framework/{framework.id}")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Imported 120 nodes and 0 role profiles as draft version 1 of BIG" in page
    assert database.session.get(Job, job_id).created_by_id == admin.id


def test_a_bad_file_fails_the_job_naming_row_and_column_and_changes_nothing(client, login_as, database,
                                                                            run_as_jobs):
    login_as("admin")
    token = csrf_token(client, "/framework/import")
    frameworks, nodes = count(database, Framework), count(database, Competency)
    data = moodle(competency("", "A"), competency("A", "B"), competency("NOPE", "C"))
    response = client.post("/framework/import", data={
        "csrf_token": token, "format": "moodle", "file": (io.BytesIO(data), "bad.csv")},
        content_type="multipart/form-data")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["status"] == "failed"
    assert {"row": 5, "column": "Parent ID number", "problem": "unknown parent 'NOPE'"}.items() <= \
        status["problems"][0].items()
    cells = re.sub(r">\s+<", "><", client.get(f"/jobs/{job_id}").get_data(as_text=True))
    assert "<td>5</td><td>Parent ID number</td><td>unknown parent &#39;NOPE&#39;</td>" in cells
    assert (count(database, Framework), count(database, Competency)) == (frameworks, nodes)


def test_an_import_failing_after_committed_batches_removes_what_it_wrote(client, login_as, database, run_as_jobs,
                                                                        monkeypatch):
    from lms_plugin.framework import jobs as framework_jobs

    login_as("admin")
    token = csrf_token(client, "/framework/import")
    frameworks, nodes = count(database, Framework), count(database, Competency)
    calls = []

    def broken_progress(job_id, done, total):
        calls.append(done)
        if len(calls) == 2:  # the first level's batch is committed by now
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(framework_jobs.runner, "progress", broken_progress)
    response = client.post("/framework/import", data={
        "csrf_token": token, "format": "moodle", "file": (io.BytesIO(big_moodle(60)), "big.csv")},
        content_type="multipart/form-data")
    job = database.session.get(Job, int(response.headers["Location"].rsplit("/", 1)[1]))
    database.session.refresh(job)
    assert job.status is JobStatus.FAILED and "the disk is full" in job.problems[0]["problem"]
    assert (count(database, Framework), count(database, Competency)) == (frameworks, nodes)


def test_a_big_discard_hides_the_draft_then_removes_it_as_a_job(client, login_as, database, run_as_jobs):
    login_as("admin")
    published = current_framework(database.session, "LKT-PAR")
    draft = ops.new_draft(database.session, None, published)
    database.session.commit()
    draft_id = draft.id
    token = csrf_token(client, f"/framework/{draft_id}")
    response = client.post(f"/framework/{draft_id}/discard", data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    status = client.get(response.headers["Location"] + "/status").get_json()
    assert status["status"] == "done" and status["done"] == status["total"] > 0
    database.session.expire_all()
    assert database.session.get(Framework, draft_id) is None
    assert count(database, Competency, Competency.framework_id == draft_id) == 0
    assert count(database, RoleRequirement) > 0  # the published version's requirements stay


def test_a_version_being_processed_is_invisible(client, login_as, database):
    login_as("admin")
    published = current_framework(database.session, "LKT-PAR")
    draft = ops.new_draft(database.session, None, published)
    ops.begin_discard(database.session, None, draft)
    database.session.commit()
    assert client.get(f"/framework/{draft.id}").status_code == 404
    assert f"/framework/{draft.id}\"" not in client.get("/framework/").get_data(as_text=True)
    with pytest.raises(Exception, match="already has a draft"):
        ops.new_draft(database.session, None, published)


def test_the_command_line_import_still_works(app, database, tmp_path):
    from lms_plugin.framework.cli import framework_cli

    path = tmp_path / "fw.csv"
    path.write_bytes(big_moodle(50, code="CLI"))
    result = app.test_cli_runner().invoke(framework_cli, ["import", str(path), "--format", "moodle"])
    assert result.exit_code == 0, result.output
    framework = database.session.scalar(select(Framework).where(Framework.code == "CLI"))
    assert framework is not None and len(framework.nodes) == 50
    assert export_framework(framework, Format.MOODLE)
