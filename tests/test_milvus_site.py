"""``qa serve --backend``: the archive team's write paths publish to the Milvus the server reads, not
to an index folder nobody reads. An upload is answered from Milvus; a correction is applied by the
Milvus build (the answer cites the corrected text, marked, with the original kept) and a revert
undoes it; the overlay lives in the target's local folder (Milvus Lite, real client, fake embedder).
"""

from __future__ import annotations

import io

import pytest

from qa.config import Settings

from fakes import SEEDS, FakeEmbedder

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa.store.location import local_folder, parse_backend  # noqa: E402
from qa.store.milvus.client import forget_client  # noqa: E402

PAGE = "黄河大桥通车\n\n本报讯 聊城黄河大桥今日正式通车，全长八千米，总投资十二亿元，结束了两岸群众摆渡过河的历史。\n"
FIXED = "本报讯 聊城黄河大桥今日正式通车，全长六千米，总投资十二亿元，结束了两岸群众摆渡过河的历史。"
QUESTION = "聊城黄河大桥全长多少米？"


@pytest.fixture
def site(tmp_path):
    from qa.app.app import create_app
    from qa.service import Service
    from qa.store import build_index

    target = parse_backend(str(tmp_path / "milvus.db"))
    build_index([str(SEEDS)], target, embedder=FakeEmbedder(), progress=False)
    settings = Settings(
        index=tmp_path / "index", backend=target, data_dir=tmp_path / "data", rate_limit=None, reload_interval_s=3600
    )
    app = create_app(settings, service=Service(target, embedder=FakeEmbedder()))
    app.extensions["qa_accounts"].add_user("ed", "editor", "correct horse battery")
    token = app.extensions["qa_accounts"].create_token("ed")
    yield app, {"Authorization": f"Bearer {token}"}, tmp_path, target
    forget_client(target)


def _ask(client) -> dict:
    r = client.post("/api/ask", json={"question": QUESTION, "top_k": 3})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_upload_and_correction_publish_to_the_milvus_the_server_reads(site):
    app, editor, tmp, target = site
    c = app.test_client()
    form = {"paper": "聊城日报", "date": "2026-04-20", "files": [(io.BytesIO(PAGE.encode()), "b.txt")]}
    r = c.post("/api/issues?wait=1", data=form, headers=editor, content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["published"], r.get_json()
    before = _ask(c)
    hit = before["passages"][0]["citation"]
    assert hit["date"] == "2026-04-20" and "八千米" in before["answer"] and "corrected" not in hit

    fix = {"date": "2026-04-20", "page": 1, "paper": "聊城日报", "article_id": hit["article_id"], "text": FIXED}
    assert c.post("/api/corrections", json=fix).status_code == 401  # still needs an account
    r = c.post("/api/corrections", json=fix, headers=editor)
    assert r.status_code == 200 and r.get_json()["published"], r.get_json()
    after = _ask(c)
    assert "六千米" in after["answer"] and "八千米" not in after["answer"]
    assert after["passages"][0]["citation"].get("corrected") is True
    page = c.get("/api/pages/2026-04-20/1?paper=聊城日报").get_json()
    assert "六千米" in page["articles"][0]["body"] and "八千米" in page["articles"][0]["original"]["text"]
    assert (local_folder(target) / "corrections.json").is_file()  # beside the Lite database
    assert not (tmp / "index").exists()  # nothing went to an index folder the server does not read

    cid = r.get_json()["correction"]["id"]
    assert c.delete(f"/api/corrections/{cid}?wait=1", headers=editor).status_code == 200
    reverted = _ask(c)
    assert "八千米" in reverted["answer"] and "corrected" not in reverted["passages"][0]["citation"]

    moved = reverted["passages"][0]["citation"]["article_id"]
    move = {"date": "2026-04-20", "page": 1, "paper": "聊城日报", "article_id": moved, "new_date": "2026-04-21"}
    assert c.post("/api/corrections", json=move, headers=editor).status_code == 200
    r = c.post("/api/ask", json={"question": QUESTION, "date_from": "2026-04-21", "date_to": "2026-04-21"})
    cited = r.get_json()["passages"][0]["citation"]
    assert cited["date"] == "2026-04-21" and cited.get("corrected") is True  # cited where it now stands


def test_the_inbox_publishes_to_milvus(tmp_path):
    """``qa watch --backend`` / ``qa serve --backend --inbox``: a dropped issue is answered from Milvus."""
    from test_inbox import ISSUE_PAGE

    from qa.admin.inbox import Inbox
    from qa.service import Service
    from qa.store import build_index

    target = parse_backend(str(tmp_path / "milvus.db"))
    try:
        build_index([str(SEEDS)], target, embedder=FakeEmbedder(), progress=False)
        issue = tmp_path / "inbox" / "聊城日报" / "2026-06-01"
        issue.mkdir(parents=True)
        (issue / "01.txt").write_text(ISSUE_PAGE, encoding="utf-8")
        inbox = Inbox(tmp_path / "inbox", target, tmp_path / "archive", embedder=FakeEmbedder, poll_s=0)
        assert inbox.poll() == 0 and inbox.poll() == 1  # taken once it stopped changing
        got = Service(target, embedder=FakeEmbedder()).ask("东阿阿胶文化旅游节在哪里开幕？")
        assert got.passages[0].citation.date == "2026-06-01"
        assert not (tmp_path / "index").exists()
    finally:
        forget_client(target)
