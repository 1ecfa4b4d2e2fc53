"""Files -> pages -> articles -> chunks: archive layouts in, ``Page`` objects out, then ``segment``
(a page's articles: headline, 引题/副题, byline, captions) and ``chunk`` (sentence-aware chunks).

``from qa.ingest import read_archive`` is the entry point (``qa index``, ``qa inspect``). One
module per concern: ``archive`` walks folders, manifests and JSONL exports (``jsonl``);
``textfile``, ``pdf`` and ``image`` read one page file each (``pagetext`` is what they return);
``layout`` turns positioned text (PDF characters, OCR boxes) into paragraphs in reading order,
with ``geometry`` (its types and thresholds), ``order`` (XY-cut) and ``paragraphs``; ``ocr``
wraps the OCR engine and ``cache`` keeps its results; ``report`` formats ``qa inspect``;
``regions`` keeps each printed line's box and finds where articles sit on the page, ``render``
turns a page file into its page image (run in a child process by the image route).
"""

from qa.ingest.archive import IngestReport, read_archive, read_page_file

__all__ = ["IngestReport", "read_archive", "read_page_file"]
