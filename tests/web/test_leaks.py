"""What a person must not learn or keep: whether others' sittings exist, cached personal pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import Sitting, TestAssignment


@pytest.fixture()
def submitted(database, user) -> Sitting:
    cadet = user("cadet.01")
    assignment = database.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
    sitting = assessments.start_or_resume(database.session, cadet, assignment)
    assessments.submit(database.session, cadet, sitting)
    database.session.commit()
    return sitting


@pytest.mark.parametrize("suffix", ["", "/review", "/results", "/chart.png"])
@pytest.mark.parametrize("username", ["cadet.07", "mentor.ona"])
def test_another_persons_sitting_looks_the_same_as_a_missing_one(client, login_as, database, submitted, suffix,
                                                                 username):
    login_as(username)
    missing_id = database.session.scalar(select(func.max(Sitting.id))) + 1000
    theirs = client.get(f"/sittings/{submitted.id}{suffix}")
    missing = client.get(f"/sittings/{missing_id}{suffix}")
    assert theirs.status_code == missing.status_code == 404
    # the pages differ only in the address itself (the language switch returns to it)
    assert theirs.get_data(as_text=True).replace(f"/sittings/{submitted.id}", "/sittings/N") == \
        missing.get_data(as_text=True).replace(f"/sittings/{missing_id}", "/sittings/N")


@pytest.mark.parametrize("path", ["/dashboard", "/practice/"])
def test_pages_with_personal_data_are_not_stored(client, login_as, path):
    login_as("cadet.01")
    response = client.get(path)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached_and_pages_for_visitors_need_no_no_store(client, login_as):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login_as("cadet.01")
    static = client.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
