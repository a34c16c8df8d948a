"""Settings: one object from the environment; production refuses placeholder secrets."""

import pytest
from pydantic import ValidationError

from backend.app.core.config import Settings


@pytest.mark.parametrize("password", ["changethis", "", "admin"])
def test_production_refuses_placeholder_admin_password(password: str):
    with pytest.raises(ValidationError, match="STUDIO_ADMIN_PASSWORD is a placeholder"):
        Settings(environment="production", admin_password=password)


def test_environment_variables_configure_everything(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STUDIO_BROKER_URL", "redis://example:6379/0")
    monkeypatch.setenv("STUDIO_MAX_UPLOAD_BYTES", "1234")
    s = Settings()
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path / 'studio.db'}"  # embedded database
    assert not s.embedded and s.max_upload_bytes == 1234
    assert s.datasets_dir == tmp_path / "storage" / "datasets"
