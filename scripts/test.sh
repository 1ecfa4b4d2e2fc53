#!/usr/bin/env bash
# The test command: install everything, lint, then run the whole suite (unit, index, web, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check .            # style and imports (configured in pyproject.toml)
.venv/bin/python -m pytest -q "$@"
