"""Alembic `upgrade head` from empty and `downgrade base` back, on PostgreSQL and SQLite."""

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from backend.app.embedded import REPO
from backend.app.models import Base

from .conftest import PG_URL, reset_postgres


def _alembic(url: str) -> Config:
    cfg = Config(str(REPO / "alembic.ini"))
    cfg.attributes["url"] = url
    return cfg


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_head_then_downgrade_base(kind: str, tmp_path: Path) -> None:
    if kind == "postgresql":
        reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(_alembic(url), "head")
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables, set(Base.metadata.tables) - tables
    # The migration builds exactly what the models describe (no drift between the two).
    for name, table in Base.metadata.tables.items():
        cols = {c["name"] for c in inspect(engine).get_columns(name)}
        assert cols == {c.name for c in table.columns}, name
    command.downgrade(_alembic(url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_0004_labels_earlier_rows_strict_and_downgrades(kind: str, tmp_path: Path) -> None:
    """Rows scored before 0004 were scored with the earlier rule, which `strict` is."""
    from datetime import UTC, datetime

    from sqlalchemy import MetaData, Table, insert, select

    if kind == "postgresql":
        reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(_alembic(url), "0003")
    engine = create_engine(url)
    meta = MetaData()

    def table(name: str) -> Table:
        return Table(name, meta, autoload_with=engine, extend_existing=True)

    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(insert(table("teams")).values(id=1, name="t", created_at=now))
        c.execute(
            insert(table("jobs")).values(
                id=1, team_id=1, name="j", base_model="tiny:llama", method="lora", config={},
                status="succeeded", step=0, cancel_requested=False, attempts=1, history=[],
                updated_at=now, created_at=now,
            )
        )  # fmt: skip
        c.execute(
            insert(table("predictions")).values(
                job_id=1, benchmark="aqua", index=0, prompt="p", output="Answer: B",
                extracted="B", gold="B", correct=True,
            )
        )  # fmt: skip
        c.execute(
            insert(table("job_results")).values(
                job_id=1, benchmark="aqua", suite="arithmetic", accuracy=1.0, correct=1, total=1
            )
        )
        c.execute(
            insert(table("eval_points")).values(
                job_id=1, benchmark="aqua", step=0, accuracy=1.0, correct=1, total=1
            )
        )
        c.execute(
            insert(table("leaderboard_scores")).values(
                team_id=1, job_id=1, scope="aqua", score=100.0, benchmarks=1
            )
        )
    command.upgrade(_alembic(url), "0004")
    meta = MetaData()
    with engine.connect() as c:
        pred = c.execute(select(table("predictions"))).mappings().one()
        assert (pred["scoring"], pred["extracted_strict"], pred["correct_strict"]) == (
            "strict",
            "B",
            True,
        )
        assert (pred["extracted_paper"], pred["correct_paper"]) == (None, None)
        for name in ("job_results", "eval_points", "leaderboard_scores"):
            assert c.execute(select(table(name).c.scoring)).scalars().all() == ["strict"], name
    command.downgrade(_alembic(url), "0003")
    meta = MetaData()
    cols = {c["name"] for c in inspect(engine).get_columns("predictions")}
    assert "scoring" not in cols and "correct_paper" not in cols and "correct" in cols
    for name in ("job_results", "eval_points", "leaderboard_scores"):
        assert "scoring" not in {c["name"] for c in inspect(engine).get_columns(name)}
    with engine.connect() as c:
        assert c.execute(select(table("predictions").c.extracted)).scalars().all() == ["B"]
    indexes = {i["name"] for i in inspect(engine).get_indexes("predictions")}
    assert "ix_predictions_job_benchmark" in indexes
    engine.dispose()
