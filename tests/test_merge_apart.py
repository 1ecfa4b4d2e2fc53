"""Tier merges run apart from the daily add: the add never merges live segments, a merge never makes an add
wait, neither loses the other's segments, and `qa serve` merges in the background without a failed answer."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
from test_segments import build, dates, issue, snapshot

import qa.store.folder.merge as merge
import qa.store.folder.mergejob as mergejob
from qa.store import IndexReader, build_from_pages, current_version, merge_index
from qa.store.folder.layout import SEGMENTS


@pytest.fixture
def small_tiers(monkeypatch):
    monkeypatch.setattr(merge, "FLOOR_ROWS", 8)
    monkeypatch.setattr(merge, "MERGE_FACTOR", 3)


def segment_names(ix) -> list[str]:
    return [s["name"] for s in json.loads((ix / current_version(ix) / "meta.json").read_text())["segments"]]


def test_the_daily_add_never_merges_live_segments_and_says_what_waits(tmp_path, fake_embedder, small_tiers):
    ix = tmp_path / "ix"
    said: list[str] = []
    for d in dates(4):
        before = set(segment_names(ix)) if (ix / "CURRENT").exists() else set()
        r = build_from_pages(issue(d), [f"/arch/{d}"], ix, embedder=fake_embedder, progress=False, log=said.append)
        assert set(segment_names(ix)) - before == {segment_names(ix)[-1]} and before <= set(segment_names(ix))
        assert r.published
    assert len(segment_names(ix)) == 4  # a full tier of 3 and one more: nothing rewritten
    assert "有 3 个分段待合并，运行 qa merge 或由 qa serve 在后台合并。" in said
    assert merge_index(ix, log=said.append) is not None
    assert len(segment_names(ix)) == 2


def test_a_bulk_build_merges_its_own_segments_k_at_a_time(tmp_path, fake_embedder, small_tiers):
    ix, said = tmp_path / "ix", []
    pages = [p for d in dates(14) for p in issue(d)]  # 56 rows in batches of 8: seven segments of tier 1
    build_from_pages(pages, ["/arch"], ix, embedder=fake_embedder, progress=False, log=said.append, batch_rows=8)
    merges = [m for m in said if m.startswith("合并 ")]
    assert merges and all(m.startswith("合并 3 个分段") for m in merges)  # never more than one tier's k at once
    with IndexReader.open(ix) as r:
        assert r.counts()["chunks"] == 56 and len(r.segments) < 7


def _paused_merge(monkeypatch, ix):
    """``merge_index`` in a thread that stops after merging, before it takes the build lock to publish."""
    merged, go, out = threading.Event(), threading.Event(), {}
    lock = mergejob.build_lock

    def wait_then_lock(*a, **kw):
        merged.set()
        assert go.wait(60)
        return lock(*a, **kw)

    monkeypatch.setattr(mergejob, "build_lock", wait_then_lock)
    t = threading.Thread(target=lambda: out.update(version=merge_index(ix, log=lambda m: None)))
    t.start()
    assert merged.wait(60)
    return go, t, out


def test_an_add_during_a_merge_is_not_kept_waiting_and_neither_loses_segments(
    tmp_path, fake_embedder, small_tiers, monkeypatch
):
    ix, whole = tmp_path / "ix", tmp_path / "whole"
    for d in dates(6):
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder)
    go, merging, out = _paused_merge(monkeypatch, ix)
    # Meanwhile the daily add: a new issue, and a correction of a page inside a segment being merged.
    started = time.monotonic()
    build(issue("2025-07-07"), ["/arch/2025-07-07"], ix, fake_embedder, lock_timeout=5)
    fix = issue("2025-07-02", tag="（更正）")[:1] + issue("2025-07-02")[1:]  # page 1 corrected, page 2 as it was
    build(fix, ["/arch/2025-07-02"], ix, fake_embedder, lock_timeout=5)
    assert time.monotonic() - started < 30  # no wait for the merge's lock
    go.set()
    merging.join(60)
    assert out["version"] == current_version(ix)
    names = segment_names(ix)
    assert len(names) == 4  # two merged tiers of three, the new issue, the correction
    everything = [p for d in dates(7) for p in (fix if d == "2025-07-02" else issue(d))]
    build(everything, ["/arch"], whole, fake_embedder)
    assert snapshot(ix, fake_embedder) == snapshot(whole, fake_embedder)
    with IndexReader.open(ix) as r:
        assert r.counts() == IndexReader.open(whole).counts()
    assert {p.name for p in (ix / SEGMENTS).iterdir()} >= set(names) and not (ix / mergejob.STAGING).exists()


def test_a_merge_overtaken_by_a_rebuild_publishes_nothing(tmp_path, fake_embedder, small_tiers, monkeypatch):
    ix = tmp_path / "ix"
    for d in dates(3):
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder)
    go, merging, out = _paused_merge(monkeypatch, ix)
    rebuilt = build(issue("2025-07-09"), ["/arch"], ix, fake_embedder, rebuild=True)
    go.set()
    merging.join(60)
    assert out["version"] is None and current_version(ix) == rebuilt.version  # sources gone: dropped
    assert len(segment_names(ix)) == 1
    with IndexReader.open(ix) as r:
        assert r.issue_dates() == ["2025-07-09"]


def test_background_merge_under_concurrent_asks_fails_no_request(tmp_path, fake_embedder):
    """`qa serve`'s merger runs `qa merge` in a child process while four clients ask; the default tiers
    (ten segments of one tier) are filled by ten daily adds."""
    from qa.app.serve import BackgroundServer
    from qa.config import Settings
    from qa.service import Service

    ix = tmp_path / "ix"
    for d in dates(10):
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder)
    assert len(segment_names(ix)) == 10
    first = current_version(ix)
    settings = Settings(
        index=ix, host="127.0.0.1", port=0, threads=8, rate_limit=None, reload_interval_s=0.2, merge_interval_s=0.3
    )
    server = BackgroundServer(settings, service=Service(ix, embedder=fake_embedder), watcher=True, merger=True)
    failures, answered, stop = [], [], threading.Event()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while not stop.is_set():
            try:
                conn.request(
                    "POST",
                    "/api/ask",
                    json.dumps({"question": "黄河大集取得新进展了吗？"}),
                    {"Content-Type": "application/json"},
                )
                resp = conn.getresponse()
                body = json.loads(resp.read())
                if resp.status != 200 or not (body.get("found") and body.get("passages")):
                    failures.append((resp.status, body))
                answered.append(body.get("index_version"))
            except Exception as e:  # noqa: BLE001 - any failure counts
                failures.append(repr(e))
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

    threads = [threading.Thread(target=client) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        while current_version(ix) == first and time.monotonic() < deadline:
            time.sleep(0.2)
        merged = current_version(ix)
        while (merged not in answered or not server.merger.merges) and time.monotonic() < deadline:
            time.sleep(0.1)  # the reloader swapped it in, the merger saw its child finish
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        server.stop()
    assert merged != first and len(segment_names(ix)) == 1
    assert server.merger.merges >= 1 and server.merger.failures == 0
    assert failures == [] and first in answered and merged in answered


def test_a_streamed_merge_writes_what_the_in_memory_merge_would(tmp_path, fake_embedder, monkeypatch):
    """Postings and vectors streamed in small blocks equal the whole-array merge, deletions included."""
    import numpy as np

    import qa.store.folder.streams as streams
    from qa.store.folder.merge import _merged_order
    from qa.store.folder.postings import Postings, take
    from qa.store.folder.segment import Segment

    monkeypatch.setattr(streams, "BLOCK_POSTINGS", 7)  # many blocks, and blocks of one word
    monkeypatch.setattr(streams, "BLOCK_ROWS", 3)
    ix = tmp_path / "ix"
    for d in reversed(dates(4)):  # newest first: the merge reorders rows by date
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder)
    build(issue("2025-07-02", tag="（更正）")[:1] + issue("2025-07-02")[1:], ["/arch/2025-07-02"], ix, fake_embedder)
    meta = json.loads((ix / current_version(ix) / "meta.json").read_text())
    segs = [Segment(ix / SEGMENTS / s["name"], frozenset(meta["deleted"].get(s["name"], []))) for s in meta["segments"]]
    keep = [np.flatnonzero(s.live) if s.live is not None else np.arange(s.rows) for s in segs]
    order, _ = _merged_order(segs, keep, sorted({p for s in segs for p in s.papers}))
    expected = take(Postings.merge([(s.postings, s.live) for s in segs]), order)
    vectors = np.concatenate([s.dense.vectors(k) for s, k in zip(segs, keep)])[order]
    out = merge.merge_segments(tmp_path / "merged", segs)
    got = Segment(tmp_path / "merged")
    assert out["rows"] == got.rows == len(order) == 16  # 4 issues of 4 rows; one page (2 rows) replaced
    assert list(got.postings.vocab) == list(expected.vocab)
    for name in ("indptr", "docs", "tfs", "doc_len"):
        np.testing.assert_array_equal(np.asarray(getattr(got.postings, name)), getattr(expected, name))
    np.testing.assert_array_equal(got.dense.vectors(np.arange(got.rows)), vectors)


def test_streamed_vector_files_are_the_files_faiss_writes(tmp_path):
    """vectors.faiss written block by block, and the IVF index trained on a sample read back from it, are
    byte for byte what write_dense makes of the same (fp16) vectors."""
    import filecmp

    import faiss
    import numpy as np

    from qa.store.folder import dense, dense_build

    v = np.random.default_rng(0).normal(size=(5000, 32)).astype(np.float32)
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float16).astype(np.float32)
    dense_build.write_dense(tmp_path / "whole", v, threshold=1000)
    fp16 = faiss.IndexScalarQuantizer(32, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    codes = fp16.sa_encode(v)
    meta = dense_build.write_dense_codes(
        tmp_path / "streamed", 5000, 32, (codes[i : i + 700] for i in range(0, 5000, 700)), threshold=1000
    )
    assert meta["type"] == "ivf_sq8"
    for name in (dense.VECTORS, dense.INDEX, dense.META):
        assert filecmp.cmp(tmp_path / "whole" / name, tmp_path / "streamed" / name, shallow=False), name


def test_a_killed_merge_leaves_nothing_the_next_one_keeps(tmp_path, fake_embedder, small_tiers):
    """What a killed merge wrote sits in index/merging/, outside segments/; the next merge clears it."""
    ix = tmp_path / "ix"
    for d in dates(3):
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder)
    left = ix / mergejob.STAGING / "m000003"
    left.mkdir(parents=True)
    (left / "segment.json").write_text("{}")
    live = current_version(ix)
    build(issue("2025-07-04"), ["/arch/2025-07-04"], ix, fake_embedder)  # a build ignores it
    assert left.exists() and current_version(ix) != live
    assert merge_index(ix, log=lambda m: None) is not None
    assert not (ix / mergejob.STAGING).exists() and len(segment_names(ix)) == 2


def test_qa_index_merge_options(tmp_path):
    from click.testing import CliRunner

    from qa.cli import cli

    both = CliRunner().invoke(
        cli, ["index", str(tmp_path), "--index", str(tmp_path / "ix"), "--no-merge", "--merge-all"]
    )
    assert both.exit_code == 1 and "不能同时使用" in both.output
    helped = CliRunner().invoke(cli, ["serve", "--help"])
    assert "--merge-interval" in helped.output


def test_merge_all_makes_one_segment_that_answers_like_a_whole_build(tmp_path, fake_embedder, small_tiers):
    """``qa merge --all`` after a backfill: one segment, deleted rows gone, the same answers as one build."""
    from click.testing import CliRunner

    from qa.cli import cli

    ix, whole = tmp_path / "ix", tmp_path / "whole"
    for d in dates(5):
        build(issue(d), [f"/arch/{d}"], ix, fake_embedder)
    fix = issue("2025-07-02", tag="（更正）")[:1] + issue("2025-07-02")[1:]
    build(fix, ["/arch/2025-07-02"], ix, fake_embedder)  # page 1 replaced: deleted rows in an older segment
    assert len(segment_names(ix)) == 6
    r = CliRunner().invoke(cli, ["merge", "--all", "--index", str(ix)])
    assert r.exit_code == 0, r.output
    assert len(segment_names(ix)) == 1 and "6 个分段合并为 1 个" in r.output
    build([p for d in dates(5) for p in (fix if d == "2025-07-02" else issue(d))], ["/arch"], whole, fake_embedder)
    assert snapshot(ix, fake_embedder) == snapshot(whole, fake_embedder)
    again = CliRunner().invoke(cli, ["merge", "--all", "--index", str(ix)])
    assert again.exit_code == 0 and "没有需要合并的分段" in again.output  # nothing left to do


def test_a_backfill_suggests_merge_all_and_a_daily_add_does_not(tmp_path, fake_embedder, small_tiers, monkeypatch):
    import qa.store.build as build_module

    monkeypatch.setattr(build_module, "BACKFILL_ROWS", 40)  # stand-ins for 1M rows and 100k-row IVF segments
    monkeypatch.setattr(build_module, "EXACT_MAX_ROWS", 8)
    ix, said = tmp_path / "ix", []
    pages = [p for d in dates(14) for p in issue(d)]  # 56 rows in batches of 8, left unmerged: 7 segments
    kw = {"embedder": fake_embedder, "progress": False, "log": said.append}
    build_from_pages(pages, ["/arch"], ix, batch_rows=8, merge="none", **kw)
    hint = [m for m in said if "qa merge --all" in m]
    assert hint and f"索引有 {len(segment_names(ix))} 个分段" in hint[0]
    merge_index(ix, everything=True, log=lambda m: None)
    said.clear()
    build_from_pages(issue("2025-08-01"), ["/arch/2025-08-01"], ix, **kw)
    assert not [m for m in said if "qa merge --all" in m]
