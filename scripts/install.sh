#!/usr/bin/env bash
# Installs everything the project needs into ./.venv (and, as root, the Debian packages for
# the browser tests and the CJK font for PDF tests). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=0
command -v chromium >/dev/null 2>&1 || need_apt=1
command -v chromedriver >/dev/null 2>&1 || need_apt=1
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need_apt=1
if [ "$need_apt" = 1 ] && [ "${QA_SKIP_APT:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver chromium-l10n fonts-wqy-zenhei fonts-noto-cjk
  else
    echo "install.sh: not root, skipping apt packages (chromium chromium-driver chromium-l10n fonts-wqy-zenhei fonts-noto-cjk);" \
         "browser and PDF tests will be skipped" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# CPU build of PyTorch for the sentence-transformers backend; an unpinned torch pulls GBs of CUDA.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[st,test]"
