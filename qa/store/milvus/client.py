"""Milvus as the index store: one collection pair holds every version, rows carry the versions they live in.

::

    qa_v000001          chunks: row (primary key, never reused), dense vector, the BM25 text with its
                        sparse vector (Milvus' BM25 function, jieba analyzer), the citation fields
                        (date, paper, page, title, ...) and ``born``/``died``: the row belongs to
                        versions born <= g < died (``died`` is ALIVE until a publish replaces it)
    qa_v000001_records  pages and articles (also with born/died) and one ``g:v000007`` record per
                        published version holding its meta; Milvus wants a vector field in every
                        collection, so this one has a 2-d zero vector that nothing searches
    qa_live             alias -> the collection in use; switched only when a build writes a new pair

A publish writes only what changed (``qa.store.milvus.build``); its version becomes visible when its
``g:`` record is written, the last insert. The collection is named after the version that created it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from importlib import resources

from qa.errors import BadInput, IndexLocked, IndexMissing, milvus_reason
from qa.store.location import MilvusTarget

BATCH = 500
MIN_SERVER = (2, 6, 2)  # BM25 function and analyzers: 2.5; the partial upsert that retires rows: 2.6.2
TEXT_MAX = 65535  # Milvus' VARCHAR limit; chunk texts are a few hundred characters
ID_MAX = 4096
META_KEY = "meta"  # format 2 (a collection per version) kept its meta under this key
GEN_PREFIX = "g:"  # g:v000007, the record that publishes version v000007
RECORDS_SUFFIX = "_records"
MILVUS_FORMAT_VERSION = 3  # 3: one collection pair, rows versioned by born/died
ALIVE = 2**62  # ``died`` of a row no published version has replaced
# Punctuation the jieba analyzer would keep as tokens; qa.text.tokens drops them, so the analyzer does too.
PUNCTUATION = list("，。、；：？！…—·“”‘’（）《》〈〉【】「」『』〔〕,.;:?!'\"()[]{}<>-_/\\|@#$%^&*+=~`■●◆▲★☆")

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def connect(target: MilvusTarget, *, create: bool = True):
    """One shared MilvusClient per URI (thread-safe); a Lite file that does not exist is not created
    unless ``create``. Failures become one Chinese sentence naming the URI and what to do."""
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
            client = MilvusClient(uri=target.uri, timeout=10, **server_options(target))
        except Exception as e:  # noqa: BLE001 - pymilvus raises several types for the same failure
            if target.is_lite:
                raise IndexLocked(
                    f"无法打开 Milvus Lite 数据库 {target.uri}（{milvus_reason(e)}）。它很可能正被另一个进程使用："
                    "Milvus Lite 只允许一个进程打开同一个 .db。需要多个进程（建索引和服务，或多个服务副本）时，"
                    f"请运行 `milvus-lite server --data-dir {target.uri} --port 19530`，再用 --backend http://127.0.0.1:19530。"
                ) from e
            raise unreachable(target, e) from e
        if not target.is_lite:
            check_server_version(client, target)
        _clients[target.uri] = client
        return client


def check_server_version(client, target: MilvusTarget) -> None:
    """A server older than Milvus 2.6.2 lacks what the collections and publishes use (the BM25 function,
    the jieba analyzer, nullable fields, the partial upsert) and would fail deep inside the first build
    with a cryptic error (Milvus 2.3.5: "create index on 104 field is not supported"); say so at once."""
    try:
        version = str(client.get_server_version())
    except Exception as e:  # noqa: BLE001 - pymilvus raises several types for the same failure
        raise unreachable(target, e) from e
    found = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", version)  # "v2.6.4"; Milvus Lite says "milvus_lite-3.2.2"
    if found and tuple(int(n or 0) for n in found.groups()) < MIN_SERVER:
        client.close()
        raise BadInput(
            f"Milvus 服务 {target.uri} 的版本是 {version}，"
            f"本软件需要 Milvus {'.'.join(map(str, MIN_SERVER))} 或更新的版本"
            "（用到 BM25 全文检索函数、jieba 分词器、可空字段和部分字段 upsert）。请升级 Milvus 服务。"
        )


def server_options(target: MilvusTarget) -> dict:
    """A server's credentials and database from the environment (never on the command line, where
    ``ps`` shows them): ``QA_MILVUS_TOKEN`` (``user:password`` or an API key), ``QA_MILVUS_DB``."""
    if target.is_lite:
        return {}
    options = {"token": os.environ.get("QA_MILVUS_TOKEN", "")}
    if os.environ.get("QA_MILVUS_DB"):
        options["db_name"] = os.environ["QA_MILVUS_DB"]
    return options


def unreachable(target: MilvusTarget, e: Exception) -> IndexMissing:
    return IndexMissing(f"无法连接 Milvus 服务 {target.uri}（{milvus_reason(e)}）。请确认服务已启动、地址和端口正确。")


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


def visible(gen: int) -> str:
    """The filter selecting the rows of version ``gen`` (every search and query of a reader carries it)."""
    return f"born <= {gen} and died > {gen}"


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
    _add_lifetime(s)
    s.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["bm25_text"], output_field_names=["sparse"]
        )
    )
    return s


def records_schema():
    """Pages (``kind`` page), articles (article) and versions (gen), with the full record in ``doc``."""
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
    s.add_field("content_hash", DataType.VARCHAR, max_length=64)  # a page's fingerprint: plans the next build
    s.add_field("root", DataType.VARCHAR, max_length=ID_MAX)  # the PATH it was read under
    s.add_field("doc", DataType.JSON)
    s.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    _add_lifetime(s)
    return s


def _add_lifetime(schema) -> None:
    """``born``: the version that wrote the row; ``died``: the first version without it (ALIVE: none yet)."""
    from pymilvus import DataType

    schema.add_field("born", DataType.INT64)
    schema.add_field("died", DataType.INT64)


def query_all(client, collection: str, filter: str, fields: list[str]) -> list[dict]:
    """Every entity matching ``filter``. A query without a limit returns them all; pymilvus' query
    iterator would page, but it needs a timestamp RPC that Milvus Lite does not implement."""
    return list(client.query(collection, filter=filter, output_fields=fields))


def quote(value: str) -> str:
    """A Milvus string literal: ``quote('a"b') -> '"a\\\\"b"'``."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
