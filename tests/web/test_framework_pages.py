"""Maintaining the competency framework in the browser: versions, tree, role profiles, the
proficiency rule, scale, comparison, import and export — and what is refused."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from competency_framework.interchange import read_document
from competency_framework.interchange.moodle_csv import HEADERS
from competency_framework.models import AggregationRule, Competency, Framework, FrameworkStatus, Scale
from competency_framework.operations import current_framework, policy_for
from competency_framework.tree import node_by_code
from lms_plugin.core.audit import AuditEntry
from lms_plugin.framework import operations as ops
from tests.conftest import csrf_token

REFERENCE = Path(__file__).resolve().parents[1] / "competency_framework" / "reference" / "moodle-oecd-framework.csv"
SCALE = ('"Not yet competent,Competent"', '"[{""scaleid"":""2""},{""id"":2,""scaledefault"":1,""proficient"":1}]"')
HEADER = ",".join(f'"{h}"' for h in HEADERS)


def moodle(*rows: str, code: str = "FW") -> bytes:
    top = f',{code},Framework,"<p>About</p>",1,{SCALE[0]},{SCALE[1]},,,,,,1,"competency,competency"'
    return "\n".join([HEADER, top, *rows]).encode("utf-8") + b"\n"


def competency(parent: str, code: str, name: str = "Name") -> str:
    return f'{parent},{code},"{name}","<p>Text</p>",1,,,,0,null,"",,,'


@pytest.fixture()
def published(database) -> Framework:
    return current_framework(database.session, "LKT-PAR")


@pytest.fixture()
def draft(database, published) -> Framework:
    created = ops.new_draft(database.session, None, published)
    database.session.commit()
    return created


def audit_actions(database) -> list[str]:
    return list(database.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def count(database, model) -> int:
    return database.session.scalar(select(func.count()).select_from(model))


def test_staff_see_the_versions_and_the_tree_read_only(client, login_as, published):
    login_as("admin")
    index = client.get("/framework/").get_data(as_text=True)
    assert "LKT-PAR" in index and "Version 1" in index and "published" in index
    page = client.get(f"/framework/{published.id}").get_data(as_text=True)
    assert "read-only" in page and "Create a new draft version from this one" in page
    assert "DS.1" in page and "Dynamic security" in page
    assert "Publish this version" not in page and "Add an area" not in page
    node = node_by_code(published, "DS.1")
    detail = client.get(f"/framework/nodes/{node.id}").get_data(as_text=True)
    assert "Lietuvių" in detail and node.title_lt in detail
    assert 'action="/framework/nodes/' not in detail  # no edit, move or retire forms on a published version


def test_the_framework_link_is_only_for_those_who_maintain_it(client, login_as):
    login_as("admin")
    assert 'href="/framework/"' in client.get("/dashboard").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login_as("assessor")
    assert 'href="/framework/"' not in client.get("/dashboard").get_data(as_text=True)
    assert client.get("/framework/").status_code == 200  # staff may still read it


def test_a_new_draft_is_edited_and_published(client, login_as, database, published):
    login_as("admin")
    token = csrf_token(client, f"/framework/{published.id}")
    response = client.post(f"/framework/{published.id}/draft", data={"csrf_token": token})
    assert response.status_code == 302
    draft = database.session.scalar(select(Framework).where(Framework.code == "LKT-PAR",
                                                            Framework.status == FrameworkStatus.DRAFT))
    assert draft.version == 2 and response.headers["Location"].endswith(f"/framework/{draft.id}")
    page = client.get(f"/framework/{draft.id}").get_data(as_text=True)
    assert "Publish this version" in page and "This version is draft and read-only" not in page

    area = node_by_code(draft, "DS")
    added = client.post(f"/framework/{draft.id}/nodes/new", data={
        "csrf_token": token, "parent": str(area.id), "kind": "competency", "code": "DS.9",
        "title_en": "Keeping a shift handover log", "title_lt": "Pamainos perdavimo žurnalas", "position": "1"})
    assert added.status_code == 302, added.get_data(as_text=True)
    database.session.expire_all()
    node = node_by_code(draft, "DS.9")
    assert node.parent.code == "DS" and node.title_lt == "Pamainos perdavimo žurnalas"
    assert [child.code for child in area.children][0] == "DS.9"

    edited = client.post(f"/framework/nodes/{node.id}/edit", data={
        "csrf_token": token, "kind": "competency", "code": "DS.7", "title_en": "Shift handover",
        "title_lt": "Pamainos perdavimas", "description_en": "Hands over the shift.", "description_lt": ""})
    assert edited.status_code == 302
    moved = client.post(f"/framework/nodes/{node.id}/move", data={
        "csrf_token": token, "parent": str(node_by_code(draft, "COM").id), "position": ""})
    assert moved.status_code == 302
    retired = client.post(f"/framework/nodes/{node_by_code(draft, 'DS.6').id}/retire", data={"csrf_token": token})
    assert retired.status_code == 302
    database.session.expire_all()
    assert node.code == "DS.7" and node.parent.code == "COM" and node.description_en == "Hands over the shift."
    assert node_by_code(draft, "DS.6").retired and all(child.retired for child in node_by_code(draft, "DS.6").children)
    assert "retired" in client.get(f"/framework/{draft.id}").get_data(as_text=True)

    comparison = client.get(f"/framework/{draft.id}/compare?with={published.id}").get_data(as_text=True)
    assert "DS.7" in comparison and "DS.6" in comparison and "Retired" in comparison and "Added" in comparison

    unconfirmed = client.post(f"/framework/{draft.id}/publish", data={"csrf_token": token})
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.get_data(as_text=True)
    database.session.expire_all()
    assert draft.status is FrameworkStatus.DRAFT
    published_now = client.post(f"/framework/{draft.id}/publish", data={"csrf_token": token, "confirm": "yes"})
    assert published_now.status_code == 302
    database.session.expire_all()
    assert draft.status is FrameworkStatus.PUBLISHED and published.status is FrameworkStatus.ARCHIVED
    assert {"framework.new_draft", "framework.node_add", "framework.node_edit", "framework.node_move",
            "framework.node_retire", "framework.publish"} <= set(audit_actions(database))


def test_reinstating_and_discarding_a_draft(client, login_as, database, draft):
    login_as("admin")
    token = csrf_token(client, f"/framework/{draft.id}")
    node = node_by_code(draft, "WELL.1")
    ops.retire_node(database.session, None, node)
    database.session.commit()
    assert client.post(f"/framework/nodes/{node.id}/reinstate", data={"csrf_token": token}).status_code == 302
    database.session.expire_all()
    assert not node_by_code(draft, "WELL.1").retired
    draft_id = draft.id
    unconfirmed = client.post(f"/framework/{draft_id}/discard", data={"csrf_token": token})
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.get_data(as_text=True)
    confirmed = client.post(f"/framework/{draft_id}/discard", data={"csrf_token": token, "confirm": "yes"})
    assert confirmed.status_code == 302
    database.session.expire_all()
    assert database.session.get(Framework, draft_id) is None
    assert "framework.discard" in audit_actions(database)


def test_editing_a_published_version_is_refused_with_a_clear_message(client, login_as, database, published):
    login_as("admin")
    token = csrf_token(client, f"/framework/{published.id}")
    nodes = count(database, Competency)
    node = node_by_code(published, "DS.1")
    title = node.title_en
    attempts = [
        (f"/framework/{published.id}/nodes/new", {"parent": "0", "kind": "area", "code": "NEW", "title_en": "New"}),
        (f"/framework/nodes/{node.id}/edit", {"kind": "competency", "code": "DS.1", "title_en": "Changed"}),
        (f"/framework/nodes/{node.id}/move", {"parent": "0"}),
        (f"/framework/nodes/{node.id}/retire", {}),
        (f"/framework/{published.id}/roles", {}),
        (f"/framework/{published.id}/publish", {}),
        (f"/framework/{published.id}/scale", {"title_en": "X", "proficient_level": "2"}),
    ]
    for path, data in attempts:
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 409, path
        assert "read-only" in response.get_data(as_text=True) and "new draft version" in response.get_data(as_text=True)
    database.session.expire_all()
    assert count(database, Competency) == nodes and node.title_en == title and not node.retired
    assert client.get(f"/framework/{published.id}/nodes/new").status_code == 302  # no form for a published version


def test_bad_node_changes_name_the_field_and_change_nothing(client, login_as, database, draft):
    login_as("admin")
    token = csrf_token(client, f"/framework/{draft.id}")
    nodes = count(database, Competency)
    duplicate = client.post(f"/framework/{draft.id}/nodes/new", data={
        "csrf_token": token, "parent": "0", "kind": "area", "code": "DS", "title_en": "Again"})
    assert duplicate.status_code == 400
    assert "already used" in duplicate.get_data(as_text=True)
    bad_code = client.post(f"/framework/{draft.id}/nodes/new", data={
        "csrf_token": token, "parent": "0", "kind": "area", "code": "=HYPERLINK", "title_en": "Formula"})
    assert bad_code.status_code == 400 and "does not start with" in bad_code.get_data(as_text=True)
    misplaced = client.post(f"/framework/{draft.id}/nodes/new", data={
        "csrf_token": token, "parent": "0", "kind": "indicator", "code": "IND", "title_en": "Floating"})
    assert misplaced.status_code == 400 and "cannot be placed at the top level" in misplaced.get_data(as_text=True)
    area = node_by_code(draft, "DS")
    cycle = client.post(f"/framework/nodes/{area.id}/move", data={
        "csrf_token": token, "parent": str(node_by_code(draft, "DS.1").id)})
    assert cycle.status_code == 400 and "Choose a place in the tree" in cycle.get_data(as_text=True)
    database.session.expire_all()
    assert count(database, Competency) == nodes and area.parent is None


def test_role_requirements_grid(client, login_as, database, draft):
    login_as("admin")
    page = client.get(f"/framework/{draft.id}/roles").get_data(as_text=True)
    cadet = next(profile for profile in draft.role_profiles if profile.code == "cadet")
    node = node_by_code(draft, "DS.1")
    field = f"r{cadet.id}-c{node.id}"
    assert f'name="{field}"' in page
    token = csrf_token(client, f"/framework/{draft.id}/roles")
    current = {key: value for key, value in _grid_values(page).items()}
    saved = client.post(f"/framework/{draft.id}/roles", data={"csrf_token": token, **current, field: "4"})
    assert saved.status_code == 302
    database.session.expire_all()
    assert {r.competency.code: r.level for r in cadet.requirements}["DS.1"] == 4
    cleared = client.post(f"/framework/{draft.id}/roles", data={"csrf_token": token, **current, field: ""})
    assert cleared.status_code == 302
    database.session.expire_all()
    assert "DS.1" not in {r.competency.code for r in cadet.requirements}
    before = {r.competency.code: r.level for r in cadet.requirements}
    bad = client.post(f"/framework/{draft.id}/roles", data={"csrf_token": token, **current, field: "9"})
    assert bad.status_code == 400 and "Choose a level of the scale" in bad.get_data(as_text=True)
    database.session.expire_all()
    assert {r.competency.code: r.level for r in cadet.requirements} == before
    comparison = client.get(f"/framework/{draft.id}/compare").get_data(as_text=True)
    assert "Required levels changed" in comparison and "<caption>cadet</caption>" in comparison
    added = client.post(f"/framework/{draft.id}/roles/new", data={"csrf_token": token, "code": "duty_officer",
                                                                   "title_en": "Duty officer", "title_lt": ""})
    assert added.status_code == 302
    duplicate = client.post(f"/framework/{draft.id}/roles/new", data={"csrf_token": token, "code": "cadet",
                                                                       "title_en": "Again"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.get_data(as_text=True)
    profile = next(p for p in draft.role_profiles if p.code == "duty_officer")
    assert client.post(f"/framework/roles/{profile.id}/delete", data={"csrf_token": token}).status_code == 302
    actions = set(audit_actions(database))
    assert {"framework.role_requirements", "framework.role_add", "framework.role_delete"} <= actions


def _grid_values(page: str) -> dict[str, str]:
    """The selected value of every grid select on the page."""
    values = {}
    for name, body in re.findall(r'<select[^>]*name="(r\d+-c\d+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        values[name] = (chosen.group(1) or chosen.group(2)) if chosen else ""
    return values


def test_the_proficiency_rule_is_chosen_and_described(client, login_as, database, published):
    login_as("admin")
    page = client.get(f"/framework/{published.id}/policy").get_data(as_text=True)
    assert "highest-ranking source" in page and "counts as level 2" in page
    token = csrf_token(client, f"/framework/{published.id}/policy")
    saved = client.post(f"/framework/{published.id}/policy", data={
        "csrf_token": token, "rule": "latest_rating", "authorised_sources": ["rating", "practice_signoff"],
        "priority-0": "rating", "priority-1": "practice_signoff", "achieved_level": "",
        "rollup": "at_least_n_children", "rollup_min_children": "2"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    database.session.expire_all()
    policy = policy_for(published)
    assert policy.rule is AggregationRule.LATEST_RATING and policy.achieved_level is None
    assert [source.value for source in policy.authorised_sources] == ["rating", "practice_signoff"]
    described = client.get(f"/framework/{published.id}").get_data(as_text=True)
    assert "assessor rating, mentor sign-off" in described and "at least 2 of its parts" in described
    twice = client.post(f"/framework/{published.id}/policy", data={
        "csrf_token": token, "rule": "highest_source_priority", "authorised_sources": ["rating"],
        "priority-0": "rating", "priority-1": "rating", "rollup": "none", "rollup_min_children": "1"})
    assert twice.status_code == 400 and "only once" in twice.get_data(as_text=True)
    assert "framework.policy" in audit_actions(database)


def test_the_scale_of_a_draft_is_copied_then_edited(client, login_as, database, draft):
    login_as("admin")
    page = client.get(f"/framework/{draft.id}/scale").get_data(as_text=True)
    assert "cannot change" in page and "Copy the scale for this draft" in page
    token = csrf_token(client, f"/framework/{draft.id}/scale")
    copied = client.post(f"/framework/{draft.id}/scale/copy", data={"csrf_token": token, "code": "LKT-5-v2"})
    assert copied.status_code == 302
    database.session.expire_all()
    assert draft.scale.code == "LKT-5-v2"
    form = client.get(f"/framework/{draft.id}/scale").get_data(as_text=True)
    assert "Edit the scale" in form
    levels = {f"levels-{i}-{key}": getattr(level, key) for i, level in enumerate(draft.scale.levels)
              for key in ("code", "title_en", "title_lt", "descriptor_en", "descriptor_lt")}
    levels["levels-0-title_en"] = "Knows about it"
    saved = client.post(f"/framework/{draft.id}/scale", data={
        "csrf_token": token, "title_en": "Five levels", "title_lt": "", "proficient_level": "3", **levels})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    database.session.expire_all()
    assert draft.scale.levels[0].title_en == "Knows about it" and len(draft.scale.levels) == 5
    original = database.session.scalar(select(Scale).where(Scale.code == "LKT-5"))
    assert original.levels[0].title_en == "Awareness"  # the published version's scale is untouched
    bad = client.post(f"/framework/{draft.id}/scale", data={
        "csrf_token": token, "title_en": "Five levels", "proficient_level": "9", **levels})
    assert bad.status_code == 400 and "proficient level 9" in bad.get_data(as_text=True)


def test_a_new_framework_is_started_empty(client, login_as, database):
    login_as("admin")
    token = csrf_token(client, "/framework/new")
    scale = database.session.scalar(select(Scale).where(Scale.code == "LKT-5"))
    created = client.post("/framework/new", data={"csrf_token": token, "code": "INSTR", "title_en": "Instructors",
                                                   "scale": str(scale.id)})
    assert created.status_code == 302
    framework = database.session.scalar(select(Framework).where(Framework.code == "INSTR"))
    assert framework.status is FrameworkStatus.DRAFT and not framework.nodes
    again = client.post("/framework/new", data={"csrf_token": token, "code": "INSTR", "title_en": "Again",
                                                 "scale": str(scale.id)})
    assert again.status_code == 400 and "already has a draft" in again.get_data(as_text=True)


def test_importing_the_moodle_reference_file_makes_a_draft(client, login_as, database):
    login_as("admin")
    token = csrf_token(client, "/framework/import")
    response = client.post("/framework/import", data={
        "csrf_token": token, "format": "", "scale": "",
        "file": (io.BytesIO(REFERENCE.read_bytes()), "moodle-oecd-framework.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    framework = database.session.scalar(select(Framework).where(Framework.code == "OECD-CORE"))
    assert framework.status is FrameworkStatus.DRAFT and len(framework.nodes) == 64
    assert response.headers["Location"].endswith(f"/framework/{framework.id}")
    assert "framework.import" in audit_actions(database)


def test_a_bad_import_shows_row_column_and_problem_and_creates_nothing(client, login_as, database):
    login_as("admin")
    token = csrf_token(client, "/framework/import")
    frameworks, nodes = count(database, Framework), count(database, Competency)
    data = moodle(competency("", "A"), competency("A", "B"), competency("", "A"), competency("NOPE", "C"))
    response = client.post("/framework/import", data={
        "csrf_token": token, "format": "moodle", "file": (io.BytesIO(data), "bad.csv")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing has been saved" in page
    cells = re.sub(r">\s+<", "><", page)
    assert "<td>5</td><td>ID number</td><td>duplicate id &#39;A&#39;</td>" in cells
    assert "<td>6</td><td>Parent ID number</td><td>unknown parent &#39;NOPE&#39;</td>" in cells
    assert "<th scope=\"col\">Sheet</th>" not in cells  # no empty columns for a CSV file
    wrong_format = client.post("/framework/import", data={
        "csrf_token": token, "format": "xlsx", "file": (io.BytesIO(moodle(competency("", "A"))), "a.csv")},
        content_type="multipart/form-data")
    assert wrong_format.status_code == 400
    missing = client.post("/framework/import", data={"csrf_token": token, "format": ""},
                          content_type="multipart/form-data")
    assert missing.status_code == 400 and "Choose a file to import." in missing.get_data(as_text=True)
    database.session.expire_all()
    assert (count(database, Framework), count(database, Competency)) == (frameworks, nodes)


@pytest.mark.parametrize("fmt, media, name", [
    ("moodle", "text/csv", "LKT-PAR-v1-moodle.csv"),
    ("case", "application/json", "LKT-PAR-v1-case.json"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "LKT-PAR-v1.xlsx"),
])
def test_export_downloads_each_format_and_it_reads_back(client, login_as, published, fmt, media, name):
    login_as("assessor")  # staff who read the framework may download it
    response = client.get(f"/framework/{published.id}/export/{fmt}")
    assert response.status_code == 200
    assert response.mimetype == media and name in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    data = response.get_data()
    document = read_document(data, fmt)
    assert document.code == "LKT-PAR" and len(document.nodes) == len(published.nodes)
    if fmt == "xlsx":
        assert load_workbook(io.BytesIO(data)).sheetnames
    if fmt == "case":
        assert json.loads(data)["CFDocument"]["title"]
    if fmt == "xlsx":  # the workbook carries the role profiles too
        assert {role.code for role in document.role_profiles} == {p.code for p in published.role_profiles}
    assert client.get(f"/framework/{published.id}/export/pdf").status_code == 404


def test_comparing_versions_lists_changed_added_and_removed_nodes(client, login_as, database, published, draft):
    login_as("admin")
    changed = node_by_code(draft, "DS.1")
    ops.edit_node(database.session, None, changed, kind=changed.kind, code="DS.1",
                  title_en="Dynamic security, revised", title_lt=changed.title_lt,
                  description_en=changed.description_en, description_lt=changed.description_lt)
    renamed = node_by_code(draft, "WELL.1")
    ops.edit_node(database.session, None, renamed, kind=renamed.kind, code="WELL.9",
                  title_en=renamed.title_en, title_lt=renamed.title_lt,
                  description_en=renamed.description_en, description_lt=renamed.description_lt)
    database.session.commit()
    response = client.get(f"/framework/{draft.id}/compare?with={published.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    changed_row = re.search(r'<th scope="row">DS\.1</th><td>([^<]*)</td>', page)
    assert changed_row and changed_row.group(1) == "English title"
    assert re.search(r"Added \(1\)</h3><p class=\"codes\">WELL\.9</p>", page)
    assert re.search(r"Removed \(1\)</h3><p class=\"codes\">WELL\.1</p>", page)
    client.post("/language", data={"csrf_token": csrf_token(client, "/dashboard"), "language": "lt"})
    lithuanian = client.get(f"/framework/{draft.id}/compare?with={published.id}").get_data(as_text=True)
    assert '<th scope="row">DS.1</th><td>Pavadinimas anglų kalba</td>' in lithuanian
