"""New segments from a stream of pages, a bounded batch at a time.

``SegmentBatcher.add`` takes pages (already judged new or changed by the build) one by one; when
the buffered pages hold ``batch_rows`` chunks they become one sealed segment: chunk -> vectors
(reused by text hash, else from the vector cache, else embedded and persisted there at once) ->
BM25 postings -> periods -> write. Memory is bounded by one batch, whatever the archive's size,
and a build killed at any moment re-embeds on its next run only what the cache had not stored.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from qa.embed.batches import show_progress
from qa.embed.cache import VectorCache
from qa.store.folder.analysis import Analyser
from qa.store.folder.bm25 import Postings
from qa.store.folder.dense import DenseSegment
from qa.store.folder.layout import DB, DENSE_DIR, next_segment
from qa.store.folder.writer import read_rows_in, write_segment
from qa.store.plan import ChunkRows, Live, LiveSource, PagePlan, chunk_rows
from qa.time.period_index import PeriodIndex
from qa.types import Article

BATCH_ROWS = 20_000  # chunks per new segment in a bulk build: ~100 MB of working memory


class SegmentBatcher:
    """Collects page records and writes them as new segments under ``index_dir/segments``."""

    def __init__(
        self,
        index_dir: Path,
        live: Live,
        *,
        cache_dir: Path | None,
        progress: bool | None,
        log: Callable[[str], None],
        batch_rows: int = BATCH_ROWS,
        dense_threshold: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.index_dir, self.live, self.log = Path(index_dir), live, log
        self.batch_rows, self.dense_threshold = batch_rows, dense_threshold
        self.cache = VectorCache.open(cache_dir, live.embedder.name, live.embedder.dim) if cache_dir else None
        self.bar = _Bar() if show_progress(progress) else None
        self.plan = PagePlan()
        self.buffered_rows = 0
        self.written: list[dict] = []  # segment.json of each new segment
        self.embedded = self.reused = 0
        self.analyser = Analyser(workers)

    def add(self, record: dict, articles: list[Article]) -> None:
        """One page (SQLite ``pages`` columns) with its articles; flushes a full batch."""
        if not self.plan.records:  # a page to embed (first of a batch): warm the engine up meanwhile (once)
            getattr(self.live.embedder, "preload", lambda: None)()
            self.analyser.start()
        self.plan.records.append((record, articles))
        per_chunk = max(1, int(self.live.settings.max_chars * 0.8))  # an estimate; the batch is chunked at flush
        self.buffered_rows += sum(len(a.body) // per_chunk + 1 for a in articles)
        if self.buffered_rows >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if not self.plan.records:
            return
        self.plan.records.sort(key=lambda ra: (ra[0]["date"], ra[0]["paper"], ra[0]["page"] or 0, ra[0]["page_id"]))
        rows = chunk_rows(self.plan, self.live.settings)
        self.plan, self.buffered_rows = PagePlan(), 0
        date_of = {p["page_id"]: p["date"] for p in rows.pages}
        analysed = self.analyser.submit(rows.texts, [date_of[c["page_id"]] for c in rows.chunks])
        vectors = self._vectors(rows)  # the analysis runs beside this where it can (qa.store.folder.analysis)
        tokens, periods = analysed()
        folder = next_segment(self.index_dir)
        info = write_segment(
            folder,
            vectors=vectors,
            postings=Postings.build(tokens),
            periods=PeriodIndex.build(periods),
            pages=rows.pages,
            articles=rows.articles,
            chunks=rows.chunks,
            regions=rows.regions,
            images=rows.images,
            dense_threshold=self.dense_threshold,
        )
        self.written.append(info)
        if self.bar:
            self.bar.segment(info)

    def finish(self) -> list[dict]:
        try:
            self.flush()
        finally:
            self.analyser.close()
        if self.cache:
            self.cache.close()
        if self.bar:
            self.bar.close()
        return self.written

    def _vectors(self, rows: ChunkRows) -> np.ndarray:
        """Row vectors: live segments' by text hash, then the cache's, then the model's (persisted at once)."""
        dim = self.live.embedder.dim
        vectors = np.zeros((len(rows.chunks), dim), dtype=np.float32)
        hashes = [c["text_hash"] for c in rows.chunks]
        known = {} if self.live.model_changed else vectors_by_hash(self.live.sources, sorted(set(hashes)))
        todo: dict[str, list[int]] = {}
        for i, h in enumerate(hashes):
            if h in known:
                vectors[i] = known[h]
            else:
                todo.setdefault(h, []).append(i)
        self.reused += len(hashes) - sum(map(len, todo.values()))
        if not todo:
            return vectors
        texts = [rows.texts[where[0]] for where in todo.values()]
        if self.bar:
            self.bar.more(texts)
        if self.cache is None:
            from qa.embed import embed_passages

            new = embed_passages(self.live.embedder, texts, progress=False)
            self.embedded += len(texts)
        else:
            before = self.cache.rows
            try:
                new = self.cache.embed(
                    self.live.embedder, list(todo), texts, progress=False, on_batch=self.bar and self.bar.done
                )
            finally:
                self.embedded += self.cache.rows - before
        for v, where in zip(new, todo.values()):
            vectors[where] = v
        return vectors


def vectors_by_hash(sources: list[LiveSource], hashes: list[str]) -> dict[str, np.ndarray]:
    """Vectors already in the live version's segments, by text hash."""
    found: dict[str, np.ndarray] = {}
    for src in sources:
        wanted = [h for h in hashes if h not in found]
        if not wanted:
            break
        hits = read_rows_in(src.folder / DB, "SELECT row, text_hash FROM chunks WHERE text_hash IN ({})", wanted)
        rows = np.array([r["row"] for r in hits], dtype=np.int64)
        vecs = DenseSegment.load(src.folder / DENSE_DIR).vectors(rows)  # only the segment's vector file is opened
        for r, v in zip(hits, vecs):
            found[r["text_hash"]] = v
    return found


class _Bar:
    """One progress bar for the whole build (characters embedded, chunks, segments, characters/s, ETA of
    what has been read so far): its total grows as batches are read."""

    def __init__(self) -> None:
        from qa.embed.batches import progress_bar

        self.tqdm = progress_bar(0, 0)
        self.chunks = self.total_chunks = self.segments = 0
        self.started = time.monotonic()

    def more(self, texts: list[str]) -> None:
        self.tqdm.total += sum(map(len, texts))
        self.total_chunks += len(texts)
        self.tqdm.refresh()

    def done(self, texts: list[str]) -> None:
        self.chunks += len(texts)
        self.tqdm.update(sum(map(len, texts)))
        self.tqdm.set_postfix_str(f"块 {self.chunks}/{self.total_chunks}，已写 {self.segments} 段", refresh=False)

    def segment(self, info: dict) -> None:
        self.segments += 1
        self.tqdm.set_postfix_str(f"块 {self.chunks}/{self.total_chunks}，已写 {self.segments} 段")

    def close(self) -> None:
        self.tqdm.close()
