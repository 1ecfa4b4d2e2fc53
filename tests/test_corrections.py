"""Corrections by the archive team on every kind of page (PDF text layer, a scan through OCR, a JSONL
record): headline, text, date and 版, on the real Flask app over a real index built from a folder
outside the data folder (fake embedder: the model is not what is tested). The source files are
never changed; the original stays retrievable; a rebuild keeps the correction; revert restores.

The tests are one story on one module-scoped site, in file order: the rebuild and revert tests check
corrections made by the tests before them, so select the whole module (``-k`` on one of them fails)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.config import Settings

import pagegen
from fakes import FakeEmbedder

pytestmark = pytest.mark.skipif(
    not pagegen.FONT.exists() or not pagegen.NEWS.exists(),
    reason="需要 fonts-wqy-zenhei 字体和 ../shared/data/news_sample.jsonl",
)
PASSWORD = "correct horse battery"
LEAD = (
    "黄河大桥今日通车",
    [
        "本报讯 聊城黄河大桥今日正式通车，全长八千米，总投资十二亿元，结束了两岸群众摆渡过河的历史。",
        "大桥位于东阿县境内，连接黄河两岸的交通要道，通车仪式上百余名建设者受到表彰。",
    ],
)
RECORDS = [
    {"id": "j1", "title": "运河古城灯会点亮夜空", "date": "2023-05-03", "paper": "聊城日报", "page": 2,
     "text": "本报讯 元宵节当晚，聊城运河古城灯会开幕，两万多盏花灯沿运河两岸排开，市民游客赏灯猜谜。"},
    {"id": "j2", "title": "东阿阿胶文化旅游节开幕", "date": "2023-05-03", "paper": "聊城日报", "page": 2,
     "text": "本报讯 第十届东阿阿胶文化旅游节在东阿县阿胶城开幕，吸引游客三万余人。"},
    {"id": "j3", "title": "徒骇河清淤工程完工", "date": "2023-05-04", "paper": "聊城日报",
     "text": "本报讯 徒骇河清淤工程日前完工，共清理淤泥十二万立方米。"},
]  # fmt: skip


def _digests(folder: Path) -> dict[str, str]:
    return {p.as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from qa.app.app import create_app
    from qa.service import Service
    from qa.store import build_index

    tmp = tmp_path_factory.mktemp("corr")
    arch, index = tmp / "arch", tmp / "index"  # a folder outside the data folder: nothing is written there
    pdf = pagegen.make_page(1, date="2023-05-01", lead=LEAD)
    pagegen.write_issue(arch, [(pdf, ".pdf", pdf.pdf)])
    gen = pagegen.make_page(2, date="2023-05-02")
    photo, boxed = gen.articles[2], gen.articles[3]
    area = tuple(f(a.box[i], b.box[i]) for i, f, a, b in zip(range(4), (min, min, max, max), [photo] * 4, [boxed] * 4))
    pagegen.write_issue(arch, [(gen, ".png", pagegen.crop_png(pagegen.render_png(gen.pdf, 200), area))])
    (arch / "export.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS), encoding="utf-8")
    build_index([str(arch)], index, embedder=FakeEmbedder(), progress=False)
    app = create_app(
        Settings(index=index, data_dir=tmp / "data", rate_limit=None, reload_interval_s=3600),
        service=Service(index, embedder=FakeEmbedder()),
    )
    accounts = app.extensions["qa_accounts"]
    tokens = {}
    for name, role in (("ed", "editor"), ("rd", "reader")):
        accounts.add_user(name, role, PASSWORD)
        tokens[role] = {"Authorization": f"Bearer {accounts.create_token(name)}"}
    return SimpleNamespace(app=app, c=app.test_client(), tokens=tokens, arch=arch, index=index, sums=_digests(arch))


def _ask(c, question: str, day: str | None = None) -> dict:
    days = {"date_from": day, "date_to": day} if day else {}
    r = c.post("/api/ask", json={"question": question, "top_k": 3, **days})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _article(c, date: str, page: int, title_part: str) -> dict:
    found = c.get(f"/api/pages/{date}/{page}").get_json()["articles"]
    return next(a for a in found if title_part in (a["title"] or ""))


def _correct(s, fix: dict) -> dict:
    r = s.c.post("/api/corrections", json=fix, headers=s.tokens["editor"])
    assert r.status_code == 200 and r.get_json()["published"], r.get_json()
    return r.get_json()


def test_only_editors_correct_and_a_session_needs_its_csrf_token(site):
    a = _article(site.c, "2023-05-01", 1, "黄河大桥")
    fix = {"date": "2023-05-01", "page": 1, "article_id": a["article_id"], "title": "黄河大桥建成通车"}
    assert site.c.post("/api/corrections", json=fix).status_code == 401
    assert site.c.post("/api/corrections", json=fix, headers=site.tokens["reader"]).status_code == 403
    browser = site.app.test_client()
    csrf = browser.post("/api/login", json={"name": "ed", "password": PASSWORD}).get_json()["csrf_token"]
    r = browser.post("/api/corrections", json=fix)  # the cookie alone: a forged cross-site request
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert browser.delete("/api/corrections/abc").status_code == 403
    bad = browser.post("/api/corrections", json={**fix, "new_date": "2023-02-30"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 400 and "new_date" in bad.get_json()["error"]["message"]
    assert site.c.get("/api/corrections?date=2023-05-01&page=1").get_json() == {"corrections": []}


def test_pdf_headline_correction_changes_the_answer_and_keeps_the_original(site):
    q = "聊城黄河大桥全长多少米？"
    before = _ask(site.c, q)["passages"][0]["citation"]
    assert before["title"] == "黄河大桥今日通车" and "corrected" not in before and before["regions"]
    fix = {"date": "2023-05-01", "page": 1, "paper": "聊城日报", "article_id": before["article_id"]}
    out = _correct(site, {**fix, "title": "聊城黄河大桥建成通车"})
    assert out["correction"]["original"]["title"] == "黄河大桥今日通车"
    after = _ask(site.c, q)["passages"][0]["citation"]
    assert after["title"] == "聊城黄河大桥建成通车" and after["corrected"] is True
    assert after["page_image"] == before["page_image"] and after["regions"]  # still drawn on its page
    assert site.c.get(after["page_image"] + "?size=small").status_code == 200
    [got] = site.c.get("/api/corrections?date=2023-05-01&page=1&paper=聊城日报").get_json()["corrections"]
    assert got["original"]["title"] == "黄河大桥今日通车" and got["corrected"] == {"title": "聊城黄河大桥建成通车"}
    assert got["article_id"] == after["article_id"] and got["user"] == "ed"
    page = site.c.get("/api/pages/2023-05-01/1").get_json()["articles"]
    [fixed] = [a for a in page if a.get("corrected")]
    assert fixed["title"] == "聊城黄河大桥建成通车" and fixed["original"]["title"] == "黄河大桥今日通车"
    assert _digests(site.arch) == site.sums  # no source file was touched


def test_ocr_scan_text_correction_changes_the_answer(site):
    page = site.c.get("/api/pages/2023-05-02/1").get_json()
    a = max(page["articles"], key=lambda x: len(x["body"] or ""))
    assert a["body"] and "九亿元" not in page["text"]
    text = a["body"] + "\n经核实，该项目总投资为九亿元，年底前全部完工。"
    out = _correct(site, {"date": "2023-05-02", "page": 1, "article_id": a["article_id"], "text": text})
    assert out["article"]["body"] == text  # the article as it now stands (its id names the folder indexed)
    ans = _ask(site.c, "该项目总投资为多少亿元，何时全部完工？")
    assert "九亿元" in ans["answer"], ans["answer"]
    hit = next(p["citation"] for p in ans["passages"] if p["citation"]["article_id"] == out["article"]["article_id"])
    assert hit["corrected"] is True and hit["page_image"]
    [got] = site.c.get("/api/corrections?date=2023-05-02&page=1").get_json()["corrections"]
    assert got["original"]["text"] == a["body"] and "九亿元" in got["corrected"]["text"]
    assert _digests(site.arch) == site.sums


def test_date_and_page_correction_moves_the_article_to_its_new_day(site):
    q = "运河古城灯会有多少盏花灯？"
    assert _ask(site.c, q, "2023-05-03")["passages"][0]["citation"]["article_id"] == "j1"
    out = _correct(site, {"date": "2023-05-03", "page": 2, "article_id": "j1", "new_date": "2024-02-24", "new_page": 3})
    assert out["correction"]["corrected"] == {"date": "2024-02-24", "page": 3}
    hit = _ask(site.c, q, "2024-02-24")["passages"][0]["citation"]
    assert (hit["article_id"], hit["date"], hit["page"], hit["corrected"]) == ("j1", "2024-02-24", 3, True)
    assert all(p["citation"]["article_id"] != "j1" for p in _ask(site.c, q, "2023-05-03")["passages"])
    again = {"date": "2024-02-24", "page": 3, "article_id": "j1", "title": "运河古城元宵灯会点亮夜空"}
    assert _correct(site, again)["correction"]["corrected"] == {
        "date": "2024-02-24",
        "page": 3,
        "title": again["title"],
    }
    hit = _ask(site.c, q, "2024-02-24")["passages"][0]["citation"]  # corrected again where it now stands
    assert (hit["title"], hit["date"], hit["corrected"]) == (again["title"], "2024-02-24", True)
    for date, page in (("2023-05-03", 2), ("2024-02-24", 3)):  # listed on the page it left and the one it joined
        [got] = site.c.get(f"/api/corrections?date={date}&page={page}").get_json()["corrections"]
        assert got["original"]["date"] == "2023-05-03" and got["original"]["page"] == 2
    # a PDF article moved to another day keeps its page image: it stays drawn where it was printed
    pdf_page = site.c.get("/api/pages/2023-05-01/1").get_json()["articles"]
    other = next(a for a in pdf_page if a["title"] and "黄河大桥" not in a["title"])
    _correct(site, {"date": "2023-05-01", "page": 1, "article_id": other["article_id"], "new_date": "2023-05-09"})
    moved = next(
        p["citation"] for p in _ask(site.c, other["title"], "2023-05-09")["passages"]
        if p["citation"]["article_id"] == other["article_id"]
    )  # fmt: skip
    assert moved["date"] == "2023-05-09" and moved["page_image"] and moved["regions"] and moved["corrected"]
    assert site.c.get(moved["page_image"]).status_code == 200
    assert other["article_id"] in {
        a["article_id"] for a in site.c.get("/api/pages/2023-05-09/1").get_json()["articles"]
    }


def test_a_jsonl_record_without_a_page_number_is_corrected(site):
    q = "徒骇河清淤工程清理淤泥多少立方米？"
    hit = _ask(site.c, q)["passages"][0]["citation"]
    assert (hit["article_id"], hit["page"]) == ("j3", None)
    fix = {
        "date": "2023-05-04",
        "page": None,
        "article_id": "j3",
        "text": "本报讯 徒骇河清淤工程日前完工，共清理淤泥十五万立方米。",
    }
    _correct(site, fix)
    ans = _ask(site.c, q)
    assert "十五万立方米" in ans["answer"] and ans["passages"][0]["citation"]["corrected"] is True


def test_a_rebuild_keeps_every_correction(site):
    from qa.store import build_index

    build_index([str(site.arch)], site.index, embedder=FakeEmbedder(), progress=False, rebuild=True)
    site.app.extensions["qa_reloader"].check_now()
    hit = _ask(site.c, "聊城黄河大桥全长多少米？")["passages"][0]["citation"]
    assert hit["title"] == "聊城黄河大桥建成通车" and hit["corrected"] is True
    assert _ask(site.c, "运河古城灯会有多少盏花灯？", "2024-02-24")["passages"][0]["citation"]["article_id"] == "j1"


def test_revert_restores_the_original_and_is_audited(site):
    listed = site.c.get("/api/corrections?date=2023-05-01&page=1").get_json()["corrections"]
    [got] = [e for e in listed if "title" in e["corrected"]]
    assert site.c.delete(f"/api/corrections/{got['id']}").status_code == 401
    assert site.c.delete(f"/api/corrections/{got['id']}", headers=site.tokens["reader"]).status_code == 403
    r = site.c.delete(f"/api/corrections/{got['id']}", headers=site.tokens["editor"])
    assert r.status_code == 200 and r.get_json()["published"], r.get_json()
    hit = _ask(site.c, "聊城黄河大桥全长多少米？")["passages"][0]["citation"]
    assert hit["title"] == "黄河大桥今日通车" and "corrected" not in hit  # the same article id, no longer corrected
    left = site.c.get("/api/corrections?date=2023-05-01&page=1").get_json()["corrections"]
    assert [e["id"] for e in left] == [e["id"] for e in listed if e is not got]
    assert site.c.delete(f"/api/corrections/{got['id']}", headers=site.tokens["editor"]).status_code == 404
    audit = site.app.extensions["qa_accounts"].audit_log()
    actions = [(e["actor"], e["action"]) for e in audit if e["action"].startswith("article.")]
    [undo] = [e for e in audit if e["action"] == "article.revert"]
    assert undo["detail"]["correction"] == got["id"] and undo["detail"]["original"]["title"] == "黄河大桥今日通车"
    assert ("ed", "article.revert") in actions and actions.count(("ed", "article.correct")) == 6
    log = site.app.extensions["qa_corrections"].history()
    assert log[0]["action"] == "revert" and log[0]["entry"]["original"]["title"] == "黄河大桥今日通车"
    moved = site.c.get("/api/corrections?date=2024-02-24&page=3").get_json()["corrections"][0]
    assert site.c.delete(f"/api/corrections/{moved['id']}", headers=site.tokens["editor"]).status_code == 200
    q = "运河古城灯会有多少盏花灯？"
    hit = _ask(site.c, q, "2023-05-03")["passages"][0]["citation"]  # back on the day it was printed
    assert (hit["article_id"], hit["date"], hit["page"], "corrected" in hit) == ("j1", "2023-05-03", 2, False)
    assert hit["title"] == "运河古城灯会点亮夜空"
    assert all(p["citation"]["article_id"] != "j1" for p in _ask(site.c, q, "2024-02-24")["passages"])
    assert _digests(site.arch) == site.sums


def test_a_correction_whose_article_is_gone_is_not_applied_elsewhere():
    """A page read differently later (its article no longer there) leaves the correction unapplied and says so."""
    from qa.store import overlay
    from qa.types import Article, Page

    arts = [Article("p#a1", "甲", "第一篇。"), Article("p#a2", "乙", "第二篇。")]
    entry = {
        "id": "x",
        "ordinal": 1,
        "fingerprint": overlay.fingerprint("乙", "第二篇。"),
        "corrected": {"title": "丙"},
    }
    page = Page("/p.txt", "报", "2023-01-01", 1, "", "p.txt")
    [fixed] = overlay.apply(page, [entry], arts, print)
    assert [a.title for a in fixed.articles] == ["甲", "丙"] and fixed.printed == arts
    swapped = [arts[1], arts[0]]  # a new layout: found by content, not by place
    assert [a.title for a in overlay.apply(page, [entry], swapped, print)[0].articles] == ["丙", "甲"]
    said = []
    relaid = [Article("p#a1", "甲", "第一篇。"), Article("p#a2", "乙", "第二篇，识别结果不同。")]
    assert overlay.apply(page, [entry], relaid, said.append) == [page] and "未应用" in said[0]


def test_an_unreadable_overlay_stops_the_build_instead_of_undoing_corrections(tmp_path):
    from qa.app.app import create_app
    from qa.errors import StorageError
    from qa.service import Service
    from qa.store import build_index

    (tmp_path / "arch").mkdir()
    (tmp_path / "arch" / "a.jsonl").write_text(json.dumps(RECORDS[0], ensure_ascii=False), encoding="utf-8")
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "corrections.json").write_text('{"corrections": [', encoding="utf-8")  # cut short
    with pytest.raises(StorageError, match="校对记录"):
        build_index([str(tmp_path / "arch")], tmp_path / "index", embedder=FakeEmbedder(), progress=False)
    (tmp_path / "index" / "corrections.json").unlink()
    build_index([str(tmp_path / "arch")], tmp_path / "index", embedder=FakeEmbedder(), progress=False)
    (tmp_path / "index" / "corrections.json").write_text("[]", encoding="utf-8")  # not the overlay's shape
    app = create_app(
        Settings(index=tmp_path / "index", data_dir=tmp_path / "data", rate_limit=None),
        service=Service(tmp_path / "index", embedder=FakeEmbedder()),
    )
    r = app.test_client().post("/api/ask", json={"question": "运河古城灯会有多少盏花灯？"})
    assert r.status_code == 200 and "corrected" not in r.get_json()["passages"][0]["citation"]  # answers go on


class _Killed(BaseException):
    """The server process dying (not an error Flask would answer)."""


def test_a_server_killed_after_saving_a_correction_indexes_it_on_restart(tmp_path, monkeypatch):
    from qa.admin.corrections import Corrections
    from qa.admin.jobstore import JobStore
    from qa.app.app import create_app
    from qa.service import Service
    from qa.store import build_index

    (tmp_path / "arch").mkdir()
    (tmp_path / "arch" / "a.jsonl").write_text(json.dumps(RECORDS[0], ensure_ascii=False), encoding="utf-8")
    build_index([str(tmp_path / "arch")], tmp_path / "index", embedder=FakeEmbedder(), progress=False)

    def app():
        settings = Settings(index=tmp_path / "index", data_dir=tmp_path / "data", rate_limit=None)
        return create_app(settings, service=Service(tmp_path / "index", embedder=FakeEmbedder()))

    first = app()
    first.extensions["qa_accounts"].add_user("ed", "editor", PASSWORD)
    ed = {"Authorization": f"Bearer {first.extensions['qa_accounts'].create_token('ed')}"}
    a = _article(first.test_client(), "2023-05-03", 2, "灯会")
    fix = {"date": "2023-05-03", "page": 2, "article_id": a["article_id"], "title": "运河古城元宵灯会"}

    def die(self, *args):
        raise _Killed  # right after the overlay is saved: nothing after it runs

    monkeypatch.setattr(Corrections, "_log", die)
    with pytest.raises(_Killed):
        first.test_client().post("/api/corrections", json=fix, headers=ed)
    monkeypatch.undo()
    [job_id] = _job_ids(tmp_path)  # reserved before the overlay was written
    JobStore(tmp_path / "data").update(job_id, owner="999999999:1")  # its process is gone
    second = app()  # the restart resumes the reserved job
    assert second.extensions["qa_jobs"].get(job_id).finished.wait(60)
    cited = _ask(second.test_client(), "运河古城灯会有多少盏花灯？")["passages"][0]["citation"]
    assert cited["title"] == "运河古城元宵灯会" and cited["corrected"] is True


def _job_ids(tmp_path) -> list[str]:
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "qa.sqlite3") as db:
        return [r[0] for r in db.execute("SELECT id FROM jobs")]
