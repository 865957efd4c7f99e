"""Evidence → level: both rules, explanations, overrides, corrections, roll-up, the policy."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from competency_framework.errors import EvidenceError, FrameworkError
from competency_framework.models import EvidenceSource as S
from competency_framework.models import Framework, NodeKind
from competency_framework.operations import (
    Policy,
    compute_levels,
    correct_evidence,
    person_profile,
    policy_for,
    record_evidence,
    record_override,
    set_policy,
    withdraw_evidence,
)
from competency_framework.tree import node_by_code
from lms_plugin.core.base import ImmutableRecordError

T0 = dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.timezone.utc)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


@pytest.fixture()
def person(make_person):
    return make_person()


@pytest.fixture()
def add(session: Session, framework: Framework, person):
    def add(code: str, source: S, level: int | None = None, *, when: int = 0, achieved: bool | None = None,
            note: str = "", by: int | None = None):
        return record_evidence(session, person_id=person.id, competency=node_by_code(framework, code), source=source,
                               recorded_by_id=by, level=level, achieved=achieved, note=note, recorded_at=day(when))
    return add


def row(session, framework, person, code: str, **kwargs):
    kinds = kwargs.pop("kinds", (NodeKind.AREA, NodeKind.COMPETENCY, NodeKind.INDICATOR))
    return next(r for r in person_profile(session, framework, person.id, "cadet", kinds=kinds, **kwargs)
                if r.competency.code == code)


def test_no_evidence_is_explained(session, framework, person) -> None:
    result = row(session, framework, person, "DS.1")
    assert (result.level, result.required, result.gap, result.evidence_count) == (None, 2, 2, 0)
    assert result.explanation == ("rule.no_evidence", {})


def test_latest_rating_takes_the_most_recent_authorised_level(session, framework, person, add) -> None:
    add("DS.1", S.PRACTICE_SIGNOFF, 3, when=1)
    latest = add("DS.1", S.RATING, 2, when=5, by=person.id)
    add("DS.1", S.COURSE, None, when=9, achieved=True)  # no level: ignored unless the policy maps "achieved"
    add("DS.1", S.SELF_ASSESSMENT, 4, when=10)  # not authorised by default
    add("DS.1", S.PSYCHOMETRIC, 1, when=3)
    result = row(session, framework, person, "DS.1")
    assert result.level == 2 and result.gap == 0 and result.evidence_count == 5
    assert result.explanation == ("rule.latest", {"level": 2, "source": "rating", "date": day(5),
                                                  "evidence_id": latest.id, "recorded_by_id": person.id,
                                                  "version": 1, "from_achieved": False})
    assert not result.proficient and row(session, framework, person, "DS.1").competency.code == "DS.1"
    assert [e.recorded_at for e in result.evidence] == sorted(e.recorded_at for e in result.evidence)


def test_recording_order_breaks_ties_in_time(session, framework, person, add) -> None:
    add("DS.1", S.RATING, 1, when=2)
    add("DS.1", S.RATING, 3, when=2)
    assert row(session, framework, person, "DS.1").level == 3


def test_highest_source_priority(session, framework, person, add) -> None:
    set_policy(session, framework, rule="highest_source_priority")
    add("DS.1", S.RATING, 2, when=1)
    add("DS.1", S.RATING, 3, when=2)
    add("DS.1", S.PRACTICE_SIGNOFF, 4, when=8)
    add("DS.1", S.SELF_ASSESSMENT, 1, when=9)
    result = row(session, framework, person, "DS.1")
    assert result.level == 3 and result.explanation.key == "rule.source_priority"
    assert result.explanation.params["source"] == "rating"
    set_policy(session, framework, source_priority=["self_assessment", "rating"])
    assert row(session, framework, person, "DS.1").level == 1


def test_override_needs_a_reason_and_wins_under_both_rules(session, framework, person, add) -> None:
    node = node_by_code(framework, "CR.1")
    with pytest.raises(EvidenceError, match="reason"):
        record_override(session, person_id=person.id, competency=node, level=1, reason="  ", recorded_by_id=None)
    add("CR.1", S.RATING, 4, when=1)
    override = record_override(session, person_id=person.id, competency=node, level=1,
                               reason="Rating was entered for the wrong cadet", recorded_by_id=person.id)
    result = row(session, framework, person, "CR.1")
    assert result.level == 1 and result.explanation.key == "rule.override"
    assert result.explanation.params["reason"] == "Rating was entered for the wrong cadet"
    assert result.explanation.params["evidence_id"] == override.id
    set_policy(session, framework, rule="highest_source_priority")
    add("CR.1", S.RATING, 4, when=400)
    assert row(session, framework, person, "CR.1").level == 1


def test_corrections_and_withdrawals_supersede(session, framework, person, add) -> None:
    wrong = add("DS.2", S.RATING, 4, when=1)
    correct_evidence(session, wrong, recorded_by_id=None, reason="typo", level=2)
    assert row(session, framework, person, "DS.2").level == 2
    with pytest.raises(EvidenceError, match="already been corrected"):
        correct_evidence(session, wrong, recorded_by_id=None, reason="again", level=3)
    other = add("DS.1", S.RATING, 3, when=1)
    withdraw_evidence(session, other, recorded_by_id=None, reason="recorded twice")
    result = row(session, framework, person, "DS.1")
    assert result.level is None and result.explanation == ("rule.no_usable_evidence", {"count": 2})


def test_evidence_is_append_only(session, framework, person, add) -> None:
    evidence = add("DS.1", S.RATING, 3)
    evidence.level = 4
    with pytest.raises(ImmutableRecordError):
        session.flush()
    session.rollback()


def test_achieved_counts_as_a_level_only_when_the_policy_says_so(session, framework, person, add) -> None:
    add("CR.1", S.COURSE, None, when=1, achieved=True)
    add("CR.1", S.PRACTICE_SIGNOFF, None, when=2, achieved=False)
    assert row(session, framework, person, "CR.1").level is None
    set_policy(session, framework, achieved_level=2)
    result = row(session, framework, person, "CR.1")
    assert result.level == 2 and result.explanation.params["from_achieved"] is True
    assert result.explanation.params["source"] == "course"


def test_rollup_all_children(session, framework, person, add) -> None:
    set_policy(session, framework, rollup="all_children")
    add("DS.1.a", S.PRACTICE_SIGNOFF, 3, when=1)
    assert row(session, framework, person, "DS.1").level is None  # DS.1.b has nothing yet
    add("DS.1.b", S.PRACTICE_SIGNOFF, 4, when=2)
    result = row(session, framework, person, "DS.1")
    assert result.level == 3 and result.explanation == ("rule.rollup_all", {"level": 3, "children": 2, "met": 2})
    add("DS.2.a", S.RATING, 2, when=3)
    area = row(session, framework, person, "DS")
    assert area.level == 2 and area.explanation.key == "rule.rollup_all"  # DS.1 at 3, DS.2 at 2 via its indicator
    add("DS.1", S.RATING, 4, when=4)
    assert row(session, framework, person, "DS.1").level == 4  # own evidence above the roll-up stands
    record_override(session, person_id=person.id, competency=node_by_code(framework, "DS.1"), level=1,
                    reason="Observed unsafe practice", recorded_by_id=None)
    assert row(session, framework, person, "DS.1").level == 1  # an override beats the roll-up


def test_rollup_at_least_n_children(session, framework, person, add) -> None:
    set_policy(session, framework, rollup="at_least_n_children", rollup_min_children=1)
    add("DS.1.a", S.PRACTICE_SIGNOFF, 2, when=1)
    add("DS.1.b", S.PRACTICE_SIGNOFF, 4, when=1)
    result = row(session, framework, person, "DS.1")
    assert result.level == 4
    assert result.explanation == ("rule.rollup_at_least", {"level": 4, "children": 2, "met": 1, "n": 1})
    set_policy(session, framework, rollup_min_children=2)
    assert row(session, framework, person, "DS.1").level == 2
    set_policy(session, framework, rollup_min_children=5)  # more than there are children: all of them
    assert row(session, framework, person, "DS.1").level == 2


def test_policy_validation_and_description(session, framework) -> None:
    assert policy_for(framework) == Policy()
    with pytest.raises(FrameworkError, match="unknown evidence source"):
        set_policy(session, framework, authorised_sources=["gossip"])
    with pytest.raises(FrameworkError, match="listed twice"):
        set_policy(session, framework, source_priority=["rating", "rating"])
    with pytest.raises(FrameworkError, match="not on the scale"):
        set_policy(session, framework, achieved_level=9)
    with pytest.raises(FrameworkError, match="at least 1"):
        set_policy(session, framework, rollup_min_children=0)
    set_policy(session, framework, authorised_sources=["rating"], rollup="at_least_n_children",
               rollup_min_children=2, achieved_level=2)
    assert policy_for(framework).describe() == [
        ("policy.latest_rating", {"sources": ["rating"]}), ("policy.achieved_level", {"level": 2}),
        ("policy.rollup_at_least", {"n": 2})]
    set_policy(session, framework, rule="highest_source_priority", rollup="none", achieved_level=None)
    assert [e.key for e in policy_for(framework).describe()] == ["policy.highest_source_priority"]


def test_only_authorised_sources_count_for_latest(session, framework, person, add) -> None:
    set_policy(session, framework, authorised_sources=["practice_signoff"])
    add("DS.1", S.PRACTICE_SIGNOFF, 2, when=1)
    add("DS.1", S.RATING, 4, when=2)
    assert row(session, framework, person, "DS.1").level == 2


def test_record_evidence_checks(session, framework, person) -> None:
    node = node_by_code(framework, "DS.1")
    for bad in (0, 5, True):
        with pytest.raises(EvidenceError, match="outside the scale"):
            record_evidence(session, person_id=person.id, competency=node, source=S.RATING, recorded_by_id=None,
                            level=bad)
    with pytest.raises(EvidenceError, match="same person"):
        first = record_evidence(session, person_id=person.id, competency=node, source=S.RATING,
                                recorded_by_id=None, level=1)
        record_evidence(session, person_id=person.id + 999, competency=node, source=S.RATING,
                        recorded_by_id=None, level=2, supersedes=first)


def test_compute_levels_for_many_people_matches_each_profile(session, framework, make_person) -> None:
    people = [make_person() for _ in range(5)]
    codes = ["DS.1", "DS.2", "CR.1", "DS.1.a"]
    for i, person in enumerate(people):
        for j, code in enumerate(codes):
            if (i + j) % 3:
                record_evidence(session, person_id=person.id, competency=node_by_code(framework, code),
                                source=S.RATING, recorded_by_id=None, level=1 + (i * j) % 4, recorded_at=day(i + j))
    matrix = compute_levels(session, framework, [p.id for p in people])
    for i, person in enumerate(people):
        profile = {r.competency.code: r.level or 0 for r in person_profile(
            session, framework, person.id, None, kinds=(NodeKind.AREA, NodeKind.COMPETENCY, NodeKind.INDICATOR))}
        assert {node.code: int(matrix.levels[i, j]) for j, node in enumerate(matrix.nodes)} == profile
