"""The index and its only owner. ``location`` names where it lives (a folder, or a Milvus URI);
``plan`` decides what a build does (new, changed, removed pages; reuse or re-embed); ``build`` is
the pipeline (pages in, a published version out) and ``open`` opens the live version for reading.
``folder/`` is the default on-disk format (versions of immutable segments), ``milvus/`` the Milvus
store; both are written by the same plan and read through the same reader interface.

    build_index(["seeds/"], Path("index"))     # read, chunk, embed new texts, write, seal, publish
    IndexReader.open(Path("index"))            # the live version, for searching
"""

from qa.store.build import build_from_pages, build_index, build_stream
from qa.store.folder.layout import FORMAT_VERSION, current_version
from qa.store.folder.mergejob import merge_index
from qa.store.folder.reader import IndexReader, check_embedder, index_stats
from qa.store.plan import BuildReport, page_hash

__all__ = [
    "BuildReport",
    "FORMAT_VERSION",
    "IndexReader",
    "build_from_pages",
    "build_index",
    "build_stream",
    "check_embedder",
    "merge_index",
    "current_version",
    "index_stats",
    "page_hash",
]
