"""Writes the API's OpenAPI document: `python -m backend.app.export_openapi [FILE]`.

The dashboard's TypeScript client is generated from this file (frontend/openapi.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .core.config import Settings
from .main import create_app


def openapi_document() -> dict:
    return create_app(Settings(environment="development")).openapi()


def main(argv: list[str]) -> int:
    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    if argv:
        Path(argv[0]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
