"""The index: versioned folders on disk (``layout``), written by ``writer``, read by ``reader``,
filled by the build steps in ``plan`` and ``build``.

    build_index(["seeds/"], Path("index"))     # read, chunk, embed new texts, write, seal, publish
    IndexReader.open(Path("index"))            # the live version, for searching
"""

from .build import BuildReport, build_from_pages, build_index
from .layout import FORMAT_VERSION, current_version
from .plan import page_hash
from .reader import IndexReader, check_embedder, index_stats

__all__ = ["BuildReport", "FORMAT_VERSION", "IndexReader", "build_from_pages", "build_index", "check_embedder",
           "current_version", "index_stats", "page_hash"]
