"""Segmented index: adding an issue writes one new segment and rewrites nothing else; deleted pages
never come back; merges keep every answer; the result equals a build from scratch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa.store.folder.merge as merge
from qa.store import IndexReader, build_from_pages
from qa.store.folder.layout import DB
from qa.text.tokens import tokenize
from qa.types import Article, Page

from fakes import index_vectors

QUIET = {"log": lambda m: None, "progress": False}
TOPICS = ["防汛巡查", "企业发展", "乡村振兴", "黄河大集", "文旅融合", "教育惠民"]


def issue(date: str, n_pages: int = 2, tag: str = "") -> list[Page]:
    pages = []
    for pg in range(1, n_pages + 1):
        pid = f"/arch/{date}/{pg:02d}.txt"
        arts = [
            Article(
                f"{pid}#a{i}",
                f"{date}第{pg}版{TOPICS[(pg + i) % len(TOPICS)]}",
                f"{date}{TOPICS[(pg + i + int(date[-2:])) % len(TOPICS)]}取得新进展{tag}。第{pg}版第{i}篇报道。",
            )
            for i in range(2)
        ]
        pages.append(Page(pid, "聊城日报", date, pg, "…", pid, f"/arch/{date}", articles=arts))
    return pages


def dates(n: int) -> list[str]:
    return [f"2025-07-{d:02d}" for d in range(1, n + 1)]


def build(pages, roots, ix, emb, **kw):
    return build_from_pages(pages, roots, ix, embedder=emb, **QUIET, **kw)


def snapshot(ix: Path, emb) -> dict:
    """Everything a user can see of an index, independent of how it is split into segments."""
    with IndexReader.open(ix) as r:

        def cite(hits):
            return [
                (rec["chunk_id"], round(score, 4))
                for rec, (_, score) in zip(r.chunk_records([h for h, _ in hits]), hits)
            ]

        q = emb.encode_queries(["黄河大集取得新进展"])[0]
        return {
            "counts": r.counts(),
            "issues": r.issues(),
            "dates": r.issue_dates(),
            "dense": cite(r.dense_search(q, 8)),
            "dense_filtered": cite(r.dense_search(q, 5, r.rows_matching("2025-07-03", "2025-07-05", None, 2))),
            "bm25": cite(r.bm25_search(tokenize("文旅融合 新进展"), 8)),
            "bm25_filtered": cite(r.bm25_search(tokenize("企业发展"), 5, r.rows_matching("2025-07-02", "2025-07-04"))),
            "page": r.page("2025-07-03", 1),
        }


def test_adding_an_issue_writes_one_segment_and_touches_no_other(tmp_path, fake_embedder):
    ix = tmp_path / "ix"
    build(issue("2025-07-01"), ["/arch/2025-07-01"], ix, fake_embedder)
    first = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (ix / "segments").rglob("*")}
    r = build(issue("2025-07-02"), ["/arch/2025-07-02"], ix, fake_embedder)
    assert (r.embedded, r.reused, r.chunks) == (4, 4, 8)
    meta = json.loads((ix / r.version / "meta.json").read_text())
    assert [s["rows"] for s in meta["segments"]] == [4, 4]
    still = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (ix / "segments" / "s000001").rglob("*")}
    assert still == {k: v for k, v in first.items() if k in still} and still


def test_changed_and_removed_pages_never_come_back(tmp_path, fake_embedder):
    ix = tmp_path / "ix"
    build(issue("2025-07-01") + issue("2025-07-02"), ["/arch"], ix, fake_embedder)
    pages = issue("2025-07-01", tag="（更正）") + issue("2025-07-02")[1:]
    r = build(pages, ["/arch"], ix, fake_embedder)
    assert (r.pages_changed, r.pages_removed, r.embedded, r.chunks, r.pages) == (2, 1, 4, 6, 3)
    with IndexReader.open(ix) as rd:
        every = rd.chunk_records(list(range(rd.n_chunks)))
        assert len(every) == 6 and all("更正" in c["text"] for c in every if c["date"] == "2025-07-01")
        assert rd.page("2025-07-02", 1) is None and rd.page("2025-07-02", 2) is not None
        assert sum(len(i["pages"]) for i in rd.issues()) == 3
        hits = rd.bm25_search(tokenize("取得新进展"), 50)
        assert len(hits) == 6 and all(
            "更正" in c["text"] for c in rd.chunk_records([h for h, _ in hits]) if c["date"] == "2025-07-01"
        )
        old_article = "/arch/2025-07-02/01.txt#a0"
        assert len(rd.rows_of_articles([old_article])) == 0
        assert set(rd.rows_matching("2025-07-02", "2025-07-02").tolist()) == {
            h for h, _ in hits if rd.row_date(h) == "2025-07-02"
        }


@pytest.fixture
def small_tiers(monkeypatch):
    monkeypatch.setattr(merge, "FLOOR_ROWS", 8)
    monkeypatch.setattr(merge, "MERGE_FACTOR", 3)


def test_issue_by_issue_with_merges_equals_one_build_from_scratch(tmp_path, fake_embedder, small_tiers):
    ix, whole = tmp_path / "ix", tmp_path / "whole"
    for d in dates(7):
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder, merge="all")
    fix = issue("2025-07-03", tag="（更正）")  # a correction lands in an already merged segment
    build(fix, ["/arch/2025-07-03"], ix, fake_embedder, merge="all")
    meta = json.loads((ix / (ix / "CURRENT").read_text().strip() / "meta.json").read_text())
    assert len(meta["segments"]) == 4  # 3 + 3 issues merged, the 7th, the correction
    everything = [p for d in dates(7) for p in (fix if d == "2025-07-03" else issue(d))]
    build(everything, ["/arch"], whole, fake_embedder)
    assert snapshot(ix, fake_embedder) == snapshot(whole, fake_embedder)
    assert sorted(map(tuple, index_vectors(ix).round(5))) == sorted(map(tuple, index_vectors(whole).round(5)))


def test_merged_segment_rows_stay_sorted_by_date(tmp_path, fake_embedder, small_tiers):
    ix = tmp_path / "ix"
    for d in reversed(dates(6)):  # issues loaded newest first, as a backfill might
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder, merge="all")
    with IndexReader.open(ix) as r:
        assert len(r.segments) < 6
        for seg in r.segments:
            assert np.all(np.diff(np.asarray(seg.row_date)) >= 0)
        assert [r.row_date(int(x)) for x in r.rows_matching("2025-07-02", "2025-07-03")] == ["2025-07-02"] * 4 + [
            "2025-07-03"
        ] * 4


def test_bulk_build_streams_into_bounded_segments(tmp_path, fake_embedder):
    ix = tmp_path / "ix"
    pages = [p for d in dates(12) for p in issue(d)]
    r = build(pages, ["/arch"], ix, fake_embedder, batch_rows=10)
    with IndexReader.open(ix) as rd:
        assert len(rd.segments) >= 4 and all(seg.rows <= 14 for seg in rd.segments)
        assert rd.counts()["chunks"] == r.chunks == 48
    assert snapshot(ix, fake_embedder) == snapshot(build_whole(tmp_path, pages, fake_embedder), fake_embedder)


def test_worker_processes_analyse_big_batches_the_same(tmp_path, fake_embedder, monkeypatch):
    import qa.store.folder.analysis as analysis

    monkeypatch.setattr(analysis, "PARALLEL_MIN_ROWS", 1)
    pages = [p for d in dates(4) for p in issue(d)]
    build(pages, ["/arch"], tmp_path / "ix", fake_embedder, workers=2)
    assert snapshot(tmp_path / "ix", fake_embedder) == snapshot(
        build_whole(tmp_path, pages, fake_embedder, workers=1), fake_embedder
    )


def build_whole(tmp_path: Path, pages: list[Page], emb, **kw) -> Path:
    whole = tmp_path / "whole"
    build(pages, ["/arch"], whole, emb, **kw)
    return whole


def test_an_index_of_an_older_format_is_rebuilt_and_the_user_told_so(tmp_path, fake_embedder):
    from qa.errors import IndexFormatError

    ix = tmp_path / "ix"
    build(issue("2025-07-01"), ["/arch"], ix, fake_embedder)
    # Lay the version out as format 2 did: one folder with meta.sqlite and vectors.npy, no segments.
    seg = ix / "segments" / "s000001"
    legacy = ix / "v000001"
    meta = json.loads((legacy / "meta.json").read_text())
    meta.update(format_version=2)
    meta.pop("segments"), meta.pop("deleted")
    (legacy / "meta.json").write_text(json.dumps(meta))
    shutil.copy(seg / DB, legacy / DB)
    shutil.rmtree(ix / "segments")
    shutil.rmtree(ix / "cache")
    with pytest.raises(IndexFormatError, match="重建索引"):
        IndexReader.open(ix)
    said: list[str] = []
    r = build_from_pages(issue("2025-07-02"), ["/arch"], ix, embedder=fake_embedder, progress=False, log=said.append)
    assert any("请重建索引" in line for line in said)
    assert r.published and r.pages_added == len(issue("2025-07-02")) and r.embedded == r.chunks
    assert IndexReader.open(ix).issues()[0]["date"] == "2025-07-02"  # the old issue is gone: rebuilt from PATHs


def index_vectors_of_segment(seg: Path) -> np.ndarray:
    from qa.store.folder.dense import DenseSegment

    dense = DenseSegment.load(seg / "dense")
    return dense.vectors(np.arange(len(dense)))


def _page(pid: str, root: str, date: str = "2025-07-09", tag: str = "") -> Page:
    art = Article(f"{pid}#a0", f"{date}黄河大集", f"{date}黄河大集取得新进展{tag}。")
    return Page(pid, "聊城日报", date, 1, "…", pid, root, articles=[art])


def test_segments_record_the_paths_their_pages_were_read_from(tmp_path, fake_embedder):
    ix = tmp_path / "ix"
    r = build(issue("2025-07-01") + issue("2025-07-02"), ["/arch/2025-07-01", "/arch/2025-07-02"], ix, fake_embedder)
    seg = json.loads((ix / r.version / "meta.json").read_text())["segments"][0]["name"]
    assert json.loads((ix / "segments" / seg / "segment.json").read_text())["roots"] == [
        "/arch/2025-07-01",
        "/arch/2025-07-02",
    ]


def test_a_page_read_under_another_path_outside_it_is_removed_with_that_path(tmp_path, fake_embedder):
    """A manifest may list a file outside its folder: the page still belongs to the PATH it was read from."""
    ix = tmp_path / "ix"
    outside = _page("/elsewhere/scan-7.txt", "/arch/2025-07-09")
    build(issue("2025-07-01") + [outside], ["/arch/2025-07-01", "/arch/2025-07-09"], ix, fake_embedder)
    r = build([], ["/arch/2025-07-09"], ix, fake_embedder)  # the folder is empty now
    assert (r.pages_removed, r.pages) == (1, 2)
    with IndexReader.open(ix) as rd:
        assert "/elsewhere/scan-7.txt" not in {p["page_id"] for p in rd.chunk_records(list(range(rd.n_chunks)))}


def test_a_page_indexed_under_a_parent_path_is_changed_in_place_when_its_issue_is_read(tmp_path, fake_embedder):
    ix = tmp_path / "ix"
    build(issue("2025-07-01") + issue("2025-07-02"), ["/arch"], ix, fake_embedder)
    r = build(issue("2025-07-02", tag="（更正）")[:1], ["/arch/2025-07-02"], ix, fake_embedder)
    # page 1 changed, page 2 of that issue vanished from its folder; the other issue is kept
    assert (r.pages_added, r.pages_changed, r.pages_removed, r.pages) == (0, 1, 1, 3)
    with IndexReader.open(ix) as rd:
        texts = [
            c["text"] for c in rd.chunk_records(list(range(rd.n_chunks))) if c["page_id"] == "/arch/2025-07-02/01.txt"
        ]
        assert texts and all("更正" in t for t in texts)


def test_paths_that_share_a_prefix_are_told_apart(tmp_path, fake_embedder):
    """``/arch/2025-07-0`` is not a parent of ``/arch/2025-07-01``: re-reading it removes nothing else."""
    ix = tmp_path / "ix"
    build(
        issue("2025-07-01") + [_page("/arch/2025-07-0", "/arch/2025-07-0")],
        ["/arch/2025-07-01", "/arch/2025-07-0"],
        ix,
        fake_embedder,
    )
    r = build([], ["/arch/2025-07-0"], ix, fake_embedder)
    assert (r.pages_removed, r.pages) == (1, 2)


def test_segments_without_recorded_paths_are_still_searched_for_removed_pages(tmp_path, fake_embedder):
    """Segments written before ``roots`` was recorded: the root column is scanned instead."""
    ix = tmp_path / "ix"
    outside = _page("/elsewhere/scan-7.txt", "/arch/2025-07-09")
    r = build(issue("2025-07-01") + [outside], ["/arch/2025-07-01", "/arch/2025-07-09"], ix, fake_embedder)
    for meta in (ix / "segments").glob("*/segment.json"):
        info = json.loads(meta.read_text())
        del info["roots"]
        meta.write_text(json.dumps(info))
    r = build([], ["/arch/2025-07-09"], ix, fake_embedder)
    assert (r.pages_removed, r.pages) == (1, 2)


def test_no_merge_leaves_full_tiers_and_qa_merge_merges_them_later(tmp_path, fake_embedder, small_tiers):
    """The daily add with merge=False costs only its issue; `qa merge` then gives the same archive."""
    from qa.store import merge_index

    ix, whole = tmp_path / "ix", tmp_path / "whole"
    for d in dates(6):
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder, merge=False)
    with IndexReader.open(ix) as r:
        assert len(r.segments) == 6  # two full tiers of 3, left alone
    said: list[str] = []
    version = merge_index(ix, log=said.append)
    assert version is not None and (ix / "CURRENT").read_text().strip() == version
    with IndexReader.open(ix) as r:
        assert len(r.segments) < 6
    build([p for d in dates(6) for p in issue(d)], ["/arch"], whole, fake_embedder)
    assert snapshot(ix, fake_embedder) == snapshot(whole, fake_embedder)
    assert merge_index(ix, log=said.append) is None and "没有需要合并" in said[-1]  # nothing left to merge


def test_qa_merge_on_a_missing_index_says_so(tmp_path):
    from click.testing import CliRunner

    from qa.cli import cli

    result = CliRunner().invoke(cli, ["merge", "--index", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "还没有索引" in result.output and "Traceback" not in result.output
