"""Benchmarks for the competency framework: import/export of a 2,000-competency framework in
each exchange format, and the gap matrix of 4,000 people × 60 competencies against simple
baselines (per-person profile queries; one query aggregated in plain Python).

With ``--benchmark-disable`` (the project default) the sizes shrink so the suite stays quick;
``--benchmark-enable`` runs the full sizes and prints the figures.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Iterator

import numpy as np
import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from competency_framework.interchange import Format, export_framework, import_framework
from competency_framework.interchange.document import (
    FrameworkDocument,
    LevelSpec,
    NodeSpec,
    RequirementSpec,
    RoleSpec,
    ScaleSpec,
    apply_document,
    validate_document,
)
from competency_framework.models import Competency, Evidence, EvidenceSource, Framework, FrameworkStatus, NodeKind
from competency_framework.operations import gap_matrix, person_profile
from lms_plugin.core.base import utcnow
from lms_plugin.core.people import User
from tests.domain_database import make_engine

SEED = 20261123


def full_size(request: pytest.FixtureRequest) -> bool:
    """Whether benchmarks run (``--benchmark-enable`` wins over the default ``--benchmark-disable``)."""
    options = request.config.option
    return bool(getattr(options, "benchmark_enable", False) or not getattr(options, "benchmark_disable", False))


def generated_document(code: str, competencies: int, per_area: int, levels: int = 5) -> FrameworkDocument:
    """Areas of ``per_area`` competencies with bilingual texts, three role profiles."""
    rng = random.Random(SEED)
    scale = ScaleSpec(code=f"{code}-scale", title_en="Proficiency", title_lt="Lygis", proficient_level=3,
                      levels=[LevelSpec(v, f"l{v}", f"Level {v}", f"Lygis {v}", f"Descriptor {v}, with commas",
                                        f"Aprašas {v}") for v in range(1, levels + 1)])
    nodes, competency_codes = [], []
    for a in range(-(-competencies // per_area)):
        area = f"A{a:03d}"
        nodes.append(NodeSpec(area, None, NodeKind.AREA, f"Area {a}", f"Sritis {a}", "Area description", ""))
        for c in range(min(per_area, competencies - a * per_area)):
            node_code = f"{area}.C{c:03d}"
            competency_codes.append(node_code)
            nodes.append(NodeSpec(node_code, area, NodeKind.COMPETENCY, f"Competency {a}.{c}: talks, listens \"calmly\"",
                                  f"Kompetencija {a}.{c}", "A longer description.\nSecond line & <more>.",
                                  "Ilgesnis aprašymas."))
    roles = [RoleSpec(role, role.title(), role, requirements=[
        RequirementSpec(node_code, rng.randint(1, levels)) for node_code in competency_codes if rng.random() < 0.5])
        for role in ("cadet", "officer", "senior_officer")]
    return FrameworkDocument(code=code, title_en="Generated framework", title_lt="Sugeneruotas modelis",
                             description_en="For benchmarks.", version=1, scale=scale, nodes=nodes,
                             role_profiles=roles)


# --- import / export -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exchange(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    competencies = 2000 if full_size(request) else 200
    engine = make_engine()
    with Session(engine) as session:
        framework = apply_document(session, validate_document(generated_document("BIG", competencies, 40)))
        session.commit()
        files = {kind: export_framework(framework, kind) for kind in Format}
        target = make_engine()  # imports go to another database, each round rolled back
        yield {"engine": target, "session": session, "framework": framework, "files": files,
               "competencies": competencies}
        target.dispose()
    engine.dispose()


@pytest.mark.parametrize("kind", list(Format))
def test_export(benchmark: Any, exchange: dict[str, Any], kind: Format) -> None:
    data = benchmark(export_framework, exchange["framework"], kind)
    assert data == exchange["files"][kind] or kind is Format.XLSX
    benchmark.extra_info["competencies"] = exchange["competencies"]
    benchmark.extra_info["bytes"] = len(data)


@pytest.mark.parametrize("kind", list(Format))
def test_import(benchmark: Any, exchange: dict[str, Any], kind: Format) -> None:
    engine: Engine = exchange["engine"]
    state: dict[str, Any] = {}

    def teardown() -> None:
        # Idempotent: pytest-benchmark skips ``teardown`` when benchmarks are disabled.
        if "connection" in state:
            state.pop("session").close()
            state.pop("transaction").rollback()
            state.pop("connection").close()

    def setup() -> None:
        teardown()
        connection = engine.connect()
        state["transaction"] = connection.begin()
        state["connection"] = connection
        state["session"] = Session(bind=connection, join_transaction_mode="create_savepoint")

    def run() -> None:
        state["report"] = import_framework(state["session"], exchange["files"][kind], format=kind)
        state["nodes"] = state["report"].nodes

    benchmark.pedantic(run, setup=setup, teardown=teardown, rounds=5 if benchmark.enabled else 1)
    teardown()
    assert state["nodes"] == len(exchange["framework"].nodes)
    benchmark.extra_info["competencies"] = exchange["competencies"]


# --- gap matrix --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cohort(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """4,000 people (100 when not benchmarking), 60 competencies, ~1.5 evidence rows per cell."""
    people_count = 4000 if full_size(request) else 100
    rng = np.random.default_rng(SEED)
    engine = make_engine()
    with Session(engine) as session:
        framework = apply_document(session, validate_document(generated_document("GAP", 60, 6)),
                                   status=FrameworkStatus.PUBLISHED)
        roles = ["cadet", "officer", "senior_officer"]
        users = [{"username": f"u{i}", "full_name": f"Person {i}", "password_hash": "x", "role": "cadet",
                  "role_profile_code": roles[i % 3], "active": True, "created_at": utcnow()}
                 for i in range(people_count)]
        session.execute(insert(User.__table__), users)
        person_ids = list(session.scalars(select(User.id).order_by(User.id)))
        competency_ids = [n.id for n in framework.nodes if n.kind is NodeKind.COMPETENCY]
        sources = [s.value for s in EvidenceSource if s is not EvidenceSource.OVERRIDE]
        start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        rows = []
        for person in person_ids:
            for competency in competency_ids:
                for _ in range(int(rng.integers(0, 4))):
                    achieved = bool(rng.random() < 0.2)
                    rows.append({"person_id": person, "competency_id": competency,
                                 "source": sources[int(rng.integers(len(sources)))],
                                 "level": None if achieved else int(rng.integers(1, 6)), "achieved": achieved or None,
                                 "note": "", "source_ref": "", "recorded_by_id": None,
                                 "recorded_at": start + dt.timedelta(minutes=int(rng.integers(0, 500_000)))})
        session.execute(insert(Evidence.__table__), rows)
        session.commit()
        people = {user["username"]: user["role_profile_code"] for user in users}
        by_id = dict(zip(person_ids, (people[u["username"]] for u in users)))
        yield {"session": session, "framework": framework, "people": by_id, "evidence": len(rows)}
    engine.dispose()


def naive_per_person(session: Session, framework: Framework, people: dict[int, str]) -> np.ndarray:
    """Baseline 1: what a page-per-person loop does — one profile (its own queries) per person."""
    return np.array([[row.gap or 0 for row in person_profile(session, framework, person, role)]
                     for person, role in people.items()], dtype=np.int16)


def python_single_query(session: Session, framework: Framework, people: dict[int, str]) -> np.ndarray:
    """Baseline 2: one query for all evidence, the latest-rating rule in a plain Python loop."""
    nodes = [n for n in framework.nodes if n.kind is NodeKind.COMPETENCY and not n.retired]
    column = {n.id: j for j, n in enumerate(nodes)}
    row_of = {person: i for i, person in enumerate(people)}
    levels = [[0] * len(nodes) for _ in people]
    superseded = set()
    rows = session.execute(select(Evidence.person_id, Evidence.competency_id, Evidence.source, Evidence.level,
                                  Evidence.supersedes_id, Evidence.id)
                           .join(Competency).where(Competency.framework_id == framework.id)
                           .order_by(Evidence.recorded_at, Evidence.id)).all()
    superseded = {r.supersedes_id for r in rows if r.supersedes_id}
    for person, competency, source, level, _sup, evidence_id in rows:
        if level is None or evidence_id in superseded or source is EvidenceSource.SELF_ASSESSMENT:
            continue
        if person in row_of and competency in column:
            levels[row_of[person]][column[competency]] = level
    profiles = {p.code: {r.competency_id: r.level for r in p.requirements} for p in framework.role_profiles}
    return np.array([[max(profiles[role].get(n.id, 0) - levels[i][j], 0) if n.id in profiles[role] else 0
                      for j, n in enumerate(nodes)] for i, role in enumerate(people.values())], dtype=np.int16)


def test_gap_matrix(benchmark: Any, cohort: dict[str, Any]) -> None:
    matrix = benchmark(gap_matrix, cohort["session"], cohort["framework"], cohort["people"])
    assert matrix.levels.shape == (len(cohort["people"]), 60)
    benchmark.extra_info.update(people=len(cohort["people"]), competencies=60, evidence=cohort["evidence"])
    assert np.array_equal(matrix.gaps, python_single_query(cohort["session"], cohort["framework"], cohort["people"]))
    assert len(matrix.most_below(10)) == 10


def test_gap_matrix_baseline_python_single_query(benchmark: Any, cohort: dict[str, Any]) -> None:
    gaps = benchmark.pedantic(python_single_query, args=(cohort["session"], cohort["framework"], cohort["people"]),
                              rounds=3 if benchmark.enabled else 1)
    assert gaps.shape == (len(cohort["people"]), 60)


def test_gap_matrix_baseline_per_person_queries(benchmark: Any, cohort: dict[str, Any]) -> None:
    gaps = benchmark.pedantic(naive_per_person, args=(cohort["session"], cohort["framework"], cohort["people"]),
                              rounds=1)
    matrix = gap_matrix(cohort["session"], cohort["framework"], cohort["people"])
    assert np.array_equal(gaps, matrix.gaps)
