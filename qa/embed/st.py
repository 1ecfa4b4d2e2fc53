"""Any sentence-transformers model (hub name or local path), on a GPU when one is present.

The device is ``device=`` / ``$QA_DEVICE`` (``cuda``, ``cuda:1``, ``cpu``, ``mps``); by default CUDA
when torch sees a GPU, else CPU. Models load offline when ``HF_HUB_OFFLINE=1`` (give a local path).
"""

from __future__ import annotations

import threading

import numpy as np

from qa.embed.common import BGE_ZH_QUERY, torch_device
from qa.embed.common import normalise as _normalise
from qa.errors import BadInput


class SentenceTransformerEmbedder:
    """Any sentence-transformers model (hub name or local path), on CUDA when available."""

    def __init__(self, name_or_path: str, batch_size: int | None = None, device: str | None = None) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise BadInput("使用 st: 模型需要安装 sentence-transformers：pip install 'qa-newspaper[st]'") from e
        device = torch_device(torch, device)
        try:
            self._model = SentenceTransformer(name_or_path, device=device)
        except Exception as e:  # noqa: BLE001 - any load failure is a bad --model value for the user
            raise BadInput(f"无法加载向量模型 {name_or_path}：{e}") from e
        self.name = "st:" + name_or_path
        self.engine = "sentence-transformers:" + str(self._model.device)
        self.device = str(self._model.device)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = batch_size or (128 if self.device.startswith("cuda") else 32)  # GPUs want bigger batches
        self.query_prompt, self.passage_prompt = _prompts_for(name_or_path, getattr(self._model, "prompts", {}) or {})
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch modules are not documented as re-entrant; keep calls one at a time
            v = self._model.encode(
                [prompt + t for t in texts],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return _normalise(v)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self.query_prompt)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self.passage_prompt)


def _prompts_for(name: str, configured: dict[str, str]) -> tuple[str, str]:
    """(query prompt, passage prompt): the model's own configured prompts, else by model family."""
    if configured.get("query") is not None:
        return configured["query"], configured.get("passage", configured.get("document", ""))
    low = name.lower()
    if "e5" in low:
        return "query: ", "passage: "
    if "bge" in low and "zh" in low:
        return BGE_ZH_QUERY, ""
    return "", ""
