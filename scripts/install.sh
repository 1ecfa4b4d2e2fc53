#!/usr/bin/env bash
# Installs everything the project needs into ./.venv (and, as root, the Debian packages for
# the browser tests and the CJK font for PDF tests). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + driver: browser tests; chromium-l10n: Chinese date inputs; fonts-wqy-zenhei: a TrueType
# CJK font the PDF tests write with; fonts-noto-cjk: Chinese glyphs in screenshots; libgl1 + libglib2.0-0:
# OpenCV (opencv-python, required by the OCR engine rapidocr-onnxruntime) links them even with no display.
APT_PACKAGES="chromium chromium-driver chromium-l10n fonts-wqy-zenhei fonts-noto-cjk libgl1 libglib2.0-0"
if ! dpkg -s $APT_PACKAGES >/dev/null 2>&1 && [ "${QA_SKIP_APT:-0}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $APT_PACKAGES
  else
    echo "install.sh: not root, skipping apt packages ($APT_PACKAGES); browser and PDF tests will be skipped" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# CPU build of PyTorch for the sentence-transformers backend; an unpinned torch pulls GBs of CUDA.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e ".[st,test]"
