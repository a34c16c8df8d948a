"""The paper's benchmarks: the registry, and which sets this installation has imported."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.engine.evaluation import BENCHMARKS, SUITES

from ...models import Benchmark
from ...schemas import BenchmarkImport, BenchmarkPublic, BenchmarksPublic
from ...services import catalogue
from ..deps import FORBIDDEN, AdminUser, CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/benchmarks", tags=["benchmarks"])


def _list(session: Session) -> BenchmarksPublic:
    imported = {b.name: b for b in session.scalars(select(Benchmark))}
    data = [
        BenchmarkPublic(
            name=name,
            suite=b.suite,
            description=b.description,
            scorer=b.scorer.kind,
            imported=name in imported,
            row_count=imported[name].row_count if name in imported else None,
        )
        for name, b in BENCHMARKS.items()
    ]
    return BenchmarksPublic(data=data, count=len(data), suites=list(SUITES))


@router.get("", response_model=BenchmarksPublic)
def list_benchmarks(user: CurrentUser, session: SessionDep) -> BenchmarksPublic:
    return _list(session)


@router.post("/import", response_model=BenchmarksPublic, responses=FORBIDDEN)
def import_benchmarks(
    body: BenchmarkImport, admin: AdminUser, session: SessionDep, settings: SettingsDep
) -> BenchmarksPublic:
    catalogue.import_benchmarks(session, settings, body.folder)
    session.commit()
    return _list(session)
