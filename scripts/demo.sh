#!/usr/bin/env bash
# The main job: install, index the sample archive in seeds/, serve the chat page on :8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh main
.venv/bin/qa index seeds/
exec .venv/bin/qa serve --host "${QA_HOST:-127.0.0.1}" --port "${QA_PORT:-8000}"
