"""Defects an outside probe found (issue 14): index paths, empty sources, lock waits, empty stats,
one source card per article, and a period that must not hide the only real answer."""

from __future__ import annotations

import fcntl
import os

import pytest
from click.testing import CliRunner

from qa.cli import cli
from qa.errors import IndexLocked
from qa.service import Service
from qa.store import IndexReader, build_from_pages, current_version, index_stats
from qa.types import Article, Page

from fakes import FakeEmbedder

ODD_NAMES = ["with space", "x #1?%41", "idx%2541", "idx%41", "报纸 索引", "a?b", "50%"]


def pages(root: str, word: str) -> list[Page]:
    text = f"{word}防汛工作会议召开，要求各地加强巡查。"
    return [
        Page(
            f"{root}/01.txt",
            "聊城日报",
            "2025-07-29",
            1,
            text,
            "01.txt",
            root,
            articles=[Article(f"{root}#a1", f"{word}会议", text)],
        )
    ]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_index_folders_with_odd_names_build_read_and_answer(tmp_path, name):
    ix = tmp_path / name
    build_from_pages(pages("/a", "东昌府"), ["/a"], ix, embedder=FakeEmbedder(), progress=False, log=lambda m: None)
    with IndexReader.open(ix) as r:
        assert r.counts()["chunks"] == 1 and r.issue_dates() == ["2025-07-29"]
    answer = Service(ix, embedder=FakeEmbedder()).ask("东昌府防汛会议有什么要求？")
    assert answer.passages and answer.passages[0].citation.date == "2025-07-29"
    assert index_stats(ix)["chunks"] == 1
    # Nothing was written beside the index folder (a raw path in a SQLite URI used to create one).
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_percent_encoded_look_alike_folders_each_read_their_own(tmp_path):
    fake = FakeEmbedder()
    build_from_pages(pages("/a", "甲"), ["/a"], tmp_path / "idx%41", embedder=fake, progress=False, log=lambda m: None)
    build_from_pages(
        pages("/b", "乙"), ["/b"], tmp_path / "idx%2541", embedder=fake, progress=False, log=lambda m: None
    )
    with IndexReader.open(tmp_path / "idx%2541") as r:
        assert r.chunk_records([0])[0]["title"] == "乙会议"
    with IndexReader.open(tmp_path / "idx%41") as r:
        assert r.chunk_records([0])[0]["title"] == "甲会议"


@pytest.mark.slow  # the real model is loaded
def test_a_mistyped_path_publishes_nothing_and_says_why(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(tmp_path / "no-such-folder"), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 1
    assert "路径不存在" in result.stderr and "未发布" in result.stderr
    assert current_version(tmp_path / "ix") is None


def test_a_mistyped_path_keeps_the_live_index_and_its_pages(tmp_path, seeds_dir):
    ix = tmp_path / "ix"
    archive = tmp_path / "archive" / "聊城日报" / "2025-07-29"
    archive.mkdir(parents=True)
    (archive / "01_要闻.txt").write_text("防汛会议召开\n\n会议要求各地加强巡查，落实责任。\n", encoding="utf-8")
    from qa.store import build_index

    first = build_index([archive], ix, embedder=FakeEmbedder(), progress=False, log=lambda m: None)
    again = build_index(
        [tmp_path / "archive" / "聊城日报" / "2025-07-30"],
        ix,
        embedder=FakeEmbedder(),
        progress=False,
        log=lambda m: None,
    )
    assert again.nothing_read and not again.published
    assert current_version(ix) == first.version and index_stats(ix)["pages"] == 1


def test_a_second_build_says_it_is_waiting_for_the_lock(tmp_path):
    ix = tmp_path / "ix"
    ix.mkdir()
    said: list[str] = []
    fd = os.open(ix / ".lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(IndexLocked):
            build_from_pages(pages("/a", "甲"), ["/a"], ix, embedder=FakeEmbedder(), lock_timeout=0.3, log=said.append)
    finally:
        os.close(fd)
    assert any("等待" in m for m in said)


def test_stats_of_an_emptied_index_print_no_none(tmp_path):
    ix = tmp_path / "ix"
    fake = FakeEmbedder()
    build_from_pages(pages("/a", "甲"), ["/a"], ix, embedder=fake, progress=False, log=lambda m: None)
    build_from_pages([], ["/a"], ix, embedder=fake, progress=False, log=lambda m: None)  # every page removed
    result = CliRunner().invoke(cli, ["stats", "--index", str(ix)])
    assert result.exit_code == 0, result.output
    assert "None" not in result.stdout and "最早一期：（无）" in result.stdout


def test_sources_list_each_article_once(seeds_service):
    answer = seeds_service.ask("聊城市属企业资产总额达到多少？", top_k=10)
    ids = [p.citation.article_id for p in answer.passages]
    assert len(ids) == len(set(ids))


def test_a_period_read_from_the_question_does_not_hide_the_only_answer(seeds_service):
    # 「上半年」 alone reads as 2026's first half; the figure was printed on 2025-07-29.
    answer = seeds_service.ask("聊城市属企业上半年资产总额达到多少？")
    if answer.found:
        assert "1050亿元" in answer.answer
        cited = answer.passages[0].citation
        assert (cited.date, cited.page) == ("2025-07-29", 1)
        assert "其他日期" in answer.answer  # the widened period is said, not hidden
    else:
        assert answer.answer.startswith("档案中没有")
