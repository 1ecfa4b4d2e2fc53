"""Milvus as the index store: each published version is a pair of collections, an alias names the live one.

::

    qa_v000007          chunks: row (primary key, in date/paper/page order), dense vector, the BM25
                        text with its sparse vector (Milvus' BM25 function, jieba analyzer) and the
                        citation fields (date, paper, page, title, ...)
    qa_v000007_records  pages, articles and the version's meta; Milvus wants a vector field in
                        every collection, so this one has a 2-d zero vector that nothing searches
    qa_live             alias -> qa_v000007; switching it is how a new version becomes visible

A version is complete once its ``meta`` record is written (the last insert), the Milvus twin of
the folder's ``COMPLETE``; :func:`cleanup` keeps the live version and the previous complete one.
"""

from __future__ import annotations

import logging
import re
import threading
from importlib import resources

from qa.errors import IndexLocked, IndexMissing
from qa.store.location import MilvusTarget

BATCH = 500
TEXT_MAX = 65535  # Milvus' VARCHAR limit; chunk texts are a few hundred characters
ID_MAX = 4096
META_KEY = "meta"
RECORDS_SUFFIX = "_records"
# Punctuation the jieba analyzer would keep as tokens; qa.text.tokens drops them, so the analyzer does too.
PUNCTUATION = list("，。、；：？！…—·“”‘’（）《》〈〉【】「」『』〔〕,.;:?!'\"()[]{}<>-_/\\|@#$%^&*+=~`■●◆▲★☆")

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def connect(target: MilvusTarget, *, create: bool = True):
    """One shared MilvusClient per URI (thread-safe); a Lite file that does not exist is not created
    unless ``create``. Failures become one Chinese sentence naming the URI and what to do."""
    import os

    with _clients_lock:
        client = _clients.get(target.uri)
        if client is not None:
            return client
        if target.is_lite and not create and not os.path.isdir(target.uri):
            raise IndexMissing(
                f"Milvus Lite 数据库 {target.uri} 不存在。请先运行 `qa index 路径… --backend {target.uri}`。"
            )
        from pymilvus import MilvusClient

        # pymilvus logs every failed RPC with a traceback (set up when it is imported); we turn
        # failures into one Chinese sentence ourselves.
        for name in ("pymilvus", "pymilvus.milvus_client", "milvus_lite.server_manager"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        if target.is_lite:  # its in-process gRPC server logs each RPC it lacks (pymilvus copes without them)
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            import jieba  # its analyzer loads jieba's dictionary, which announces itself on stderr

            jieba.setLogLevel(logging.WARNING)

        try:
            client = MilvusClient(uri=target.uri, timeout=10)
        except Exception as e:  # noqa: BLE001 - pymilvus raises several types for the same failure
            if target.is_lite:
                raise IndexLocked(
                    f"无法打开 Milvus Lite 数据库 {target.uri}（{_reason(e)}）。它很可能正被另一个进程使用："
                    "Milvus Lite 只允许一个进程打开同一个 .db。需要多个进程（建索引和服务，或多个服务副本）时，"
                    f"请运行 `milvus-lite server --data-dir {target.uri} --port 19530`，再用 --backend http://127.0.0.1:19530。"
                ) from e
            raise IndexMissing(
                f"无法连接 Milvus 服务 {target.uri}（{_reason(e)}）。请确认服务已启动、地址和端口正确。"
            ) from e
        _clients[target.uri] = client
        return client


def _reason(e: Exception) -> str:
    return str(getattr(e, "message", None) or e)[:200]


def forget_client(target: MilvusTarget) -> None:
    """Close and drop the cached client (tests; a Lite file must be closed before another process opens it)."""
    with _clients_lock:
        client = _clients.pop(target.uri, None)
    if client is not None:
        client.close()
        if target.is_lite:
            from milvus_lite import server_manager_instance

            server_manager_instance.release_server(target.uri)


# --- names -------------------------------------------------------------------------------------
def chunks_name(target: MilvusTarget, version: str) -> str:
    return f"{target.prefix}_{version}"


def records_name(collection: str) -> str:
    return collection + RECORDS_SUFFIX


def version_of(target: MilvusTarget, collection: str) -> str:
    """``qa_v000007`` -> ``v000007`` (what answers report as ``index_version``)."""
    return collection[len(target.prefix) + 1 :]


def _versions(target: MilvusTarget, client) -> list[str]:
    pattern = re.compile(re.escape(target.prefix) + r"_(v\d{6})")
    return sorted(m.group(1) for name in client.list_collections() if (m := pattern.fullmatch(name)))


def next_version(target: MilvusTarget, client) -> str:
    """``v000008`` when ``qa_v000007`` is the newest collection, complete or not (never reused)."""
    return f"v{max([int(v[1:]) for v in _versions(target, client)] + [0]) + 1:06d}"


def live_collection(target: MilvusTarget) -> str | None:
    """The collection the alias points at, or None when no version was published yet."""
    client = connect(target, create=False)
    if target.alias not in client.list_aliases().get("aliases", []):
        return None
    return client.describe_alias(target.alias)["collection_name"]


def is_complete(client, collection: str) -> bool:
    """Was the version's meta record (written last) stored? Crashed builds leave versions without it."""
    records = records_name(collection)
    if not client.has_collection(records):
        return False
    client.load_collection(records)
    return bool(client.query(records, filter=f'key == "{META_KEY}"', output_fields=["key"]))


def publish(target: MilvusTarget, client, collection: str) -> None:
    """Point the alias at ``collection`` in one Milvus call: every reader sees the old or the new version."""
    if target.alias in client.list_aliases().get("aliases", []):
        client.alter_alias(collection_name=collection, alias=target.alias)
    else:
        client.create_alias(collection_name=collection, alias=target.alias)


def cleanup(target: MilvusTarget, client, log) -> None:
    """Keep the live version and the newest complete one before it; drop every other version's collections."""
    live = live_collection(target)
    live_v = version_of(target, live) if live else None
    versions = _versions(target, client)
    older = [v for v in versions if live_v is None or v < live_v]
    previous = next((v for v in reversed(older) if v != live_v and is_complete(client, chunks_name(target, v))), None)
    for v in versions:
        if v in (live_v, previous):
            continue
        name = chunks_name(target, v)
        if not is_complete(client, name):
            log(f"清理未完成的索引版本 {v}")
        client.drop_collection(name)
        if client.has_collection(records_name(name)):
            client.drop_collection(records_name(name))


def analyzer_params() -> dict:
    """jieba in search mode with the local-names dictionary and the stopwords of ``qa.text.tokens``, so that
    Milvus' BM25 cuts words as the embedded index does; ``_default_`` keeps jieba's own dictionary
    on a Milvus server (Milvus Lite always keeps it)."""
    data = resources.files("qa") / "data"
    words = [ln.split()[0] for ln in (data / "userdict.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    stop = [
        ln.strip()
        for ln in (data / "stopwords.txt").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    return {
        "tokenizer": {"type": "jieba", "mode": "search", "dict": ["_default_", *words]},
        "filter": ["lowercase", {"type": "stop", "stop_words": sorted(set(stop) | set(PUNCTUATION))}],
    }


def chunk_schema(dim: int):
    """Fields of a version's chunk collection; the BM25 function fills ``sparse`` from ``bm25_text``."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("row", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field(
        "bm25_text", DataType.VARCHAR, max_length=TEXT_MAX, enable_analyzer=True, analyzer_params=analyzer_params()
    )
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_field("date", DataType.INT32)  # 20250729: range filters
    s.add_field("page", DataType.INT32)  # -1 when the page number is unknown
    for name in ("paper", "iso_date", "chunk_id", "article_id", "page_id", "source", "text_hash"):
        s.add_field(name, DataType.VARCHAR, max_length=ID_MAX)
    s.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX)
    for name in ("title", "page_name", "issue_no"):
        s.add_field(name, DataType.VARCHAR, max_length=ID_MAX, nullable=True)
    s.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["bm25_text"], output_field_names=["sparse"]
        )
    )
    return s


def records_schema():
    """Pages (``kind`` page), articles (article) and the meta record, with the full record in ``doc``."""
    from pymilvus import DataType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=ID_MAX + 32)
    s.add_field("kind", DataType.VARCHAR, max_length=16)
    s.add_field("page_id", DataType.VARCHAR, max_length=ID_MAX)
    s.add_field("paper", DataType.VARCHAR, max_length=ID_MAX)
    s.add_field("date", DataType.VARCHAR, max_length=32)
    s.add_field("page", DataType.INT32)
    s.add_field("ordinal", DataType.INT32)
    s.add_field("row_lo", DataType.INT64)  # a page's chunks are rows row_lo..row_hi (-1..-2 when none)
    s.add_field("row_hi", DataType.INT64)
    s.add_field("articles", DataType.INT32)
    s.add_field("page_name", DataType.VARCHAR, max_length=ID_MAX, nullable=True)
    s.add_field("issue_no", DataType.VARCHAR, max_length=ID_MAX, nullable=True)
    s.add_field("doc", DataType.JSON)
    s.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    return s


def query_all(client, collection: str, filter: str, fields: list[str]) -> list[dict]:
    """Every entity matching ``filter``. A query without a limit returns them all; pymilvus' query
    iterator would page, but it needs a timestamp RPC that Milvus Lite does not implement."""
    return list(client.query(collection, filter=filter, output_fields=fields))


def quote(value: str) -> str:
    """A Milvus string literal: ``quote('a"b') -> '"a\\\\"b"'``."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_free(target: MilvusTarget, client, version: str) -> None:
    """Refuse to start when another build has already created this version's collection."""
    if client.has_collection(chunks_name(target, version)):
        raise IndexLocked(f"另一个建索引任务正在向 {target.uri} 写入版本 {version}。请等它完成后再试。")
