"""Translated words for the competency framework: evidence sources, node kinds, statuses,
and the sentences that explain a level or describe the proficiency rule.

The domain hands out message keys and parameters (``Explanation``), never text; this
module turns them into a sentence in the user's language, so the same explanation reads
"Level 3 because …" in English and "3 lygis, nes …" in Lithuanian.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable, Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from competency_framework.models import AggregationRule, EvidenceSource, FrameworkStatus, NodeKind, RollupRule
from competency_framework.proficiency import Explanation

SOURCE_LABELS = {
    EvidenceSource.PSYCHOMETRIC: _l("psychometric test"),
    EvidenceSource.PRACTICE_SIGNOFF: _l("mentor sign-off"),
    EvidenceSource.COURSE: _l("course completion"),
    EvidenceSource.RATING: _l("assessor rating"),
    EvidenceSource.PRIOR_LEARNING: _l("prior learning"),
    EvidenceSource.SELF_ASSESSMENT: _l("self-assessment"),
    EvidenceSource.OVERRIDE: _l("override"),
}
KIND_LABELS = {NodeKind.AREA: _l("area"), NodeKind.COMPETENCY: _l("competency"),
               NodeKind.INDICATOR: _l("behavioural indicator")}
STATUS_LABELS = {FrameworkStatus.DRAFT: _l("draft"), FrameworkStatus.PUBLISHED: _l("published"),
                 FrameworkStatus.ARCHIVED: _l("archived"), FrameworkStatus.PENDING: _l("being processed")}
RULE_LABELS = {
    AggregationRule.LATEST_RATING: _l("The most recent evidence from an authorised source"),
    AggregationRule.HIGHEST_SOURCE_PRIORITY: _l("Evidence from the highest-ranking source"),
}
FIELD_LABELS = {"kind": _l("kind"), "title_en": _l("English title"), "title_lt": _l("Lithuanian title"),
                "description_en": _l("English description"), "description_lt": _l("Lithuanian description")}
ROLLUP_LABELS = {
    RollupRule.NONE: _l("Each competency counts only its own evidence"),
    RollupRule.ALL_CHILDREN: _l("A parent is met when all its children are"),
    RollupRule.AT_LEAST_N_CHILDREN: _l("A parent is met when at least a number of its children are"),
}


def source_label(source: EvidenceSource | str) -> str:
    try:
        return str(SOURCE_LABELS[EvidenceSource(source)])
    except ValueError:
        return str(source)


def kind_label(kind: NodeKind) -> str:
    return str(KIND_LABELS[kind])


def status_label(status: FrameworkStatus) -> str:
    return str(STATUS_LABELS[status])


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def _sources(values: Iterable[str]) -> str:
    return ", ".join(source_label(value) for value in values)


def explain(explanation: Explanation, *, who: Callable[[int | None], str],
            when: Callable[[dt.datetime | None], str], shown_version: int | None = None) -> str:
    """One sentence saying why a person has the level they have on a competency."""
    key, params = explanation.key, explanation.params
    if key == "rule.no_evidence":
        return _("No evidence yet.")
    if key == "rule.no_usable_evidence":
        return _("No level: none of the %(count)d pieces of evidence counts under the rule (for example a "
                 "self-assessment, a withdrawn record, or a record without a level).", count=params["count"])
    if key == "rule.rollup_all":
        return _("Level %(level)d because all %(children)d parts of it reach at least this level.",
                 level=params["level"], children=params["children"])
    if key == "rule.rollup_at_least":
        return _("Level %(level)d because at least %(n)d of its %(children)d parts reach this level "
                 "(%(met)d do).", level=params["level"], n=params["n"], children=params["children"],
                 met=params["met"])
    if key in ("rule.latest", "rule.source_priority", "rule.override"):
        values = {"level": params["level"], "source": source_label(params["source"]),
                  "date": when(params.get("date"))}
        automatic = params.get("recorded_by_id") is None
        if not automatic:
            values["who"] = who(params.get("recorded_by_id"))
        if key == "rule.override":
            reason = params.get("reason", "")
            sentence = (_("Level %(level)d because it was overridden on %(date)s, with the reason: “%(reason)s”.",
                          reason=reason, **values) if automatic else
                        _("Level %(level)d because %(who)s overrode it on %(date)s, with the reason: “%(reason)s”.",
                          reason=reason, **values))
        elif key == "rule.latest":
            sentence = (_("Level %(level)d because that is the most recent evidence from an authorised source: "
                          "%(source)s, recorded automatically on %(date)s.", **values) if automatic else
                        _("Level %(level)d because that is the most recent evidence from an authorised source: "
                          "%(source)s, recorded by %(who)s on %(date)s.", **values))
        else:
            sentence = (_("Level %(level)d because it comes from the highest-ranking source with evidence "
                          "(%(source)s): the most recent record, made automatically on %(date)s.", **values)
                        if automatic else
                        _("Level %(level)d because it comes from the highest-ranking source with evidence "
                          "(%(source)s): the most recent record, made by %(who)s on %(date)s.", **values))
        extras = []
        if params.get("from_achieved"):
            extras.append(_("It was recorded as achieved, which the rule counts as level %(level)d.",
                            level=params["level"]))
        version = params.get("version")
        if shown_version is not None and version is not None and version != shown_version:
            extras.append(_("It was recorded against version %(version)d of the framework.", version=version))
        return " ".join([sentence, *extras])
    return key  # a key this version of the app does not know: show it rather than hide it


def describe_policy(parts: Iterable[Explanation]) -> list[str]:
    """The proficiency rule in sentences, for the settings page and the profile's legend."""
    sentences = []
    for key, params in parts:
        if key == "policy.latest_rating":
            sentences.append(_("A competency's level is the most recent evidence with a level from these "
                               "sources: %(sources)s. An override always counts.",
                               sources=_sources(params["sources"])))
        elif key == "policy.highest_source_priority":
            sentences.append(_("A competency's level comes from the highest-ranking source that has evidence, "
                               "the most recent within that source. Ranking: %(order)s.",
                               order=" > ".join(source_label(value) for value in params["order"])))
        elif key == "policy.achieved_level":
            sentences.append(_("Evidence that only says “achieved” counts as level %(level)d.",
                               level=params["level"]))
        elif key == "policy.rollup_all":
            sentences.append(_("A competency with parts takes the lowest level all its parts reach, if that is "
                               "higher than its own evidence (an override on it always stands)."))
        elif key == "policy.rollup_at_least":
            sentences.append(_("A competency with parts takes the highest level at least %(n)d of its parts "
                               "reach, if that is higher than its own evidence (an override on it always "
                               "stands).", n=params["n"]))
        else:
            sentences.append(key)
    return sentences


def person_names(users: Mapping[int, Any]) -> Callable[[int | None], str]:
    """``who`` for ``explain`` and evidence lists: a user's name; records made by the app itself say so."""
    def who(user_id: int | None) -> str:
        if user_id is None:
            return _("recorded automatically")
        user = users.get(user_id)
        return user.full_name if user is not None else _("a former user")
    return who


def template_helpers() -> dict[str, Any]:
    """For the framework and profile blueprints' templates."""
    return {"kind_label": kind_label, "source_label": source_label, "status_label": status_label,
            "field_label": field_label}
