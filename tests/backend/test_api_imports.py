"""An idle API process holds no model libraries: torch and transformers (hundreds of MB
resident) are imported by the first request that needs them, not at start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .stack import REPO

# Runs in a fresh interpreter: this test process has long imported torch itself. A finder at the
# head of sys.meta_path records, for each heavy module, the repository lines that imported it.
PROBE = """
import json, sys, traceback
HEAVY = ("torch", "transformers")
REPO = sys.argv[1]
chains = {}

class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY and name not in chains:
            chains[name] = [
                f"{f.filename[len(REPO) + 1:]}:{f.lineno}"
                for f in traceback.extract_stack()
                if f.filename.startswith(REPO) and "site-packages" not in f.filename
            ]
        return None

sys.meta_path.insert(0, Recorder())
from fastapi.testclient import TestClient
from backend.app.core.config import Settings
from backend.app.embedded import migrate
from backend.app.main import create_app

data = sys.argv[2]
settings = Settings(environment="test", data_dir=data, database_url=f"sqlite:///{data}/s.db",
                    stats_tokenizer="bytes")
migrate(settings)
with TestClient(create_app(settings)) as client:  # startup and shutdown run
    assert client.get("/api/v1/health").status_code == 200
print(json.dumps({name: chains.get(name) for name in HEAVY if name in sys.modules}))
"""


def test_idle_api_imports_neither_torch_nor_transformers(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO), str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {}, "an idle API imported " + "; ".join(
        f"{name} via {' -> '.join(chain or ['?'])}" for name, chain in loaded.items()
    )
