"""A Milvus publish writes only what changed (Milvus Lite, real client, wrapped to record its writes):
one new issue inserts exactly that issue's rows and touches nothing else; a replaced page retires
only its own rows; a publish killed mid-write leaves the previous version answering and the next
build undoes it; and the folder store and Milvus give the same citations for the same archive.
"""

from __future__ import annotations

import shutil
import time

import pytest

from fakes import SEEDS, FakeEmbedder

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa.service import Service  # noqa: E402
from qa.store import IndexReader, build_index  # noqa: E402
from qa.store.location import parse_backend  # noqa: E402
from qa.store.milvus import client as milvus_client  # noqa: E402
from qa.store.milvus.client import ALIVE, connect, forget_client, records_name  # noqa: E402
from qa.store.milvus.lease import LEASE, LOCK_KEY  # noqa: E402
from qa.store.milvus.reader import MilvusReader  # noqa: E402
from qa.store.milvus.versions import live_collection  # noqa: E402
from qa.store.open import live_version  # noqa: E402

NEW_DATE = "2026-04-02"
NEW_PAGE = (
    "东阿阿胶文化旅游节开幕\n\n■ 本报记者 李四\n\n4月1日，第十届东阿阿胶文化旅游节在东阿县阿胶城开幕，"
    "吸引游客三万余人。活动期间，东阿县还将举办阿胶产业发展论坛和非遗展演。\n"
)
CHANGED_PAGE = "002_f585da57cd6e1821.txt"  # the 2025-07-29 issue's page 1
ADDED_STORY = (
    "\n\n运河古城灯会点亮夜经济\n\n■ 本报记者 赵六\n\n7月28日晚，运河古城灯会开幕，"
    "二十余组大型彩灯沿古运河两岸亮起，周边商户营业额比平日增长三成。\n"
)


class Recorder:
    """The real client, with every write (insert, upsert, delete) noted as (call, collection, data);
    the build lease's own record (``qa.store.milvus.lease``) is written through unnoted."""

    def __init__(self, client, fail_on: tuple[str, int] | None = None) -> None:
        self._client, self.calls, self._fail_on = client, [], fail_on

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _write(self, call: str, collection: str, data, **kw):
        if data == {"ids": [LOCK_KEY]} or (call == "upsert" and data[0].get("key") == LOCK_KEY):
            return (
                self._client.upsert(collection, data) if call == "upsert" else self._client.delete(collection, **data)
            )
        self.calls.append((call, collection, data))
        if self._fail_on and self._fail_on[0] == call and sum(c[0] == call for c in self.calls) == self._fail_on[1]:
            raise RuntimeError("killed mid-publish")
        return (
            getattr(self._client, call)(collection, data, **kw)
            if call != "delete"
            else self._client.delete(collection, **data, **kw)
        )

    def insert(self, collection, data, **kw):
        return self._write("insert", collection, data, **kw)

    def upsert(self, collection, data, **kw):
        return self._write("upsert", collection, data, **kw)

    def delete(self, collection, **kw):
        data = {k: kw.pop(k) for k in ("ids", "filter") if k in kw}
        return self._write("delete", collection, data, **kw)

    def written(self, call: str, collection: str) -> list:
        return [row for c, name, data in self.calls if c == call and name == collection for row in data]


@pytest.fixture
def archive(tmp_path):
    """seeds/ copied (its pages can be edited), and a folder holding one new issue."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    issue = tmp_path / "new" / "聊城日报" / NEW_DATE
    issue.mkdir(parents=True)
    (issue / "01_要闻.txt").write_text(NEW_PAGE, encoding="utf-8")
    return tmp_path


@pytest.fixture
def milvus(tmp_path):
    target = parse_backend(str(tmp_path / "milvus.db"))
    yield target
    forget_client(target)


def _record(target, fail_on=None) -> Recorder:
    """Route every connect() to the real client through a Recorder (the builder and readers share it)."""
    rec = Recorder(connect(target), fail_on)
    milvus_client._clients[target.uri] = rec
    return rec


def _release(target, rec: Recorder) -> None:
    milvus_client._clients[target.uri] = rec._client


def _page_rows(reader: MilvusReader, date: str) -> list[int]:
    return reader.rows_matching(date, date).tolist()


def _ask(location, question: str):
    return Service(location, embedder=FakeEmbedder()).ask(question, top_k=3)


class Counting(FakeEmbedder):
    def __init__(self):
        self.texts: list[str] = []

    def encode_passages(self, texts):
        self.texts += texts
        return super().encode_passages(texts)


def test_a_new_issue_writes_only_its_rows_and_a_replaced_page_only_its_own(archive, milvus):
    seeds, new = str(archive / "seeds"), str(archive / "new")
    emb = Counting()
    build_index([seeds], milvus, embedder=emb, progress=False)
    collection = live_collection(milvus)
    before = MilvusReader.open(milvus)

    rec = _record(milvus)
    added = build_index([seeds, new], milvus, embedder=emb, progress=False)
    _release(milvus, rec)
    after = MilvusReader.open(milvus)
    new_rows = _page_rows(after, NEW_DATE)
    inserted = rec.written("insert", collection)
    assert added.version == "v000002" and (added.pages_added, added.pages_changed, added.pages_removed) == (1, 0, 0)
    assert sorted(r["row"] for r in inserted) == new_rows and len(new_rows) == added.chunks - before.n_chunks
    assert {r["iso_date"] for r in inserted} == {NEW_DATE} and {r["born"] for r in inserted} == {2}
    keys = [r["key"] for r in rec.written("insert", records_name(collection))]
    assert all(k.endswith("@2") and "/new/" in k for k in keys[:-1]) and keys[-1] == "g:v000002"
    assert not rec.written("upsert", collection) and not rec.written("delete", collection)  # nothing else touched
    assert not [c for c in rec.calls if c[0] != "insert"]
    assert live_collection(milvus) == collection  # no new collection, no alias switch
    assert added.embedded == len(new_rows) and len(emb.texts) == before.n_chunks + len(new_rows)
    assert _ask(milvus, "东阿阿胶文化旅游节在哪里开幕？").passages[0].citation.date == NEW_DATE

    page = archive / "seeds" / CHANGED_PAGE
    page.write_text(page.read_text(encoding="utf-8") + ADDED_STORY, encoding="utf-8")
    old_rows = _page_rows(after, "2025-07-29")
    rec = _record(milvus)
    embedded_before = len(emb.texts)
    changed = build_index([seeds, new], milvus, embedder=emb, progress=False)
    _release(milvus, rec)
    third = MilvusReader.open(milvus)
    assert (changed.pages_added, changed.pages_changed, changed.pages_removed) == (0, 1, 0)
    assert sorted(r["row"] for r in rec.written("upsert", collection)) == old_rows  # retired: its old rows only
    assert {r["died"] for r in rec.written("upsert", collection)} == {3}
    assert sorted(r["row"] for r in rec.written("insert", collection)) == _page_rows(third, "2025-07-29")
    assert not rec.written("delete", collection)  # the previous version still reads the old rows
    assert _page_rows(third, NEW_DATE) == new_rows and _page_rows(after, "2025-07-29") == old_rows
    # the unchanged stories of that page came from the vector cache: only the new story was embedded
    assert 0 < changed.embedded == len(emb.texts) - embedded_before < len(old_rows)
    assert all("灯会" in t for t in emb.texts[embedded_before:])
    assert _ask(milvus, "运河古城灯会什么时候开幕？").passages[0].citation.date == "2025-07-29"

    rec = _record(milvus)  # the next publish deletes what neither it nor the version before it has
    page.write_text(page.read_text(encoding="utf-8") + "\n\n（完）\n", encoding="utf-8")
    build_index([seeds, new], milvus, embedder=emb, progress=False)
    _release(milvus, rec)
    deleted = [c[2] for c in rec.calls if c[0] == "delete" and c[1] == collection]
    assert deleted == [{"ids": old_rows}]


def test_a_publish_killed_mid_write_leaves_the_previous_version_answering(archive, milvus):
    seeds, new = str(archive / "seeds"), str(archive / "new")
    build_index([seeds], milvus, embedder=FakeEmbedder(), progress=False)
    first = MilvusReader.open(milvus)
    page = archive / "seeds" / CHANGED_PAGE
    page.write_text(page.read_text(encoding="utf-8") + ADDED_STORY, encoding="utf-8")
    rec = _record(milvus, fail_on=("upsert", 2))  # new rows written, old chunk rows retired, then killed
    with pytest.raises(RuntimeError, match="killed"):
        build_index([seeds, new], milvus, embedder=FakeEmbedder(), progress=False)
    _release(milvus, rec)
    client, collection = connect(milvus), live_collection(milvus)
    assert client.query(collection, filter="born == 2", output_fields=["row"])  # the half-written version is there
    assert live_version(milvus) == "v000001"
    reader = MilvusReader.open(milvus)
    assert reader.version == "v000001" and NEW_DATE not in reader.issue_dates()
    hits = reader.bm25_text_search("运河古城灯会", 5) + reader.bm25_text_search("东阿阿胶", 5)
    texts = [r["text"] for r in reader.chunk_records([r for r, _ in hits])]
    assert hits and not any("灯会" in t or "旅游节" in t for t in texts)  # neither the new issue nor the new story
    assert _page_rows(reader, "2025-07-29") == _page_rows(first, "2025-07-29")
    assert (
        reader.counts() == first.counts() and len(reader.chunk_records(list(range(first.n_chunks)))) == first.n_chunks
    )
    assert _ask(milvus, "防汛").index_version == "v000001"

    # the next build undoes the half-written version, then publishes (its number was never seen by a reader)
    again = build_index([seeds, new], milvus, embedder=FakeEmbedder(), progress=False)
    assert again.version == "v000002" and (again.pages_added, again.pages_changed) == (1, 1)
    with IndexReader.open(_folder_of(archive, [seeds, new])) as folder:
        assert MilvusReader.open(milvus).counts() == folder.counts()
        stored = client.query(collection, filter="born <= 2 and died > 2", output_fields=["count(*)"])
        assert stored[0]["count(*)"] == folder.n_chunks  # no row of the killed attempt left over
    retired = client.query(collection, filter=f"died < {ALIVE}", output_fields=["row"])
    assert sorted(r["row"] for r in retired) == _page_rows(first, "2025-07-29")


def _folder_of(archive, paths):
    index = archive / "folder-index"
    build_index(paths, index, embedder=FakeEmbedder(), progress=False)
    return index


QUESTIONS = ["防汛责任", "专精特新中小企业", "东阿阿胶文化旅游节在哪里开幕？", "运河古城灯会什么时候开幕？"]


def _citations(location) -> list[list[tuple]]:
    service = Service(location, embedder=FakeEmbedder())
    out = []
    for q in QUESTIONS:
        cits = [h.citation for h in service.ask(q, top_k=3).passages]
        out.append([(c.date, c.page, c.page_name, c.title, c.paper, c.regions) for c in cits])
    return out


def test_folder_and_milvus_cite_the_same_after_the_same_publishes(archive, milvus):
    seeds, new = str(archive / "seeds"), str(archive / "new")
    folder = archive / "folder-index"
    for paths in ([seeds], [seeds, new]):
        build_index(paths, folder, embedder=FakeEmbedder(), progress=False)
        build_index(paths, milvus, embedder=FakeEmbedder(), progress=False)
    page = archive / "seeds" / CHANGED_PAGE
    page.write_text(page.read_text(encoding="utf-8") + ADDED_STORY, encoding="utf-8")
    for location in (folder, milvus):
        build_index([seeds, new], location, embedder=FakeEmbedder(), progress=False)
    with IndexReader.open(folder) as f:
        assert MilvusReader.open(milvus).counts() == f.counts()
        assert MilvusReader.open(milvus).issues() == f.issues()
    in_folder, in_milvus = _citations(folder), _citations(milvus)
    # The same passages with the same citations; Milvus Lite keeps BM25 statistics per segment (each
    # publish adds one), so two close passages may swap places (a Milvus server keeps them per collection).
    assert [sorted(c) for c in in_milvus] == [sorted(c) for c in in_folder]
    assert [c[0] for c in in_milvus[2:]] == [c[0] for c in in_folder[2:]]
    assert in_milvus[2][0][0] == NEW_DATE and in_milvus[3][0][0] == "2025-07-29"


def test_a_page_gone_from_its_folder_retires_only_its_rows(archive, milvus):
    seeds, new = str(archive / "seeds"), str(archive / "new")
    build_index([seeds, new], milvus, embedder=FakeEmbedder(), progress=False)
    before = MilvusReader.open(milvus)
    gone = _page_rows(before, NEW_DATE)
    shutil.rmtree(archive / "new" / "聊城日报")
    rec = _record(milvus)
    report = build_index([seeds, new], milvus, embedder=FakeEmbedder(), progress=False)
    _release(milvus, rec)
    collection = live_collection(milvus)
    assert (report.pages_added, report.pages_changed, report.pages_removed, report.embedded) == (0, 0, 1, 0)
    assert sorted(r["row"] for r in rec.written("upsert", collection)) == gone
    assert not rec.written("insert", collection) and not rec.written("delete", collection)
    after = MilvusReader.open(milvus)
    assert NEW_DATE not in after.issue_dates() and after.n_chunks == before.n_chunks - len(gone)
    assert NEW_DATE in before.issue_dates() and before.chunk_records(gone)  # the previous version still reads them


def test_outgrowing_flat_writes_one_new_hnsw_collection_without_embedding_again(archive, milvus):
    seeds, new = str(archive / "seeds"), str(archive / "new")
    emb = Counting()
    first = build_index([seeds], milvus, embedder=emb, progress=False, hnsw_threshold=first_chunks(archive) + 1)
    flat = live_collection(milvus)
    second = build_index([seeds, new], milvus, embedder=emb, progress=False, hnsw_threshold=first.chunks + 1)
    reader = MilvusReader.open(milvus)
    assert live_collection(milvus) != flat and reader.meta["vector_index"]["type"] == "HNSW"
    assert second.embedded == 1 and len(emb.texts) == first.chunks + 1  # the rest came from the cache
    assert reader.n_chunks == first.chunks + 1 and NEW_DATE in reader.issue_dates()
    assert _ask(milvus, "东阿阿胶文化旅游节在哪里开幕？").passages[0].citation.date == NEW_DATE


def first_chunks(archive) -> int:
    with IndexReader.open(_folder_of(archive, [str(archive / "seeds")])) as folder:
        return folder.n_chunks


def test_a_second_build_waits_for_the_first_and_takes_over_a_killed_ones_lease(archive, milvus):
    from qa.errors import IndexLocked
    from qa.store.milvus.writer import lock_record

    seeds, new = str(archive / "seeds"), str(archive / "new")
    build_index([seeds], milvus, embedder=FakeEmbedder(), progress=False)
    client, records = connect(milvus), records_name(live_collection(milvus))
    other = {"host": "indexer-2", "pid": 4242, "id": "x"}
    client.upsert(records, [lock_record(LOCK_KEY, {**other, "renewed": time.time()})])
    with pytest.raises(IndexLocked, match="indexer-2"):
        build_index([seeds, new], milvus, embedder=FakeEmbedder(), progress=False)
    assert live_version(milvus) == "v000001"
    client.upsert(records, [lock_record(LOCK_KEY, {**other, "renewed": time.time() - LEASE - 1})])
    report = build_index([seeds, new], milvus, embedder=FakeEmbedder(), progress=False)
    assert report.version == "v000002"
    assert not client.query(records, filter=f'key == "{LOCK_KEY}"', output_fields=["key"])  # released
