"""The optional LLM: settings, and an OpenAI-compatible chat client with a hard deadline.

Any server speaking the OpenAI chat API works (vLLM, Ollama, Xinference, LM Studio,
llama-cpp-python). The official ``openai`` package does the HTTP and the SSE parsing; this module
adds what it lacks for a request path that must never hang: a **total** deadline. The request runs
in a worker thread that hands text pieces over a queue; the caller waits on the queue only until
the deadline, so a server that stalls, trickles or never answers costs at most ``timeout_s``.

Settings, first found wins: explicit arguments (``qa serve --llm-base-url/--llm-model``), then
environment variables ``QA_LLM_BASE_URL``, ``QA_LLM_MODEL``, ``QA_LLM_TIMEOUT_S``,
``QA_LLM_CONNECT_TIMEOUT_S``, ``QA_LLM_MAX_TOKENS``, ``QA_LLM_PASSAGES``, ``QA_LLM_PASSAGE_CHARS``,
``QA_LLM_CONTEXT_TOKENS``, ``QA_LLM_TOKENS_PER_CHAR``, then the ``[llm]`` table of a TOML file
(``--llm-config FILE`` or ``QA_LLM_CONFIG``). The API key only ever comes from the environment:
``QA_LLM_API_KEY``, or the variable named by ``api_key_env`` in the file.

The model's context size is asked of the server once, in the background (vLLM's ``/v1/models``
``max_model_len``, llama.cpp server's ``/props`` ``n_ctx``); a server that does not say
(llama-cpp-python, Ollama) gets ``context_tokens`` from the settings. The prompt is sized to it.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import openai

from qa.errors import BadInput, LLMError

DEFAULT_TIMEOUT_S = 30.0  # the user has the extractive answer no later than this
DEFAULT_CONNECT_TIMEOUT_S = 3.0
DEFAULT_MAX_TOKENS = 200  # three short Chinese sentences with markers; a model that runs on stops here
DEFAULT_PASSAGES = 5  # top passages sent; fewer for a small local model on a few cores
DEFAULT_PASSAGE_CHARS = 600
DEFAULT_CONTEXT_TOKENS = 4096  # when the server does not say (llama.cpp's default n_ctx)
DEFAULT_TOKENS_PER_CHAR = 1.0  # Chinese on a multilingual tokenizer; 2 for English ones (SmolLM2)
_FIELDS = {
    "base_url": str,
    "model": str,
    "api_key_env": str,
    "timeout_s": float,
    "connect_timeout_s": float,
    "max_tokens": int,
    "temperature": float,
    "passages": int,
    "passage_chars": int,
    "context_tokens": int,
    "tokens_per_char": float,
}


@dataclass
class LLMConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.1
    passages: int = DEFAULT_PASSAGES
    passage_chars: int = DEFAULT_PASSAGE_CHARS
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    tokens_per_char: float = DEFAULT_TOKENS_PER_CHAR


def _read_file(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"LLM 配置文件不存在：{path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise BadInput(f"LLM 配置文件 {path} 无法读取：{e}") from None
    table = data.get("llm", {})
    if not isinstance(table, dict):
        raise BadInput(f"LLM 配置文件 {path} 中的 [llm] 应为表。")
    for key, value in table.items():
        want = _FIELDS.get(key)
        if want is None:
            raise BadInput(f"LLM 配置文件 {path} 有未知字段 llm.{key}；可用字段：{', '.join(_FIELDS)}。")
        if not isinstance(value, (int, float) if want is float else want) or isinstance(value, bool):
            raise BadInput(f"LLM 配置文件 {path} 的字段 llm.{key} 类型不对，应为 {want.__name__}。")
    return table


def _number(raw, name: str, kind=float):
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise BadInput(f"设置 {name} 应为数字，收到 {raw!r}。") from None
    if value <= 0:
        raise BadInput(f"设置 {name} 应大于 0，收到 {raw!r}。")
    return value


def load_llm_config(
    base_url: str | None = None,
    model: str | None = None,
    config_file: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> LLMConfig | None:
    """The LLM settings, or None when no base URL is configured anywhere (extractive answers only).

    >>> load_llm_config(env={}) is None
    True
    >>> load_llm_config("http://127.0.0.1:8080/v1", env={"QA_LLM_MODEL": "qwen", "QA_LLM_TIMEOUT_S": "5"}).timeout_s
    5.0
    """
    file_path = config_file or env.get("QA_LLM_CONFIG")
    table = _read_file(Path(file_path)) if file_path else {}
    url = base_url or env.get("QA_LLM_BASE_URL") or table.get("base_url")
    if not url:
        return None
    name = model or env.get("QA_LLM_MODEL") or table.get("model")
    if not name:
        raise BadInput("已设置 LLM 地址，但没有模型名：请用 --llm-model、QA_LLM_MODEL 或配置文件的 llm.model 指定。")
    key_env = table.get("api_key_env", "QA_LLM_API_KEY")

    def pick(key: str, var: str, default, kind=float):
        raw = env.get(var, table.get(key, default))
        return _number(raw, var if var in env else f"llm.{key}", kind)

    return LLMConfig(
        base_url=url,
        model=name,
        api_key=env.get(key_env) or None,
        timeout_s=pick("timeout_s", "QA_LLM_TIMEOUT_S", DEFAULT_TIMEOUT_S),
        connect_timeout_s=pick("connect_timeout_s", "QA_LLM_CONNECT_TIMEOUT_S", DEFAULT_CONNECT_TIMEOUT_S),
        max_tokens=pick("max_tokens", "QA_LLM_MAX_TOKENS", DEFAULT_MAX_TOKENS, int),
        temperature=float(table.get("temperature", 0.1)),
        passages=pick("passages", "QA_LLM_PASSAGES", DEFAULT_PASSAGES, int),
        passage_chars=pick("passage_chars", "QA_LLM_PASSAGE_CHARS", DEFAULT_PASSAGE_CHARS, int),
        context_tokens=pick("context_tokens", "QA_LLM_CONTEXT_TOKENS", DEFAULT_CONTEXT_TOKENS, int),
        tokens_per_char=pick("tokens_per_char", "QA_LLM_TOKENS_PER_CHAR", DEFAULT_TOKENS_PER_CHAR),
    )


def _classify(e: BaseException, cfg: LLMConfig) -> LLMError:
    if isinstance(e, openai.APITimeoutError):
        return LLMError("timeout", f"模型服务超时（{cfg.timeout_s:g} 秒内没有答完）")
    if isinstance(e, openai.APIConnectionError):
        return LLMError("connection", f"连不上模型服务 {cfg.base_url}")
    if isinstance(e, openai.APIStatusError):
        return LLMError("http_status", f"模型服务返回 HTTP {e.status_code}")
    return LLMError("bad_response", f"模型服务的回复无法解析（{type(e).__name__}）")


def _get_json(url: str, api_key: str | None, timeout: float) -> dict | None:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = json.loads(r.read(1_000_000))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def server_context(cfg: LLMConfig, timeout: float = 2.0) -> int | None:
    """The context size (tokens) the server reports for ``cfg.model``, or None when it does not say."""
    models = _get_json(cfg.base_url.rstrip("/") + "/models", cfg.api_key, timeout) or {}
    data = [m for m in models.get("data") or [] if isinstance(m, dict)]
    for m in [m for m in data if m.get("id") == cfg.model] or (data if len(data) == 1 else []):
        for key in ("max_model_len", "context_length", "context_window", "n_ctx"):
            if isinstance(m.get(key), int) and m[key] > 0:
                return m[key]
    root = cfg.base_url.rstrip("/").removesuffix("/v1")
    props = _get_json(root + "/props", cfg.api_key, timeout) or {}
    n_ctx = props.get("n_ctx") or (props.get("default_generation_settings") or {}).get("n_ctx")
    return n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None


class LLMClient:
    """Streams a chat completion's text, all within ``cfg.timeout_s`` from the call."""

    def __init__(self, cfg: LLMConfig):
        self.cfg = cfg
        timeout = openai.Timeout(cfg.timeout_s, connect=cfg.connect_timeout_s)
        self._client = openai.OpenAI(
            base_url=cfg.base_url, api_key=cfg.api_key or "not-needed", timeout=timeout, max_retries=0
        )
        self._context: int | None = None
        self._asked = threading.Thread(target=self._ask_context, name="qa-llm-context", daemon=True)
        self._asked.start()  # in the background: a slow server must not delay the first answer

    def _ask_context(self) -> None:
        self._context = server_context(self.cfg, timeout=min(2.0, self.cfg.connect_timeout_s))

    def context_tokens(self, wait_s: float = 0.5) -> int:
        """The model's context: as the server reported it (waiting up to ``wait_s`` for the answer),
        else ``cfg.context_tokens``."""
        self._asked.join(timeout=wait_s)
        return self._context or self.cfg.context_tokens

    def max_tokens(self, context: int) -> int:
        """The answer's token cap: the setting, at most a quarter of the context."""
        return max(16, min(self.cfg.max_tokens, context // 4))

    def _work(self, messages: list[dict], max_tokens: int, out: queue.Queue, stop: threading.Event) -> None:
        try:
            stream = self._client.chat.completions.create(
                model=self.cfg.model,
                messages=messages,
                stream=True,
                max_tokens=max_tokens,
                temperature=self.cfg.temperature,
            )
            try:
                for chunk in stream:
                    if stop.is_set():
                        break
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        out.put(("text", delta))
            finally:
                stream.close()
            out.put(("end", None))
        except BaseException as e:  # every failure becomes a fallback, never a failed request
            out.put(("error", e))

    def stream(self, messages: list[dict], context: int | None = None) -> Iterator[str]:
        """Text pieces as they arrive; raises LLMError on failure or when the deadline passes."""
        deadline = time.monotonic() + self.cfg.timeout_s
        out: queue.Queue = queue.Queue()
        stop = threading.Event()
        cap = self.max_tokens(context or self.context_tokens(0.0))
        threading.Thread(target=self._work, args=(messages, cap, out, stop), name="qa-llm", daemon=True).start()
        got_text = False
        try:
            while True:
                try:
                    kind, value = out.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise LLMError("timeout", f"模型服务超时（{self.cfg.timeout_s:g} 秒内没有答完）") from None
                if kind == "text":
                    got_text = True
                    yield value
                elif kind == "error":
                    raise _classify(value, self.cfg)
                else:
                    if not got_text:
                        raise LLMError("empty", "模型没有给出回答")
                    return
        finally:
            stop.set()  # the worker stops reading at its next piece; its own timeouts bound the rest
