"""Shared helpers for the exchange-format tests."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competency_framework.models import Competency, CompetencyLink, Framework, RoleProfile, Scale


def table_counts(session: Session) -> tuple[int, ...]:
    """Row counts of every table an import writes to: to show a failed import wrote nothing."""
    session.flush()
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (Framework, Competency, Scale, RoleProfile, CompetencyLink))
