"""A three-turn conversation over the seeds with the real bundled model, through every way in:
``/api/ask`` with ``history`` and with ``conversation_id``, ``/api/ask/stream`` (SSE), and
``/v1/chat/completions`` with the official ``openai`` client, non-stream and stream.

「2025年聊城新增多少家专精特新中小企业？」 -> 「那“小巨人”企业呢？」 -> 「这是哪天的报纸登的？」:
turn 2 must answer with the 14 「小巨人」 companies, turn 3 with the 2026-04-01 issue that printed it.
"""

from __future__ import annotations

import json

import openai
import pytest
import requests

from qa.app.openai import MODEL_ID
from qa.app.serve import BackgroundServer
from qa.config import Settings

pytestmark = pytest.mark.slow

Q1, Q2, Q3 = "2025年聊城新增多少家专精特新中小企业？", "那“小巨人”企业呢？", "这是哪天的报纸登的？"
SOURCE = "聊城日报 2026-04-01 第1版《问需于企 精准滴灌》"


@pytest.fixture(scope="module")
def server(seeds_service):
    with BackgroundServer(Settings(port=0, rate_limit=None, reload_interval_s=3600), service=seeds_service) as srv:
        yield srv


def check_turn2(answer: str, first_source: str) -> None:
    assert "“小巨人”企业14家" in answer.split("[1]")[0], answer  # the first cited sentence has the count
    assert first_source == SOURCE


def check_turn3(answer: str, first_source: str) -> None:
    assert "2026-04-01" in answer and "2025-07-29" not in answer, answer
    assert first_source == SOURCE


def label(passage: dict) -> str:
    c = passage["citation"]
    return f"{c['paper']} {c['date']} 第{c['page']}版《{c['title']}》"


def post(server, path: str, body: dict) -> dict:
    r = requests.post(server.url + path, json=body, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def test_three_turns_with_history(server):
    history: list[dict] = []
    bodies = []
    for q in (Q1, Q2, Q3):
        body = post(server, "/api/ask", {"question": q, "history": history})
        history.append(body["turn"])
        bodies.append(body)
    one, two, three = bodies
    assert one["found"] and "207家" in one["answer"] and one["followup"]["kind"] == "new"
    assert two["resolved_question"] == "2025年聊城新增多少家“小巨人”企业？"
    assert two["filters"]["date_from"] == "2025-01-01" and two["followup"]["kind"] == "elliptical"
    check_turn2(two["answer"], label(two["passages"][0]))
    assert three["followup"] == {
        "kind": "about_cited",
        "aspect": "when",
        "article_ids": [two["passages"][0]["citation"]["article_id"]],
    }
    check_turn3(three["answer"], label(three["passages"][0]))
    assert all(b["answer_mode"] == "extractive" and b["conversation_id"] is None for b in bodies)


def test_three_turns_with_conversation_id(server):
    first = post(server, "/api/ask", {"question": Q1, "conversation_id": "new"})
    cid = first["conversation_id"]
    assert cid and cid != "new"
    two = post(server, "/api/ask", {"question": Q2, "conversation_id": cid})
    check_turn2(two["answer"], label(two["passages"][0]))
    three = post(server, "/api/ask", {"question": Q3, "conversation_id": cid})
    check_turn3(three["answer"], label(three["passages"][0]))
    assert three["conversation_id"] == cid


def test_unknown_conversation_is_a_clear_404(server):
    r = requests.post(server.url + "/api/ask", json={"question": Q2, "conversation_id": "gone"}, timeout=60)
    assert r.status_code == 404 and r.json()["error"]["code"] == "conversation_not_found"
    assert "新对话" in r.json()["error"]["message"]


def sse_events(resp) -> list[tuple[str, dict]]:
    events, event = [], None
    for line in resp.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            events.append((event, json.loads(line[6:])))
    return events


def test_stream_sends_sources_first_then_the_answer(server):
    first = post(server, "/api/ask", {"question": Q1})
    with requests.post(
        server.url + "/api/ask/stream", json={"question": Q2, "history": [first["turn"]]}, stream=True, timeout=120
    ) as r:
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        events = sse_events(r)
    assert [e for e, _ in events] == ["sources", "done"]  # no LLM configured: no deltas
    sources, done = events[0][1], events[-1][1]
    assert sources["passages"] == done["passages"] and sources["resolved_question"] == done["resolved_question"]
    check_turn2(done["answer"], label(done["passages"][0]))


def openai_client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def test_models_lists_the_archive(server):
    assert [m.id for m in openai_client(server).models.list()] == [MODEL_ID]


def test_openai_client_three_turns_non_stream(server):
    client = openai_client(server)
    messages: list[dict] = []
    replies = []
    for q in (Q1, Q2, Q3):
        messages.append({"role": "user", "content": q})
        resp = client.chat.completions.create(model=MODEL_ID, messages=messages)
        text = resp.choices[0].message.content
        messages.append({"role": "assistant", "content": text})
        replies.append((text, resp.model_extra))
    (t2, x2), (t3, x3) = replies[1], replies[2]
    assert "\n\n来源：\n[1] " in t2 and x2["qa"]["answer_mode"] == "extractive"
    check_turn2(t2.split("\n\n来源：")[0], label(x2["citations"][0]))
    check_turn3(t3.split("\n\n来源：")[0], label(x3["citations"][0]))
    assert f"[1] {SOURCE}" in t3


def test_openai_client_stream(server):
    client = openai_client(server)
    first = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": Q1}])
    messages = [
        {"role": "user", "content": Q1},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": Q2},
    ]
    chunks = list(client.chat.completions.create(model=MODEL_ID, messages=messages, stream=True))
    assert chunks[0].model_extra["citations"] and chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    check_turn2(text.split("\n\n来源：")[0], label(chunks[0].model_extra["citations"][0]))
    assert chunks[-1].model_extra["qa"]["resolved_question"] == "2025年聊城新增多少家“小巨人”企业？"


def test_openai_wrong_model_is_404(server):
    with pytest.raises(openai.NotFoundError) as e:
        openai_client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": Q1}])
    assert MODEL_ID in str(e.value)


def test_rows_of_articles_are_exactly_the_articles_chunks(seeds_service):
    reader = seeds_service.reader
    aid = "seeds/000_4456a7331ac78358.txt#a3"
    rows = reader.rows_of_articles([aid, "no/such#a1"])
    assert len(rows) > 1 and list(rows) == sorted(rows)
    assert {r["article_id"] for r in reader.chunk_records(list(rows))} == {aid}
    everything = reader.chunk_records(list(range(reader.n_chunks)))
    assert len(rows) == sum(r["article_id"] == aid for r in everything)
    assert len(reader.rows_of_articles([])) == 0
