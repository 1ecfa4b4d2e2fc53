"""The LLM path against a real OpenAI-compatible server running a real small model on this machine
(llama-cpp-python's server with SmolLM2-135M-Instruct, see qa/answer/local_llm.py). The model is tiny
and weak at Chinese: whatever it writes, the user must get a cited answer whose every LLM sentence
passed the checks, and ``answer_mode`` must say which it was."""

from __future__ import annotations

import json

import pytest
from test_chat_llm import EXTRACTIVE, FiveService

from qa.answer import local_llm
from qa.answer.grounded import evidence_texts
from qa.answer.verify import check_sentence, split_claims
from qa.app import create_app
from qa.config import Settings

pytestmark = pytest.mark.llm

QUESTION = "2025年聊城新增多少家专精特新“小巨人”企业？"


def test_llama_cpp_is_built_without_amx(tmp_path):
    """A native build on a CPU with AMX segfaults on the first decode (issue 25.4): the installed
    llama.cpp must not use AMX on any CPU, and is known for what it is on this one."""
    if local_llm.importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python 未安装")
    info = local_llm.build_info()
    assert "AVX2 = 1" in info, info  # the line is the one the check reads
    assert not local_llm.amx_build(info), f"llama.cpp built with AMX ({info}); rebuild with scripts/install.sh"
    assert local_llm.amx_build("CPU : AVX2 = 1 | AMX_INT8 = 1 | OPENMP = 1 |")
    flags = tmp_path / "cpuinfo"
    flags.write_text("flags\t\t: fpu avx2 amx_bf16 amx_tile amx_int8\n", encoding="utf-8")
    assert local_llm.cpu_has_amx(flags) and not local_llm.cpu_has_amx(tmp_path / "none")


@pytest.fixture(scope="module")
def llm():
    why = local_llm.missing()
    if why:
        pytest.skip(why)
    with local_llm.LocalLLM() as server:
        yield server


@pytest.fixture(scope="module")
def client(llm, tmp_path_factory):
    # Two short passages and few tokens: the model runs on 2 shared cores. Generous deadline.
    cfg = tmp_path_factory.mktemp("llm") / "qa.toml"
    cfg.write_text("[llm]\npassages = 2\npassage_chars = 200\nmax_tokens = 60\ntimeout_s = 300\n", encoding="utf-8")
    settings = Settings(
        rate_limit=None, reload_interval_s=3600, llm_base_url=llm.url, llm_model=llm.model, llm_config=str(cfg)
    )
    return create_app(settings, service=FiveService()).test_client()


def assert_checked(body: dict) -> None:
    """Every sentence shown passed the checks against the passages it cites; the mode says what happened."""
    assert body["answer"] and body["passages"]
    assert body["answer_mode"] in ("llm", "llm_fallback")
    if body["answer_mode"] == "llm_fallback":
        assert body["answer"] == EXTRACTIVE and body["answer_mode_reason"]
        return
    evidence = evidence_texts(FiveService().ask("?").passages[:2], 200)
    for sentence in split_claims(body["answer"]):
        assert check_sentence(sentence, evidence).ok, sentence
    assert body["llm"]["first_token_ms"] is not None and body["llm"]["sentences_kept"] >= 1


def test_real_llm_answer_is_checked_or_falls_back(client):
    r = client.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 200
    body = r.get_json()
    assert_checked(body)
    assert body["llm"]["total_ms"] > 0 and body["llm"]["reason_code"] not in ("connection", "http_status")


def test_real_llm_stream_shows_sources_first_and_only_checked_sentences(client):
    r = client.post("/api/ask/stream", json={"question": QUESTION})
    events = []
    for block in r.get_data(as_text=True).strip().split("\n\n"):
        head, data = block.split("\n", 1)
        events.append((head[len("event: ") :], json.loads(data[len("data: ") :])))
    names = [e for e, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and set(names[1:-1]) <= {"delta"}
    done = events[-1][1]
    assert_checked(done)
    deltas = "".join(d["text"] for e, d in events if e == "delta")
    assert deltas == (done["answer"] if done["answer_mode"] == "llm" else "")
