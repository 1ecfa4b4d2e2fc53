"""The index: versions of immutable segments on disk (``layout``). A build (``plan``, ``build``,
``batch``) streams pages into new segments (``writer``: ``dense`` vectors, ``bm25`` postings,
periods, SQLite), marks replaced pages deleted and merges full tiers (``merge``, ``version``);
``reader`` searches a version's segments (``segment``) as one archive.

    build_index(["seeds/"], Path("index"))     # read, chunk, embed new texts, write, seal, publish
    IndexReader.open(Path("index"))            # the live version, for searching
"""

from qa.store.build import BuildReport, build_from_pages, build_index, build_stream
from qa.store.folder.layout import FORMAT_VERSION, current_version
from qa.store.plan import page_hash
from qa.store.folder.reader import IndexReader, check_embedder, index_stats

__all__ = ["BuildReport", "FORMAT_VERSION", "IndexReader", "build_from_pages", "build_index", "build_stream", "check_embedder",
           "current_version", "index_stats", "page_hash"]
