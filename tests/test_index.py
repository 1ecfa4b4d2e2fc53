"""Building versions: incremental updates, model changes, atomic publish, crashes and concurrent builds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from qa.errors import EmbedderMismatch
from qa.store import IndexReader, build_from_pages, check_embedder, current_version, index_stats
from qa.types import Article, Page

from fakes import ROOT as REPO
from fakes import index_vectors

QUIET = {"log": lambda m: None}


def issue(root: str, date: str, n_pages: int = 2, tag: str = "") -> list[Page]:
    """Pages of one issue folder ``root/<date>/NN.txt``, two articles each."""
    pages = []
    for pg in range(1, n_pages + 1):
        pid = f"{root}/{date}/{pg:02d}.txt"
        arts = [
            Article(
                f"{pid}#a{i}",
                f"{date}第{pg}版标题{i}",
                f"{date}第{pg}版第{i}篇{tag}。聊城市加强防汛巡查，确保安全度汛。企业发展势头良好！",
            )
            for i in range(2)
        ]
        pages.append(
            Page(page_id=pid, paper="聊城日报", date=date, page=pg, text="…", source=pid, root=root, articles=arts)
        )
    return pages


def build(pages, roots, index, emb, **kw):
    return build_from_pages(pages, roots, index, embedder=emb, **QUIET, **kw)


def test_incremental_updates(tmp_path, fake_embedder):
    ix = tmp_path / "index"
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    r1 = build(issue(a, "2025-07-28") + issue(a, "2025-07-29"), [a], ix, fake_embedder)
    assert (r1.version, r1.chunks, r1.embedded, r1.pages_added) == ("v000001", 8, 8, 4)

    # Unchanged archive: nothing embedded, nothing published.
    r2 = build(issue(a, "2025-07-28") + issue(a, "2025-07-29"), [a], ix, fake_embedder)
    assert (r2.embedded, r2.reused, r2.published, r2.version) == (0, 8, False, "v000001")

    # A new issue folder (another PATH) embeds only its own chunks and keeps the rest.
    new_root = f"{b}/2025-07-30"
    r3 = build(issue(b, "2025-07-30"), [new_root], ix, fake_embedder)
    assert (r3.version, r3.embedded, r3.reused, r3.chunks, r3.pages_added, r3.pages_removed) == (
        "v000002",
        4,
        8,
        12,
        2,
        0,
    )

    # One page changed: only its chunks are embedded.
    pages = issue(a, "2025-07-28") + issue(a, "2025-07-29")
    pages[0] = issue(a, "2025-07-28", tag="（更正）")[0]
    r4 = build(pages, [a], ix, fake_embedder)
    assert (r4.embedded, r4.pages_changed, r4.chunks) == (2, 1, 12)

    # A page file deleted and its root re-indexed: its chunks go; pages of root b stay.
    r5 = build(pages[1:], [a], ix, fake_embedder)
    assert (r5.pages_removed, r5.chunks, r5.embedded) == (1, 10, 0)
    with IndexReader.open(ix) as r:
        assert r.issue_dates() == ["2025-07-28", "2025-07-29", "2025-07-30"]
        assert r.page("2025-07-28", 1) is None and r.page("2025-07-30", 2) is not None

    # Indexing another root does not remove pages of the first.
    c = str(tmp_path / "c")
    r6 = build(issue(c, "2025-08-01", n_pages=1), [c], ix, fake_embedder)
    assert (r6.pages_removed, r6.pages, r6.embedded) == (0, 6, 2)

    # Only the live and the previous version stay on disk; numbers strictly increase.
    assert current_version(ix) == r6.version == "v000005"
    assert sorted(p.name for p in ix.glob("v*")) == ["v000004", "v000005"]


def test_rebuild_starts_over_from_given_paths(tmp_path, fake_embedder):
    ix, a, b = tmp_path / "ix", str(tmp_path / "a"), str(tmp_path / "b")
    build(issue(a, "2025-07-28"), [a], ix, fake_embedder)
    build(issue(b, "2025-07-29"), [b], ix, fake_embedder)
    r = build(issue(b, "2025-07-29"), [b], ix, fake_embedder, rebuild=True)
    # Only b's pages are left; their vectors come from the vector cache, not from the model again.
    assert (r.pages, r.embedded, r.reused) == (2, 0, 0)
    shutil.rmtree(ix / "cache" / "vectors")
    r = build(issue(b, "2025-07-29"), [b], ix, fake_embedder, rebuild=True)
    assert (r.pages, r.embedded) == (2, 4)  # without the cache everything is embedded again


class OtherEmbedder:
    """The fake embedder under another name, as a different model would be."""

    def __init__(self, fake):
        self._f, self.name, self.dim = fake, "fake-2", fake.dim

    def encode_queries(self, texts):
        return self._f.encode_queries(texts)

    def encode_passages(self, texts):
        return self._f.encode_passages(texts)


def test_changed_model_or_settings_reembeds_everything(tmp_path, fake_embedder):
    from qa.ingest.chunk import ChunkSettings

    ix, a = tmp_path / "ix", str(tmp_path / "a")
    pages = issue(a, "2025-07-28")
    build(pages, [a], ix, fake_embedder)
    logs: list[str] = []
    r = build_from_pages(pages, [a], ix, embedder=OtherEmbedder(fake_embedder), log=logs.append)
    assert r.published and r.embedded == r.chunks == 4 and r.reused == 0
    assert "fake-2" in r.full_reembed_reason and any("重新向量化" in m for m in logs)
    reader = IndexReader.open(ix)
    assert reader.embedder_name == "fake-2"
    with pytest.raises(EmbedderMismatch) as e:
        check_embedder(reader, fake_embedder)
    assert "fake-2" in str(e.value) and "fake" in str(e.value)
    r = build(pages, [a], ix, OtherEmbedder(fake_embedder), settings=ChunkSettings(40, 0))
    assert r.full_reembed_reason and "分块" in r.full_reembed_reason and r.reused == 0
    assert IndexReader.open(ix).meta["chunking"] == {"max_chars": 40, "overlap_sentences": 0, "scheme": 2}


def test_partial_folders_are_cleaned_and_current_untouched(tmp_path, fake_embedder):
    ix, a = tmp_path / "ix", str(tmp_path / "a")
    build(issue(a, "2025-07-28"), [a], ix, fake_embedder)
    (ix / "v000007").mkdir()  # a folder some killed build left behind, no COMPLETE marker
    (ix / "v000007" / "vectors.npy").write_bytes(b"junk")
    (ix / "CURRENT.tmp").write_text("v000007\n")
    assert IndexReader.open(ix).version == "v000001"
    r = build(issue(a, "2025-07-29"), [a], ix, fake_embedder)
    assert r.version == "v000008" and not (ix / "v000007").exists() and not (ix / "CURRENT.tmp").exists()


SCRIPT = textwrap.dedent("""
    import os, sys, time, json
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    from fakes import FakeEmbedder
    from test_index import issue
    import qa.store as qi
    import qa.store.folder.layout as qb  # seal_and_publish seals through it
    from qa.errors import IndexLocked

    ix, marker, mode, date = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 60

    class Slow(FakeEmbedder):
        def encode_passages(self, texts):
            marker.write_text("embedding")
            time.sleep(float(os.environ.get("SLOW_SLEEP", "1.5")))
            return super().encode_passages(texts)

    if mode == "kill-after-write":   # stop for good once segments and meta.json are written, before COMPLETE
        def write_then_wait(folder, meta):
            (folder / "meta.json").write_text(json.dumps(meta))
            marker.write_text("written")
            time.sleep(600)
        qb.seal = write_then_wait
    try:
        r = qi.build_from_pages(issue("/arch", date, n_pages=2), ["/arch/" + date], ix, embedder=Slow(),
                                lock_timeout=timeout, log=lambda m: None)
        print(json.dumps({{"version": r.version}}))
    except IndexLocked as e:
        print(e, file=sys.stderr)
        sys.exit(3)
""")


@pytest.fixture
def runner(tmp_path):
    script = tmp_path / "slow_build.py"
    script.write_text(SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests")), encoding="utf-8")

    def start(ix, marker, mode, date, *extra, sleep=1.5):
        return subprocess.Popen(
            [sys.executable, str(script), str(ix), str(marker), mode, date, *map(str, extra)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "SLOW_SLEEP": str(sleep)},
        )

    return start


def wait_for(path: Path, text: str, proc, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not (path.exists() and path.read_text() == text):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "subprocess never reached the marker"
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["kill-while-embedding", "kill-after-write"])
def test_sigkill_mid_build_leaves_current_loadable(tmp_path, fake_embedder, runner, mode):
    ix = tmp_path / "ix"
    build(issue("/arch", "2025-07-28"), ["/arch/2025-07-28"], ix, fake_embedder)
    marker = tmp_path / "marker"
    proc = runner(ix, marker, mode, "2025-07-29")
    wait_for(marker, "written" if mode == "kill-after-write" else "embedding", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert current_version(ix) == "v000001"
    with IndexReader.open(ix) as r:
        assert r.counts()["pages"] == 2
    if mode == "kill-after-write":
        assert (ix / "v000002").exists() and not (ix / "v000002" / "COMPLETE").exists()
        assert len(list((ix / "segments").iterdir())) == 2  # the killed build's segment, not listed anywhere
    r = build(issue("/arch", "2025-07-29"), ["/arch/2025-07-29"], ix, fake_embedder)
    assert r.version == current_version(ix) and r.pages == 4
    assert sorted(p.name for p in ix.glob("v*")) == ["v000001", r.version]
    listed = {
        s["name"] for v in ("v000001", r.version) for s in json.loads((ix / v / "meta.json").read_text())["segments"]
    }
    assert {p.name for p in (ix / "segments").iterdir()} == listed  # leftovers removed
    assert IndexReader.open(ix).counts()["chunks"] == 8


def test_two_builds_at_once(tmp_path, runner):
    ix = tmp_path / "ix"
    m1, m2, m3 = tmp_path / "m1", tmp_path / "m2", tmp_path / "m3"
    first = runner(ix, m1, "normal", "2025-07-28", sleep=10)  # holds the lock while the others start
    wait_for(m1, "embedding", first)  # first holds the lock now
    impatient = runner(ix, m2, "normal", "2025-07-29", 0.3)
    patient = runner(ix, m3, "normal", "2025-07-30", 60)
    assert impatient.wait(60) == 3
    assert first.poll() is None and not m3.exists()  # the patient one is still waiting for the lock
    assert "正在更新" in impatient.stderr.read()
    assert first.wait(60) == 0 and patient.wait(60) == 0
    with IndexReader.open(ix) as r:
        assert r.issue_dates() == ["2025-07-28", "2025-07-30"]
        assert (r.path / "COMPLETE").exists() and r.counts()["chunks"] == 8


@pytest.mark.slow
def test_real_bundled_model_end_to_end(tmp_path):
    from qa.embed import load_embedder
    from qa.text.tokens import tokenize

    emb = load_embedder()
    pages = [
        Page(
            page_id="/r/1.txt",
            paper="聊城日报",
            date="2025-07-29",
            page=1,
            text="…",
            source="1.txt",
            root="/r",
            articles=[
                Article("/r/1.txt#a0", "全力以赴做好防汛工作", "各地要加强巡查，落实防汛责任，确保群众生命财产安全。")
            ],
        ),
        Page(
            page_id="/r/2.txt",
            paper="聊城日报",
            date="2026-04-01",
            page=1,
            text="…",
            source="2.txt",
            root="/r",
            articles=[
                Article(
                    "/r/2.txt#a0", "问需于企 精准滴灌", "聊城新增省级专精特新中小企业86家，创新型中小企业数量全省领先。"
                )
            ],
        ),
    ]
    rep = build_from_pages(pages, ["/r"], tmp_path / "ix", embedder=emb, **QUIET)
    assert rep.embedded == 2
    r = IndexReader.open(tmp_path / "ix")
    check_embedder(r, emb)
    q = emb.encode_queries(["聊城新增多少家专精特新企业？"])[0]
    assert r.chunk_records([r.dense_search(q, 1)[0][0]])[0]["date"] == "2026-04-01"
    assert r.chunk_records([r.bm25_search(tokenize("防汛责任"), 1)[0][0]])[0]["title"] == "全力以赴做好防汛工作"
    stats = index_stats(tmp_path / "ix")
    assert stats["embedder"] == "e5-small" and stats["dim"] == 384 and stats["chunks"] == 2 and stats["size_bytes"] > 0


def test_build_index_on_issue_folders(tmp_path, fake_embedder):
    """The same incremental rules through qa.ingest on real page files (archive/<paper>/<date>/NN_版名.txt)."""
    from qa.store import build_index

    def write_issue(date: str) -> Path:
        folder = tmp_path / "archive" / "聊城日报" / date
        folder.mkdir(parents=True)
        for pg, name in ((1, "要闻"), (2, "综合")):
            (folder / f"{pg:02d}_{name}.txt").write_text(
                f"{date}第{pg}版防汛工作会议召开\n\n■ 本报记者 王某\n\n"
                f"会议要求各地加强巡查，落实责任。{name}版的报道很多！\n",
                encoding="utf-8",
            )
        return folder

    ix = tmp_path / "index"
    write_issue("2025-07-28")
    r1 = build_index([tmp_path / "archive"], ix, embedder=fake_embedder, progress=False, **QUIET)
    assert r1.pages == 2 and r1.embedded == r1.chunks > 0 and r1.skipped == []
    assert build_index([tmp_path / "archive"], ix, embedder=fake_embedder, **QUIET).embedded == 0
    new = write_issue("2025-07-29")
    r3 = build_index([new], ix, embedder=fake_embedder, **QUIET)
    assert r3.pages == 4 and r3.reused == r1.chunks and r3.embedded == r3.chunks - r1.chunks
    (tmp_path / "archive" / "聊城日报" / "2025-07-28" / "02_综合.txt").unlink()
    r4 = build_index([tmp_path / "archive"], ix, embedder=fake_embedder, **QUIET)
    assert (r4.pages, r4.pages_removed, r4.embedded) == (3, 1, 0)
    with IndexReader.open(ix) as r:
        assert r.page("2025-07-28", 2) is None and r.page("2025-07-29", 2)["page_name"] == "综合"


def test_index_from_an_older_chunk_scheme_is_rechunked(tmp_path, fake_embedder):
    """An index whose meta.json predates ``scheme`` (bylines not in chunks) is re-chunked, not kept."""
    import json

    a = tmp_path / "a"
    pages = [
        Page(
            str(a / "1.txt"),
            "聊城日报",
            "2025-07-29",
            1,
            "x",
            "a/1.txt",
            str(a),
            articles=[Article("a#1", "标题", "正文一句。", byline="本报讯（记者 王培源）")],
        )
    ]
    ix = tmp_path / "ix"
    build_from_pages(pages, [str(a)], ix, embedder=fake_embedder, progress=False)
    meta_path = ix / current_version(ix) / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["chunking"]["scheme"]
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    r = build_from_pages(pages, [str(a)], ix, embedder=fake_embedder, progress=False)
    assert r.full_reembed_reason and "分块" in r.full_reembed_reason
    assert "王培源" in IndexReader.open(ix).chunk_records([0])[0]["text"]


def many_pages(n_pages: int = 30, per_page: int = 10) -> list[Page]:
    """A bulk backfill in miniature: 300 articles of one chunk each, every text different."""
    pages = []
    for p in range(n_pages):
        pid = f"/bulk/2024-01-{p % 28 + 1:02d}/{p:02d}.txt"
        arts = [
            Article(f"{pid}#a{i}", f"第{p}版第{i}条", f"第{p}版第{i}条消息：全市各项工作稳步推进，编号{p * 100 + i}。")
            for i in range(per_page)
        ]
        pages.append(Page(pid, "聊城日报", f"2024-01-{p % 28 + 1:02d}", p % 8 + 1, "…", pid, "/bulk", articles=arts))
    return pages


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    from fakes import FakeEmbedder
    from qa.store import build_from_pages
    from test_index import many_pages

    class Slow(FakeEmbedder):
        def encode_passages(self, texts):
            out = super().encode_passages(texts)
            time.sleep(0.4)   # a slow model: the parent kills us between batches
            return out

    build_from_pages(many_pages(), ["/bulk"], Path(sys.argv[1]), embedder=Slow(), progress=False, log=lambda m: None)
""")


def _persisted(ix: Path) -> int:
    import sqlite3

    db = ix / "cache" / "vectors" / "keys.sqlite"
    if not db.exists():
        return 0
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM vec").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def test_a_bulk_build_killed_mid_embedding_resumes_with_only_the_rest(tmp_path, fake_embedder):
    ix = tmp_path / "ix"
    script = tmp_path / "bulk.py"
    script.write_text(KILL_SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests")), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(ix)])
    deadline = time.monotonic() + 120
    while _persisted(ix) < 64 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    persisted = _persisted(ix)
    assert 64 <= persisted < 300 and current_version(ix) is None  # killed mid-way, nothing published

    class Counting(type(fake_embedder)):
        calls = 0

        def encode_passages(self, texts):
            Counting.calls += len(texts)
            return super().encode_passages(texts)

    resumed = build_from_pages(many_pages(), ["/bulk"], ix, embedder=Counting(), progress=False, log=lambda m: None)
    assert resumed.embedded == Counting.calls == 300 - persisted
    whole = build_from_pages(
        many_pages(), ["/bulk"], tmp_path / "whole", embedder=fake_embedder, progress=False, log=lambda m: None
    )
    same = [index_vectors(d) for d in (ix, tmp_path / "whole")]
    assert np.array_equal(*same) and resumed.chunks == whole.chunks == 300


CLI_KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    from fakes import FakeEmbedder
    import qa.store.plan as plan
    from qa.cli import cli

    calls = Path(sys.argv[3])

    class Counted(FakeEmbedder):
        def encode_passages(self, texts):
            out = super().encode_passages(texts)
            with calls.open("a") as f:
                f.write(f"{{len(texts)}}\\n")
            time.sleep(float(sys.argv[4]))  # a slow model: the parent kills us between batches
            return out

    plan.load_embedder = lambda *a, **kw: Counted()   # `qa index` as installed, but with a model that counts
    cli(["index", sys.argv[1], "--index", sys.argv[2]])
""")


def test_a_killed_qa_index_backfill_resumes_without_re_embedding_what_it_had(tmp_path):
    """SIGKILL a `qa index` process mid-backfill; the next `qa index` embeds only what the first had not
    stored (embedder calls counted, and what it reports), and the index ends complete."""
    src = REPO.parent / "shared" / "data" / "news_sample.jsonl"
    if not src.exists():
        pytest.skip(f"{src} is missing")
    archive = tmp_path / "news.jsonl"
    archive.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:40]), encoding="utf-8")
    script = tmp_path / "qa_index.py"
    script.write_text(CLI_KILL_SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests")), encoding="utf-8")

    def qa_index(ix, calls, sleep):
        return subprocess.Popen(
            [sys.executable, str(script), str(archive), str(ix), str(calls), str(sleep)],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "QA_NO_PROGRESS": "1"},
        )

    ix, first_calls = tmp_path / "ix", tmp_path / "first"
    proc = qa_index(ix, first_calls, 0.5)
    deadline = time.monotonic() + 120
    while _persisted(ix) < 64 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    persisted = _persisted(ix)
    assert proc.returncode == -signal.SIGKILL and persisted >= 64 and current_version(ix) is None

    again = qa_index(ix, tmp_path / "again", 0)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    embedded_again = sum(map(int, (tmp_path / "again").read_text().split()))
    whole = qa_index(tmp_path / "whole", tmp_path / "whole-calls", 0)
    whole.communicate(timeout=300)
    total = sum(map(int, (tmp_path / "whole-calls").read_text().split()))
    assert persisted < total and embedded_again == total - persisted  # nothing stored is embedded again
    assert f"新嵌入 {embedded_again} 个" in err
    with IndexReader.open(ix) as r, IndexReader.open(tmp_path / "whole") as w:
        assert r.counts() == w.counts() and r.counts()["chunks"] == total
    assert np.array_equal(index_vectors(ix), index_vectors(tmp_path / "whole"))
