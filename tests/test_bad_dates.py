"""Dates no newspaper carries (issue 24.2): skipped by name at ingest, a 400 for ``as_of``, and no
overflow when an index already holds such a date (「明天」 on 9999-12-31, 「上周」 on 0001-01-01)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.app import create_app
from qa.cli import cli
from qa.config import Settings
from qa.ingest import read_archive
from qa.service import Service
from qa.store import build_from_pages
from qa.time.grammar import Anchor, find_spans
from qa.time.question import parse_date_range
from qa.types import Article, Page

from fakes import FakeEmbedder

TEXT = "明天举行防汛演练活动，市民可到现场观摩。"


def _page(day: str, root: str = "/a") -> Page:
    return Page(
        f"{root}/{day}/01.txt",
        "聊城日报",
        day,
        1,
        TEXT,
        f"{day}/01.txt",
        root,
        articles=[Article(f"{day}#a1", "防汛演练", TEXT)],
    )


@pytest.fixture(scope="module")
def far_index(tmp_path_factory) -> Path:
    """An index built before dates were bounded: its newest issue is 9999-12-31."""
    ix = tmp_path_factory.mktemp("far-index")
    build_from_pages(
        [_page("2024-06-01"), _page("9999-12-31"), _page("0001-01-01")],
        ["/a"],
        ix,
        embedder=FakeEmbedder(),
        progress=False,
        log=lambda m: None,
    )
    return ix


@pytest.fixture(scope="module")
def client(far_index):
    app = create_app(Settings(index=far_index, rate_limit=None), service=Service(far_index, embedder=FakeEmbedder()))
    return app.test_client()


def test_out_of_range_dates_are_skipped_by_name_in_every_layout(tmp_path) -> None:
    arc = tmp_path / "arc"
    for day in ("2024-06-01", "0001-01-01", "9999-12-31"):
        (arc / "聊城日报" / day).mkdir(parents=True)
        (arc / "聊城日报" / day / "01.txt").write_text(TEXT, encoding="utf-8")
    lines = [{"id": "ok", "date": "2024-06-02", "text": TEXT}, {"id": "far", "date": "9999-12-31", "text": TEXT}]
    (arc / "cms.jsonl").write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    (arc / "scans").mkdir()
    (arc / "scans" / "a.txt").write_text(TEXT, encoding="utf-8")
    (arc / "scans" / "manifest.csv").write_text("file,paper,date,page\na.txt,聊城日报,1799-12-31,1\n", encoding="utf-8")
    report = read_archive([arc])
    assert sorted(p.date for p in report.pages) == ["2024-06-01", "2024-06-02"]
    reasons = {(Path(s.source).name, s.line): s.reason for s in report.skipped}
    assert "超出报纸档案的合理范围" in reasons[("01.txt", None)]
    assert {s.source.split("/")[-2] for s in report.skipped if s.source.endswith("01.txt")} == {
        "0001-01-01",
        "9999-12-31",
    }
    assert "9999-12-31" in reasons[("cms.jsonl", 2)] and "1799-12-31" in reasons[("manifest.csv", 2)]


@pytest.mark.parametrize(
    "question, ref",
    [
        ("明天有什么活动", dt.date(9999, 12, 31)),
        ("下周有什么活动", dt.date(9999, 12, 31)),
        ("上周有什么活动", dt.date(1, 1, 1)),
        ("近日", dt.date(1, 1, 1)),
        ("去年上半年", dt.date(1, 1, 1)),
        ("明年", dt.date(9999, 12, 31)),
    ],
)
def test_relative_words_at_the_ends_of_the_calendar_resolve_to_nothing(question, ref) -> None:
    find_spans(question, Anchor(ref))
    find_spans(question, Anchor(ref, text=True))
    assert parse_date_range(question, ref) is None or parse_date_range(question, ref).date_from


def test_an_index_holding_year_9999_still_answers_tomorrow(far_index, client) -> None:
    answer = Service(far_index, embedder=FakeEmbedder()).ask("明天有什么活动")
    assert answer.answer
    resp = client.post("/api/ask", json={"question": "明天有什么活动"})
    assert resp.status_code == 200, resp.get_data(as_text=True)


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1799-12-31"])
def test_as_of_out_of_range_is_a_400_in_the_one_error_shape(client, as_of) -> None:
    for resp in (
        client.post("/api/ask", json={"question": "明天有什么活动", "as_of": as_of}),
        client.post("/api/ask", json={"question": "上周有什么活动", "as_of": as_of}),
        client.get(f"/api/timeline?q=明天&as_of={as_of}"),
    ):
        assert resp.status_code == 400, resp.get_data(as_text=True)
        assert resp.get_json()["error"]["code"] == "bad_request"
        assert "合理范围" in resp.get_json()["error"]["message"]


def test_cli_as_of_out_of_range_is_one_sentence(far_index, monkeypatch) -> None:
    import qa.service

    monkeypatch.setattr(qa.service, "load_embedder", lambda name=None, device=None: FakeEmbedder())
    result = CliRunner().invoke(cli, ["ask", "明天有什么活动", "--index", str(far_index), "--as-of", "9999-12-31"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("错误：") and "合理范围" in result.stderr
