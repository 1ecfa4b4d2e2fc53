"""The optional LLM answer through ``POST /api/ask``: whatever the LLM server does, the user gets a
cited answer and ``answer_mode`` says what happened. The LLM side is a scripted real HTTP server
(tests/llm_fakes.py); the archive side a fixed five-passage answer, so no model is loaded here."""

from __future__ import annotations

import time

import pytest

from llm_fakes import ScriptedLLM
from qa.answer.grounded import SentenceGate, build_messages
from qa.answer.llm import LLMClient, LLMConfig, LLMError, load_llm_config
from qa.config import Settings
from qa.errors import BadInput
from qa.types import Answer, Citation, Filters, Hit
from qa.app import create_app

PASSAGES = [
    ("问需于企 精准滴灌", "2026-04-01", "2025年，全市新增省级以上专精特新中小企业207家、专精特新“小巨人”企业14家。"),
    ("让“小体量”更有“含金量”", "2025-07-29", "聊城市有207家企业入选，有效期内企业达950家，总量位居全省第六。"),
    ("锻造高质量发展“生力军”", "2025-07-29", "累计为2200余家中小企业提供近400亿元信贷支持。"),
    ("改革出实招 群众享红利", "2026-04-01", "高唐县为企业和群众节约资金600余万元。"),
    ("我市2家企业入选", "2026-04-01", "金蔡伦纸业、东阿阿胶两家企业成功入选工业和信息化部名单。"),
]
EXTRACTIVE = "2025年，全市新增省级以上专精特新中小企业207家、专精特新“小巨人”企业14家。[1]"


class FiveService:
    """Answers every question with the same five passages (the archive side is tested elsewhere)."""

    def __init__(self):
        self.reader = type("R", (), {"version": "v000001"})()

    def ask(self, question, top_k=5, date_from=None, date_to=None, paper=None, page=None):
        hits = [Hit(i, f"c{i}", 0.03, text, Citation("聊城日报", date, None, 1, None, title, f"seeds/x.txt#a{i}", "seeds/x.txt"))
                for i, (title, date, text) in enumerate(PASSAGES)]
        return Answer(question, EXTRACTIVE, True, Filters(date_from, date_to, paper, page), hits, 5.0, "v000001")

    def maybe_reload(self):
        return False


def ask(llm_url: str | None, timeout_s: float = 5.0, question: str = "2025年聊城新增多少家“小巨人”企业？") -> dict:
    settings = Settings(rate_limit=None, reload_interval_s=3600, llm_base_url=llm_url, llm_model="tiny")
    import os
    os.environ["QA_LLM_TIMEOUT_S"] = str(timeout_s)
    try:
        app = create_app(settings, service=FiveService())
    finally:
        del os.environ["QA_LLM_TIMEOUT_S"]
    r = app.test_client().post("/api/ask", json={"question": question})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def assert_cited(body: dict) -> None:
    assert "[1]" in body["answer"] and len(body["passages"]) == 5


def test_without_llm_the_answer_is_extractive():
    body = ask(None)
    assert body["answer"] == EXTRACTIVE and body["answer_mode"] == "extractive" and body["llm"] is None


def test_supported_llm_answer_is_shown_with_its_markers():
    reply = "2025年，聊城新增专精特新“小巨人”企业14家。[1]全市有207家企业入选。[2]"
    with ScriptedLLM(reply=reply) as llm:
        body = ask(llm.url)
        prompt = llm.requests[0]["messages"][1]["content"]
    assert body["answer_mode"] == "llm" and body["answer"] == reply and body["answer_mode_reason"] is None
    assert "[1] 聊城日报 2026-04-01 第1版《问需于企 精准滴灌》" in prompt and "[5] " in prompt
    assert body["turn"]["article_ids"] == ["seeds/x.txt#a0", "seeds/x.txt#a1"]


def test_sentence_citing_a_passage_not_sent_is_removed():
    reply = "2025年新增“小巨人”企业14家。[1]另有30家企业获评。[9]"
    with ScriptedLLM(reply=reply) as llm:
        body = ask(llm.url)
    assert body["answer_mode"] == "llm" and body["answer"] == "2025年新增“小巨人”企业14家。[1]"
    assert "[9]" in body["answer_mode_reason"] and body["llm"]["sentences_dropped"][0]["sentence"].endswith("[9]")


def test_answer_citing_only_missing_passages_falls_back():
    with ScriptedLLM(reply="新增“小巨人”企业14家。[9]") as llm:
        body = ask(llm.url)
    assert body["answer_mode"] == "llm_fallback" and body["answer"] == EXTRACTIVE
    assert "[9]" in body["answer_mode_reason"]


def test_number_in_no_passage_falls_back():
    with ScriptedLLM(reply="2025年聊城新增“小巨人”企业15家。[1]") as llm:
        body = ask(llm.url)
    assert body["answer_mode"] == "llm_fallback" and body["answer"] == EXTRACTIVE
    assert "15" in body["answer_mode_reason"]
    assert_cited(body)


def test_sentence_without_marker_is_removed():
    with ScriptedLLM(reply="聊城的企业发展很好。新增“小巨人”企业14家。[1]") as llm:
        body = ask(llm.url)
    assert body["answer"] == "新增“小巨人”企业14家。[1]" and "没有标注来源" in body["answer_mode_reason"]


@pytest.mark.parametrize("mode, code", [("http500", "http_status"), ("garbage", "bad_response"),
                                        ("refuse", "connection")])
def test_llm_failures_fall_back_to_the_extractive_answer(mode, code):
    with ScriptedLLM(mode) as llm:
        body = ask(llm.url)
    assert body["answer_mode"] == "llm_fallback" and body["answer"] == EXTRACTIVE
    assert body["llm"]["reason_code"] == code and body["answer_mode_reason"]
    assert_cited(body)


def test_stalled_llm_costs_at_most_the_timeout():
    with ScriptedLLM("stall", stall_s=8) as llm:
        started = time.monotonic()
        body = ask(llm.url, timeout_s=1.0)
        elapsed = time.monotonic() - started
    assert body["answer_mode"] == "llm_fallback" and body["llm"]["reason_code"] == "timeout"
    assert "超时" in body["answer_mode_reason"] and body["answer"] == EXTRACTIVE
    assert elapsed < 4.0  # bounded by the 1 s deadline (plus app start), not by the 8 s stall


def test_client_streams_pieces_and_raises_on_failure():
    with ScriptedLLM(reply="一二三四五六七八九十") as llm:
        pieces = list(LLMClient(LLMConfig(llm.url, "tiny")).stream([{"role": "user", "content": "?"}]))
    assert "".join(pieces) == "一二三四五六七八九十" and len(pieces) == 2
    with ScriptedLLM("http500") as llm, pytest.raises(LLMError) as e:
        list(LLMClient(LLMConfig(llm.url, "tiny")).stream([{"role": "user", "content": "?"}]))
    assert e.value.code == "http_status" and "500" in e.value.reason


def test_gate_waits_for_a_marker_split_across_pieces():
    gate = SentenceGate(["新增207家"])
    assert gate.feed("新增207家。") == [] and gate.feed("[") == []
    assert gate.feed("1]下一句") == ["新增207家。[1]"]
    assert gate.finish() == [] and gate.dropped[0].why == "没有标注来源[n]"


def test_prompt_numbers_passages_with_citations():
    hits = FiveService().ask("?").passages
    user = build_messages("新增多少家？", hits)[1]["content"]
    assert user.index("[1] 聊城日报 2026-04-01") < user.index("[2] 聊城日报 2025-07-29") and user.endswith("标注[n]。")


def test_settings_from_env_and_config_file(tmp_path):
    cfg = tmp_path / "qa.toml"
    cfg.write_text('[llm]\nbase_url = "http://10.0.0.5:8000/v1"\nmodel = "qwen"\ntimeout_s = 12\n', encoding="utf-8")
    got = load_llm_config(config_file=str(cfg), env={"QA_LLM_API_KEY": "k"})
    assert (got.base_url, got.model, got.timeout_s, got.api_key) == ("http://10.0.0.5:8000/v1", "qwen", 12.0, "k")
    assert load_llm_config(config_file=str(cfg), env={"QA_LLM_MODEL": "llama", "QA_LLM_TIMEOUT_S": "3"}).model == "llama"
    cfg.write_text('[llm]\nbase_url = "http://x/v1"\ntimeout = 3\n', encoding="utf-8")
    with pytest.raises(BadInput, match="llm.timeout"):
        load_llm_config(config_file=str(cfg), env={})
    with pytest.raises(BadInput, match="QA_LLM_TIMEOUT_S"):
        load_llm_config("http://x/v1", "m", env={"QA_LLM_TIMEOUT_S": "soon"})
