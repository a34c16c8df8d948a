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
