"""What a new user found walking the product in Lithuanian: English words, a sign button that said
"approve", a dead link, names out of alphabetical order, UTC times, a half-drawn chart, counts that
disagreed, an unconfirmed publish, lost links to earlier results and a demo cadet with nothing to sign."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text
from openpyxl import load_workbook
from sqlalchemy import select

from lms_plugin.core.collation import sort_key, sorted_lt
from lms_plugin.core.people import Cohort, Role, User
from lms_plugin.demo_data import load_demo
from lms_plugin.practice.models import PanelCase, PracticeReview, RequestStatus, SignOffRequest
from lms_plugin.practice.operations import oversight
from lms_plugin.testing import operations as assessments
from lms_plugin.testing.models import Sitting, SittingStatus, TestAssignment
from lms_plugin.web import charts
from lms_plugin.web.excel import timestamp
from tests.conftest import TEST_TODAY, csrf_token
from tests.untranslated import english_on_page, visible_text

LITHUANIAN_NAMES = ["Viktorija Žukauskaitė", "Ąžuolas Ūsas", "Zigmas Šimkus", "Žydrūnas Čepas", "Cukras Ąžuolas",
                    "Čepas Ąžuolas", "Šarūnas Ėglė", "Sigitas Ęla", "Yla Įveta", "Ieva Ųla", "Dainius Ūla"]
EXPECTED_ORDER = ["Ąžuolas Ūsas", "Cukras Ąžuolas", "Čepas Ąžuolas", "Dainius Ūla", "Ieva Ųla", "Yla Įveta",
                  "Sigitas Ęla", "Šarūnas Ėglė", "Viktorija Žukauskaitė", "Zigmas Šimkus", "Žydrūnas Čepas"]


@pytest.fixture()
def lithuanian(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "lt"
    return client


def _workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return load_workbook(io.BytesIO(response.data))


# --------------------------------------------------------------------------- untranslated words

def test_the_catalogue_scan_flags_english_left_on_a_lithuanian_page():
    assert english_on_page("Mano kursantai. Sign-off requests waiting for you") == ["Sign-off requests waiting for you"]
    assert english_on_page("Laukiantys patvirtinimo prašymai") == []


@pytest.mark.parametrize("username, paths", [
    ("cadet.01", ["/dashboard", "/practice/", "/people/{me}/competencies"]),
    ("mentor.jonas", ["/dashboard", "/mentoring/queue", "/cadets/{cadet01}", "/cadets/{cadet01}/timeline"]),
    ("admin", ["/dashboard", "/units/", "/units/mentors", "/units/placements", "/units/placements/new",
               "/tests/admin/", "/tests/admin/assignments/new", "/framework/"]),
    ("assessor", ["/dashboard", "/progression/"]),
    ("psychologist", ["/dashboard", "/psychology/"]),
])
def test_main_pages_of_each_role_show_no_english_catalogue_words_in_lithuanian(lithuanian, login_as, user,
                                                                              username, paths):
    me = login_as(username)
    for path in paths:
        path = path.format(me=me.id, cadet01=user("cadet.01").id)
        response = lithuanian.get(path)
        assert response.status_code == 200, path
        assert english_on_page(visible_text(response.get_data(as_text=True))) == [], path


def test_mentor_choices_name_the_capacity_in_lithuanian(lithuanian, login_as):
    login_as("admin")
    text = visible_text(lithuanian.get("/units/placements/new").get_data(as_text=True))
    assert "capacity" not in text
    assert re.search(r"iki \d+ kursantų", text)


def test_the_norm_group_is_named_not_shown_by_its_key(lithuanian, login_as, user, database):
    login_as("admin")
    form = lithuanian.get("/tests/admin/assignments/new").get_data(as_text=True)
    assert re.search(r'<option[^>]*value="cadets"[^>]*>kursantai</option>', form)
    rules = visible_text(lithuanian.get("/tests/admin/").get_data(as_text=True))
    assert "normatyvinė grupė: kursantai" in rules.lower() and not re.search(r"\bcadets\b", rules)


def test_role_profiles_are_shown_by_title_not_code(lithuanian, login_as, database, user):
    from competency_framework.operations import current_framework

    login_as("admin")
    framework = current_framework(database.session, "LKT-PAR")
    roles = visible_text(lithuanian.get(f"/framework/{framework.id}/roles").get_data(as_text=True))
    header = roles.split("Kompetencija", 1)[1][:600]
    assert all(profile.title_lt in header and profile.code not in header for profile in framework.role_profiles)
    cohort = user("cadet.01").cohort
    workbook = _workbook(lithuanian.get(f"/reports/cohorts/{cohort.id}/gaps.xlsx"))
    gaps = workbook[workbook.sheetnames[0]]
    header = [cell.value for cell in gaps[1]]
    roles_column = [row[header.index("Pareigybės kompetencijų profilis")] for row in
                    gaps.iter_rows(min_row=2, values_only=True)]
    titles = {profile.title_lt for profile in framework.role_profiles}
    assert roles_column and all(value in titles for value in roles_column), roles_column


def test_workbook_sheets_are_named_in_lithuanian_and_the_about_sheet_names_them_as_they_are(lithuanian, login_as,
                                                                                           user):
    login_as("admin")
    cohort = user("cadet.01").cohort
    for path in (f"/reports/cohorts/{cohort.id}.xlsx", f"/reports/cohorts/{cohort.id}/gaps.xlsx"):
        workbook = _workbook(lithuanian.get(path))
        assert "About" not in workbook.sheetnames and workbook.sheetnames[-1] == "Apie", path
    about = workbook["Apie"]
    named = [match for row in about.iter_rows(values_only=True) for value in row if isinstance(value, str)
             for match in re.findall(r"lapo „([^“]+)“", value)]
    assert named and set(named) <= set(workbook.sheetnames), (named, workbook.sheetnames)


def test_item_analysis_uses_one_lithuanian_abbreviation_for_the_standard_error(lithuanian, login_as, database):
    from lms_plugin.testing.models import InstrumentRecord

    login_as("psychologist")
    record = database.session.scalar(select(InstrumentRecord))
    page = visible_text(lithuanian.get(f"/psychology/instruments/{record.id}/items").get_data(as_text=True))
    assert "SMP" in page and "SEM" not in page
    workbook = _workbook(lithuanian.get(f"/psychology/instruments/{record.id}/items.xlsx"))
    cells = " ".join(str(value) for sheet in workbook for row in sheet.iter_rows(values_only=True)
                     for value in row if value)
    assert "SMP" in cells and "SEM" not in cells


# --------------------------------------------------------------------------- signing wording and links

def test_the_mentor_signs_with_sign_wording_even_for_not_yet(lithuanian, login_as, database, user):
    login_as("mentor.jonas")
    cadet = user("cadet.01")
    page = lithuanian.get(f"/cadets/{cadet.id}").get_data(as_text=True)
    assert ">Pasirašyti</button>" in page and ">Patvirtinti</button>" not in page
    request = database.session.scalar(select(SignOffRequest).where(SignOffRequest.cadet_id == cadet.id,
                                                                   SignOffRequest.status == RequestStatus.PENDING))
    token = csrf_token(lithuanian, "/mentoring/queue")
    done = lithuanian.post(f"/mentoring/requests/{request.id}/sign", follow_redirects=True,
                           data={"csrf_token": token, f"q{request.id}-outcome": "not_yet",
                                 f"q{request.id}-comment": "Dar kartą kitą savaitę."})
    assert "Pasirašyta:" in done.get_data(as_text=True) and "Patvirtinta:" not in done.get_data(as_text=True)


def test_a_mentor_sees_no_link_to_a_review_panel_case_he_may_not_open(client, login_as, database):
    case = database.session.scalars(select(PanelCase)).first()
    review = database.session.get(PracticeReview, case.review_id)
    mentor = review.signer
    login_as(mentor.username)
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert f"Review panel case #{case.id}" in page
    for link in re.findall(r'href="([^"]+)"', page):
        if link.startswith("/") and not link.startswith("/static/"):
            with client.get(link) as response:
                assert response.status_code != 403, link
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login_as("assessor")
    assert f'href="/progression/panel/{case.id}"' in client.get(f"/reviews/{review.id}").get_data(as_text=True)


# --------------------------------------------------------------------------- Lithuanian alphabetical order

def test_lithuanian_collation_orders_letters_with_diacritics_as_the_alphabet_does():
    assert sorted_lt(reversed(LITHUANIAN_NAMES)) != sorted(LITHUANIAN_NAMES)
    assert sorted_lt(LITHUANIAN_NAMES) == EXPECTED_ORDER
    assert sort_key("ąžuolas") < sort_key("Ąžuolas") < sort_key("Viktorija")
    assert sort_key("Cz") < sort_key("Ča") < sort_key("Da") and sort_key("Sz") < sort_key("Ša") < sort_key("Ta")
    assert sort_key("Zz") < sort_key("Ža")


@pytest.fixture()
def lithuanian_cohort(database, user):
    """A cohort of cadets whose names start with every Lithuanian letter that code points misplace."""
    template = user("cadet.01")
    cohort = Cohort(code="LT-ABC", name_lt="Abėcėlė", name_en="Alphabet", starts_on=TEST_TODAY)
    database.session.add(cohort)
    database.session.flush()
    for index, name in enumerate(LITHUANIAN_NAMES):
        database.session.add(User(username=f"abc.{index:02d}", full_name=name, role=Role.CADET, cohort_id=cohort.id,
                                  password_hash=template.password_hash, role_profile_code=template.role_profile_code))
    assignment = database.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == template.cohort_id))
    database.session.add(TestAssignment(instrument_id=assignment.instrument_id, cohort_id=cohort.id,
                                        opens_at=assignment.opens_at, closes_at=assignment.closes_at))
    database.session.commit()
    return cohort


def _in_order(text: str) -> list[str]:
    return sorted((name for name in LITHUANIAN_NAMES if name in text), key=text.index)


def test_lists_and_workbooks_sort_people_in_lithuanian_order(client, login_as, lithuanian_cohort, database):
    login_as("admin")
    assert _in_order(client.get(f"/cohorts/{lithuanian_cohort.id}").get_data(as_text=True)) == EXPECTED_ORDER
    assignment = database.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == lithuanian_cohort.id))
    assert _in_order(client.get(f"/tests/admin/assignments/{assignment.id}").get_data(as_text=True)) == EXPECTED_ORDER
    assert _in_order(client.get("/units/placements").get_data(as_text=True)) == EXPECTED_ORDER
    placement_form = client.get("/units/placements/new").get_data(as_text=True)
    assert _in_order(placement_form) == EXPECTED_ORDER
    for path in (f"/reports/cohorts/{lithuanian_cohort.id}.xlsx", f"/reports/cohorts/{lithuanian_cohort.id}/gaps.xlsx"):
        sheet = _workbook(client.get(path)).worksheets[0]
        assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == EXPECTED_ORDER, path


# --------------------------------------------------------------------------- one rule for time

def test_workbooks_show_vilnius_time_and_name_files_by_the_vilnius_day(client, login_as, database, freeze_today,
                                                                       user):
    late_evening = dt.datetime(2026, 11, 23, 22, 30, tzinfo=dt.timezone.utc)  # 00:30 on the 24th in Vilnius
    assert timestamp(late_evening) == "2026-11-24 00:30"
    vilnius_day = dt.date(2031, 5, 6)
    freeze_today(vilnius_day)
    login_as("psychologist")
    assignment = database.session.scalar(select(TestAssignment).where(
        TestAssignment.cohort_id == user("cadet.07").cohort_id))
    from lms_plugin.testing.models import InstrumentRecord

    record = database.session.scalar(select(InstrumentRecord))
    for path in (f"/psychology/assignments/{assignment.id}/results.xlsx",
                 f"/psychology/instruments/{record.id}/items.xlsx"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert vilnius_day.isoformat() in response.headers["Content-Disposition"], path
        cells = [str(value) for sheet in load_workbook(io.BytesIO(response.data))
                 for row in sheet.iter_rows(values_only=True) for value in row if value]
        assert not any("UTC" in value for value in cells), path


# --------------------------------------------------------------------------- charts, favicon

def _result_chart(t_scores):
    figure, axes = charts.new_figure(5.0, 0.7 * len(t_scores) + 2.2)
    charts.t_score_profile(axes, [f"Subscale {n}" for n in range(len(t_scores))], t_scores, [40, 60],
                           ["Low", "Typical", "High"], "T-score")
    return figure, axes


def test_a_t_score_at_either_end_is_drawn_wholly_inside_the_chart():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure, axes = _result_chart([20.0, 80.0, 50.0])
    FigureCanvasAgg(figure).draw()
    box = axes.get_window_extent()
    dots = [line for line in axes.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 3
    for dot in dots:
        x, y = axes.transData.transform((dot.get_xdata()[0], dot.get_ydata()[0]))
        radius = dot.get_markersize() / 2 * figure.dpi / 72
        assert box.x0 <= x - radius and x + radius <= box.x1, (dot.get_xdata(), x, radius, box)


def test_chart_text_is_legible_on_a_375_px_phone():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure, axes = _result_chart([35.0, 55.0, 70.0])
    FigureCanvasAgg(figure).draw()
    shown_px = 340 / figure.get_figwidth()  # CSS pixels per inch of the figure on a 375 px screen
    texts = [text for text in figure.findobj(Text) if text.get_text() and text.get_visible()]
    assert texts
    smallest = min(text.get_fontsize() for text in texts)
    assert smallest / 72 * shown_px >= 11, smallest
    assert not [line for line in figure.findobj(Line2D) if line.get_marker() == "o" and line.get_markersize() < 8]


def test_every_page_links_a_favicon_served_from_static(client):
    page = client.get("/login").get_data(as_text=True)
    link = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', page)
    assert link and link.group(1).startswith("/static/")
    with client.get(link.group(1)) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


# --------------------------------------------------------------------------- counts, confirmation, attempts

def test_the_mentor_dashboard_counts_what_the_queue_holds(client, login_as, database):
    mentor = login_as("mentor.jonas")
    queue = oversight.mentor_queue(database.session, mentor, TEST_TODAY)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'<span class="tag warn">(\d+)</span>', dashboard)]
    assert queue and sum(shown) == len(queue)
    queue_page = client.get("/mentoring/queue").get_data(as_text=True)
    assert queue_page.count("/sign\"") == len(queue)


def test_publishing_a_framework_needs_a_confirmation_like_discarding(client, login_as, database):
    from competency_framework.operations import current_framework
    from lms_plugin.framework.operations import new_draft

    admin = login_as("admin")
    draft = new_draft(database.session, admin, current_framework(database.session, "LKT-PAR"))
    database.session.commit()
    page = client.get(f"/framework/{draft.id}").get_data(as_text=True)
    publish_form = page.split(f'action="/framework/{draft.id}/publish"', 1)[1].split("</form>", 1)[0]
    assert 'name="confirm" value="yes" required' in publish_form
    token = csrf_token(client, f"/framework/{draft.id}")
    refused = client.post(f"/framework/{draft.id}/publish", data={"csrf_token": token})
    assert refused.status_code == 400
    database.session.expire_all()
    assert draft.status.value == "draft"


def test_after_reopening_every_attempt_keeps_a_link_to_its_results(client, login_as, database, user):
    cadet = user("cadet.01")
    admin = user("admin")
    assignment = database.session.scalar(select(TestAssignment).where(TestAssignment.cohort_id == cadet.cohort_id))
    first = assessments.start_or_resume(database.session, cadet, assignment)
    for item_id in first.item_order:
        instrument = assessments.instrument_of(assignment.instrument)
        item = next(i for i in instrument.items if i.id == item_id)
        assessments.save_answer(database.session, cadet, first, item_id, str(item.options[0].key)
                                if getattr(item, "options", None) else "3")
    assessments.submit(database.session, cadet, first)
    second = assessments.reopen_sitting(database.session, admin, first, "Nutrūko ryšys.")
    database.session.commit()
    assert second.status is SittingStatus.NOT_STARTED
    results = f'href="/sittings/{first.id}/results"'
    login_as("cadet.01")
    assert results in client.get("/dashboard").get_data(as_text=True)
    assert results in client.get(f"/tests/{assignment.id}").get_data(as_text=True)
    assert client.get(f"/sittings/{first.id}/results").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login_as("admin")
    assert results in client.get(f"/tests/admin/assignments/{assignment.id}").get_data(as_text=True)


# --------------------------------------------------------------------------- demo data

def test_the_readme_demo_cadet_has_entries_waiting_for_the_readme_mentor(database, user):
    cadet, mentor = user("cadet.01"), user("mentor.jonas")
    waiting = [request for request in oversight.mentor_queue(database.session, mentor, TEST_TODAY)
               if request.cadet_id == cadet.id]
    assert len(waiting) >= 2
    assert all(request.status is RequestStatus.PENDING and request.entry.cadet_id == cadet.id for request in waiting)
    assert database.session.scalar(select(Sitting.id).where(Sitting.person_id == cadet.id)) is None  # test still fresh


def test_loading_the_demo_again_adds_nothing(database):
    before = database.session.query(SignOffRequest).count()
    load_demo(database.session, TEST_TODAY)
    database.session.flush()
    assert database.session.query(SignOffRequest).count() == before


def test_the_competency_profile_chart_is_legible_on_a_phone():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from lms_plugin.framework import charts as competency_charts

    codes = [f"DS.{n}" for n in range(1, 13)]
    figure, axes = charts.new_figure(competency_charts.PROFILE_WIDTH, competency_charts.profile_height(len(codes)))
    competency_charts.profile_bars(axes, codes, [2] * len(codes), [3] * len(codes), 5, 3, xlabel="Level",
                                   level_label="Level reached", below_label="Below", required_label="Required",
                                   proficient_label="Proficient")
    FigureCanvasAgg(figure).draw()
    texts = [text for text in figure.findobj(Text) if text.get_text() and text.get_visible()]
    smallest = min(text.get_fontsize() for text in texts)
    assert smallest / 72 * 340 / figure.get_figwidth() >= 11, smallest
