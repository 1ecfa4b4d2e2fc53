"""The Milvus backend against a real Milvus Lite: it answers like the embedded index, filters inside
Milvus' searches, publishes by switching an alias atomically, reuses vectors by text hash, serves
several replicas over one Milvus server, and says in one Chinese sentence what is wrong with a URI.

The seed questions and the hot-swap test run on both backends too (``backend_service``,
``fresh_location`` in conftest.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

from fakes import ROOT, SEEDS, FakeEmbedder

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa.cli import cli  # noqa: E402
from qa.store import IndexReader, build_index  # noqa: E402
from qa.store.location import parse_backend  # noqa: E402
from qa.store.milvus.client import connect, forget_client  # noqa: E402
from qa.store.milvus.reader import MilvusReader, rows_expr  # noqa: E402
from qa.store.open import live_version  # noqa: E402

NEW_DATE = "2026-04-02"
NEW_PAGE = (
    "东阿阿胶文化旅游节开幕\n\n■ 本报记者 李四\n\n4月1日，第十届东阿阿胶文化旅游节在东阿县阿胶城开幕，"
    "吸引游客三万余人。活动期间，东阿县还将举办阿胶产业发展论坛和非遗展演。\n"
)


class CountingEmbedder(FakeEmbedder):
    def __init__(self):
        self.passages = 0

    def encode_passages(self, texts):
        self.passages += len(texts)
        return super().encode_passages(texts)


def _new_issue(tmp_path):
    issue = tmp_path / "archive" / "聊城日报" / NEW_DATE
    issue.mkdir(parents=True)
    (issue / "01_要闻.txt").write_text(NEW_PAGE, encoding="utf-8")
    return tmp_path / "archive"


@pytest.fixture
def milvus(tmp_path):
    target = parse_backend(str(tmp_path / "milvus.db"))
    yield target
    forget_client(target)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The seeds (fake embedder) in a FAISS folder and in Milvus Lite: (IndexReader, MilvusReader)."""
    base = tmp_path_factory.mktemp("both")
    target = parse_backend(str(base / "milvus.db"))
    build_index([str(SEEDS)], base / "index", embedder=FakeEmbedder(), progress=False)
    build_index([str(SEEDS)], target, embedder=FakeEmbedder(), progress=False)
    yield IndexReader.open(base / "index"), MilvusReader.open(target)
    forget_client(target)


# --- the same answers as the embedded index -------------------------------------------------------
def test_milvus_reader_holds_the_same_archive_as_the_folder(both):
    faiss_r, milvus_r = both
    assert milvus_r.counts() == faiss_r.counts()
    assert milvus_r.issues() == faiss_r.issues()
    assert milvus_r.issue_dates() == faiss_r.issue_dates() == ["2025-07-29", "2026-04-01"]
    assert milvus_r.page("2025-07-29", 1) == faiss_r.page("2025-07-29", 1)
    assert milvus_r.page("2025-07-29", 9) is None
    rows = list(range(faiss_r.n_chunks))
    assert milvus_r.chunk_records(rows[::-1]) == faiss_r.chunk_records(rows[::-1])
    ids = [faiss_r.chunk_records([0])[0]["article_id"]]
    assert milvus_r.rows_of_articles(ids).tolist() == faiss_r.rows_of_articles(ids).tolist()
    assert (
        milvus_r.rows_speaking_of("2025-01-01", "2025-06-30").tolist()
        == faiss_r.rows_speaking_of("2025-01-01", "2025-06-30").tolist()
    )
    row = int(faiss_r.rows_speaking_of("2025-01-01", "2025-06-30")[0])
    assert milvus_r.period_phrase(row, "2025-01-01", "2025-06-30") == faiss_r.period_phrase(
        row, "2025-01-01", "2025-06-30"
    )


@pytest.mark.parametrize(
    "filters",
    [
        {"date_from": "2025-07-29", "date_to": "2025-07-29"},
        {"date_from": "2026"},
        {"paper": "聊城日报", "page": 1},
        {"paper": "人民日报"},
        {"page": 7},
    ],
)
def test_filters_select_the_same_rows_and_run_inside_the_milvus_search(both, filters):
    faiss_r, milvus_r = both
    allowed = milvus_r.rows_matching(**filters)
    assert allowed.tolist() == faiss_r.rows_matching(**filters).tolist()
    if len(allowed):
        # the version's own filter and the scalar filter itself
        expr = milvus_r._filter(allowed)
        assert expr.startswith("born <= 1 and died > 1 and (") and expr[28:].startswith(("date", "paper", "page"))
    q = FakeEmbedder().encode_queries(["防汛 专精特新 企业"])[0]
    hits, exact = milvus_r.dense_search(q, 50, allowed), faiss_r.dense_search(q, 50, allowed)
    # rows with equal scores may swap; the folder keeps fp16 vectors, Milvus float32 (scores within 1e-3)
    assert np.allclose([s for _, s in hits], [s for _, s in exact], atol=1e-3)
    assert sorted(r for r, _ in hits) == allowed.tolist()  # every allowed row, and only those
    assert {r for r, _ in milvus_r.bm25_text_search("防汛 企业", 50, allowed)} <= set(allowed.tolist())


def test_any_row_set_becomes_ranges_and_ids_inside_the_search(both):
    _, milvus_r = both
    allowed = np.union1d(np.arange(3, 12), [20, 30]).astype(np.int64)  # a period plus passages naming it
    assert rows_expr(allowed) == "(row >= 3 and row <= 11) or row in [20,30]"
    q = FakeEmbedder().encode_queries(["防汛"])[0]
    assert sorted(r for r, _ in milvus_r.dense_search(q, 50, allowed)) == allowed.tolist()
    assert milvus_r.dense_search(q, 5, np.zeros(0, dtype=np.int64)) == []


def test_milvus_bm25_with_jieba_ranks_like_the_embedded_bm25(both):
    faiss_r, milvus_r = both
    for query in ["防汛责任", "专精特新中小企业", "黑色金属加工产业链"]:
        top_faiss = [r for r, _ in faiss_r.bm25_text_search(query, 3)]
        top_milvus = [r for r, _ in milvus_r.bm25_text_search(query, 3)]
        assert top_milvus[0] == top_faiss[0], query
        assert all(s > 0 for _, s in milvus_r.bm25_text_search(query, 3))
    assert milvus_r.bm25_text_search("。，", 3) == []


# --- publishing ------------------------------------------------------------------------------------
def test_alias_switch_is_atomic_for_a_reader_in_another_thread(tmp_path, milvus):
    build_index([str(SEEDS)], milvus, embedder=FakeEmbedder(), progress=False)
    archive = _new_issue(tmp_path)
    seen: list[tuple[str, bool, bool]] = []  # (version, new issue in its dates, new issue found by search)
    errors: list[str] = []
    stop = threading.Event()
    held = MilvusReader.open(milvus)  # a request in flight on the old version

    def watch():
        while not stop.is_set():
            try:
                r = MilvusReader.open(milvus)
                rows = r.rows_matching(NEW_DATE, NEW_DATE)
                hits = r.bm25_text_search("东阿阿胶文化旅游节", 5)
                found = any(rec["date"] == NEW_DATE for rec in r.chunk_records([h for h, _ in hits]))
                seen.append((r.version, NEW_DATE in r.issue_dates() and len(rows) > 0, found))
            except Exception as e:  # noqa: BLE001 - any failure fails the test
                errors.append(repr(e))

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    time.sleep(0.5)
    report = build_index([str(SEEDS), str(archive)], milvus, embedder=FakeEmbedder(), progress=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(v == report.version for v, *_ in seen):
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    t.join(10)
    assert not errors, errors[:3]
    versions = [v for v, *_ in seen]
    assert versions[0] == "v000001" and versions[-1] == report.version == "v000002"
    assert versions == sorted(versions)  # never back to the old version once the new one was seen
    assert all(has == found == (v == "v000002") for v, has, found in seen)  # never a mix of versions
    assert held.version == "v000001" and NEW_DATE not in held.issue_dates() and held.chunk_records([0])


def test_incremental_build_reuses_vectors_and_keeps_live_and_previous(tmp_path, milvus):
    emb = CountingEmbedder()
    first = build_index([str(SEEDS)], milvus, embedder=emb, progress=False)
    assert emb.passages == first.chunks == first.embedded
    archive = _new_issue(tmp_path)
    second = build_index([str(SEEDS), str(archive)], milvus, embedder=emb, progress=False)
    assert (second.reused, second.embedded) == (first.chunks, 1) and emb.passages == first.chunks + 1
    third = build_index([str(SEEDS)], milvus, embedder=emb, progress=False, rebuild=True)
    assert third.version == "v000003" and third.embedded == 0  # a new collection, its vectors from the cache
    names = sorted(connect(milvus).list_collections())  # v000001 and v000002 live in the first collection
    assert names == ["qa_v000001", "qa_v000001_records", "qa_v000003", "qa_v000003_records"]
    assert live_version(milvus) == "v000003"
    unchanged = build_index([str(SEEDS)], milvus, embedder=emb, progress=False)
    assert not unchanged.published and unchanged.version == "v000003"


# --- one backend, several replicas --------------------------------------------------------------------
REPLICA = """
import json, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from fakes import FakeEmbedder
from qa.store.location import parse_backend
from qa.service import Service
svc = Service(parse_backend(sys.argv[2]), embedder=FakeEmbedder())
def say():
    a = svc.ask("东阿阿胶文化旅游节在哪里开幕？", top_k=3)
    print(json.dumps([svc.version, [p.citation.date for p in a.passages]]), flush=True)
say()
deadline = time.monotonic() + 60
while not svc.maybe_reload() and time.monotonic() < deadline:
    time.sleep(0.2)
say()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_replicas_over_one_milvus_server_follow_the_alias(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MILVUS_CACHE", str(tmp_path / "vectors"))  # not the user's cache folder
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "milvus_lite",
            "server",
            "--data-dir",
            str(tmp_path / "server-data"),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    replicas = []
    try:
        assert "listening" in server.stdout.readline()
        target = parse_backend(f"http://127.0.0.1:{port}")
        build_index([str(SEEDS)], target, embedder=FakeEmbedder(), progress=False)
        replicas = [
            subprocess.Popen(
                [sys.executable, "-c", REPLICA, str(ROOT), target.uri],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        before = [json.loads(r.stdout.readline()) for r in replicas]
        assert all(v == "v000001" and NEW_DATE not in dates for v, dates in before), before
        build_index([str(SEEDS), str(_new_issue(tmp_path))], target, embedder=FakeEmbedder(), progress=False)
        after = [json.loads(r.stdout.readline()) for r in replicas]
        assert all(v == "v000002" and dates[0] == NEW_DATE for v, dates in after), after
        for r in replicas:
            assert r.wait(30) == 0, r.stderr.read()
    finally:
        forget_client(parse_backend(f"http://127.0.0.1:{port}"))
        for p in [*replicas, server]:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            p.stdout.close()


def test_lite_file_open_in_another_process_is_one_clear_error(tmp_path, milvus):
    build_index([str(SEEDS)], milvus, embedder=FakeEmbedder(), progress=False)
    forget_client(milvus)  # close it here, so that the other process can take it
    holder = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-c",
            "import sys, time; from pymilvus import MilvusClient; "
            "MilvusClient(sys.argv[1]); print('open', flush=True); time.sleep(60)",
            milvus.uri,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        result = CliRunner().invoke(cli, ["ask", "防汛", "--backend", milvus.uri])
    finally:
        holder.kill()
        holder.wait(10)
        holder.stdout.close()
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：") and "Traceback" not in result.stderr
    assert "另一个进程" in result.stderr and "milvus-lite server" in result.stderr


# --- bad URIs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "uri, says",
    [
        ("ftp://10.0.0.5:19530", "不支持这种协议"),
        ("index", "以 .db 结尾"),
        ("http://10.0.0.5:port", "端口不是数字"),
        ("http://10.0.0.5:19530/some/path", "只有主机和端口"),
    ],
)
def test_bad_backend_uri_is_one_chinese_error(uri, says):
    result = CliRunner().invoke(cli, ["ask", "防汛", "--backend", uri])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("错误：--backend ")
    assert says in result.stderr and uri in result.stderr


def test_unreachable_server_and_missing_file_say_so(tmp_path):
    port = _free_port()
    down = CliRunner().invoke(cli, ["ask", "防汛", "--backend", f"http://127.0.0.1:{port}"])
    missing = CliRunner().invoke(cli, ["ask", "防汛", "--backend", str(tmp_path / "none.db")])
    assert down.exit_code == missing.exit_code == 1
    assert down.stderr.startswith(f"错误：无法连接 Milvus 服务 http://127.0.0.1:{port}")
    assert "不存在" in missing.stderr and "qa index" in missing.stderr
    assert not (tmp_path / "none.db").exists()  # asking never creates an empty database
    both_given = CliRunner().invoke(cli, ["ask", "防汛", "--backend", "x.db", "--index", str(tmp_path)])
    assert both_given.exit_code == 1 and "只能选一个" in both_given.stderr


def test_a_milvus_server_older_than_2_5_is_one_clear_sentence(monkeypatch):
    """Milvus 2.3.5 (the newest server on PyPI, `pip install milvus`) accepted the collections, then failed the
    first build with 'create index on 104 field is not supported' and a traceback: it lacks the BM25 function."""
    import pymilvus

    class OldServer:
        closed = False

        def __init__(self, **options):
            pass

        def get_server_version(self):
            return "v2.3.5-lite"

        def close(self):
            OldServer.closed = True

    monkeypatch.setattr(pymilvus, "MilvusClient", OldServer)
    uri = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(cli, ["index", str(SEEDS), "--backend", uri])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"错误：Milvus 服务 {uri} 的版本是 v2.3.5-lite") and "2.6.2" in result.stderr
    assert OldServer.closed


def test_a_request_the_server_refuses_is_one_sentence_not_a_traceback(tmp_path, monkeypatch):
    from pymilvus.exceptions import MilvusException

    import qa.store

    def refused(*args, **kwargs):
        raise MilvusException(code=1100, message="create index on 104 field is not supported")

    monkeypatch.setattr(qa.store, "build_index", refused)
    result = CliRunner().invoke(cli, ["index", str(SEEDS), "--backend", str(tmp_path / "m.db")])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("错误：Milvus 服务拒绝了请求（create index on 104 field is not supported）")
    assert "已发布的索引版本没有改动" in result.stderr
