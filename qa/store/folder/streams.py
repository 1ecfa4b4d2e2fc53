"""A merge's big arrays, streamed in bounded blocks through files read and written with ``pread`` and
``write`` (no memory maps: a merge reads every byte of its segments once, and mapped pages would stay
resident and count as the merging process's RSS).

- :func:`merge_postings`: several segments' BM25 postings into one, renumbered to the merged row order,
  a block of terms at a time (at most ``BLOCK_POSTINGS`` postings in memory), written as the same files
  :meth:`qa.store.folder.postings.Postings.save` writes. Memory: the block, the vocabularies (one entry
  per distinct word, which grows far slower than the rows), and per-row arrays of a few bytes a row.
- :func:`merged_codes`: the fp16 vector codes of the merged rows, a block of rows at a time, for
  :func:`qa.store.folder.dense_build.write_dense_codes`.

>>> import tempfile
>>> from qa.store.folder.postings import Postings, take
>>> a, b = Postings.build([["x", "y"], ["y"]]), Postings.build([["z", "y", "y"]])
>>> folders = [Path(tempfile.mkdtemp()) for _ in "ab"]
>>> a.save(folders[0]); b.save(folders[1]); out = Path(tempfile.mkdtemp())
>>> merge_postings([(folders[0], np.array([1, -1])), (folders[1], np.array([0]))], 2, out)  # row 1 of a deleted
>>> m = Postings.load(out)
>>> list(m.vocab), m.indptr.tolist(), m.docs.tolist(), m.tfs.tolist(), m.doc_len.tolist()
(['x', 'y', 'z'], [0, 1, 3, 4], [1, 0, 1, 0], [1, 2, 1, 1], [3, 2])
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from qa.store.folder.dense import VECTORS
from qa.store.folder.dense_build import FlatFile
from qa.store.folder.layout import DENSE_DIR
from qa.store.folder.postings import VOCAB, VOCAB_OFFSETS, write_meta

BLOCK_POSTINGS = 1_000_000  # postings per block: ~40 MB of temporaries
BLOCK_ROWS = 65_536  # vector rows per block: 48 MB of fp16 codes at 384 dimensions


class NpyReader:
    """Slices of a 1-D ``.npy`` file, read with ``pread``."""

    def __init__(self, path: Path):
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, self.dtype = read(f)
            self.offset = f.tell()
        self.n = int(shape[0])
        self.fd = os.open(path, os.O_RDONLY)

    def read(self, lo: int, hi: int) -> np.ndarray:
        size = self.dtype.itemsize
        return np.frombuffer(os.pread(self.fd, (hi - lo) * size, self.offset + lo * size), dtype=self.dtype)

    def close(self) -> None:
        os.close(self.fd)


class NpyWriter:
    """A 1-D ``.npy`` file written by appending blocks; its header (length unknown until the end) is
    written last into a fixed 128 bytes reserved at the start (format 1.0, padded as numpy pads)."""

    HEAD = 128

    def __init__(self, path: Path, dtype):
        self.f, self.dtype, self.n = open(path, "wb"), np.dtype(dtype), 0
        self.f.write(b"\0" * self.HEAD)

    def append(self, block: np.ndarray) -> None:
        self.f.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())
        self.n += len(block)

    def close(self) -> None:
        desc = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (self.n,)}
        text = repr(desc).encode("latin1")
        text += b" " * (self.HEAD - 10 - len(text) - 1) + b"\n"
        self.f.seek(0)
        self.f.write(b"\x93NUMPY\x01\x00" + np.uint16(len(text)).tobytes() + text)
        self.f.close()


def _tokens(folder: Path) -> list[bytes]:
    """A segment's sorted vocabulary as UTF-8 bytes (byte order is code point order)."""
    blob = (folder / VOCAB).read_bytes()
    off = np.load(folder / VOCAB_OFFSETS, allow_pickle=False).tolist()
    return [blob[off[i] : off[i + 1] - 1] for i in range(len(off) - 1)]


def merge_postings(parts: list[tuple[Path, np.ndarray]], n_rows: int, out: Path, block: int = BLOCK_POSTINGS) -> None:
    """Postings of ``parts`` — (a segment's ``bm25`` folder, its local row -> merged row, -1 for a deleted
    row) — merged into ``out``: term-major, merged rows ascending within a term, words seen only in
    deleted rows dropped; the same files as ``take(Postings.merge(...), order).save(out)``."""
    out.mkdir(parents=True, exist_ok=True)
    words = [_tokens(folder) for folder, _ in parts]
    union = sorted(set().union(*words))
    pos = {w: i for i, w in enumerate(union)}
    maps = [np.fromiter(map(pos.__getitem__, w), np.int64, len(w)) for w in words]
    del words, pos
    indptrs = [np.load(folder / "indptr.npy", allow_pickle=False) for folder, _ in parts]
    raw = np.zeros(len(union) + 1, dtype=np.int64)  # postings per union word before deletions, cumulated
    for tmap, indptr in zip(maps, indptrs):
        raw[tmap + 1] += np.diff(indptr)  # a part's words are distinct
    np.cumsum(raw, out=raw)
    readers = [(NpyReader(folder / "docs.npy"), NpyReader(folder / "tfs.npy")) for folder, _ in parts]
    docs_out, tfs_out = NpyWriter(out / "docs.npy", np.int32), NpyWriter(out / "tfs.npy", np.uint16)
    counts = np.zeros(len(union), dtype=np.int64)
    try:
        ua = 0
        while ua < len(union):
            ub = max(ua + 1, int(np.searchsorted(raw, raw[ua] + block, side="right")) - 1)
            ub = min(ub, len(union))
            terms, rows, tfs = [], [], []
            for (_, new_of), tmap, indptr, (docs_r, tfs_r) in zip(parts, maps, indptrs, readers):
                ta, tb = np.searchsorted(tmap, [ua, ub])
                if ta == tb:
                    continue
                lo, hi = int(indptr[ta]), int(indptr[tb])
                new = np.asarray(new_of)[docs_r.read(lo, hi)]
                live = new >= 0
                terms.append(np.repeat(tmap[ta:tb], np.diff(indptr[ta : tb + 1]))[live])
                rows.append(new[live])
                tfs.append(tfs_r.read(lo, hi)[live])
            if terms:
                t, r, f = np.concatenate(terms), np.concatenate(rows), np.concatenate(tfs)
                order = np.lexsort((r, t))
                docs_out.append(r[order])
                tfs_out.append(f[order])
                counts[ua:ub] = np.bincount(t - ua, minlength=ub - ua)
            ua = ub
    finally:
        docs_out.close()
        tfs_out.close()
        for docs_r, tfs_r in readers:
            docs_r.close()
            tfs_r.close()
    used = np.flatnonzero(counts)
    indptr = np.zeros(len(used) + 1, dtype=np.int64)
    np.cumsum(counts[used], out=indptr[1:])
    np.save(out / "indptr.npy", indptr, allow_pickle=False)
    doc_len = np.zeros(n_rows, dtype=np.int32)
    for folder, new_of in parts:
        new_of = np.asarray(new_of)
        live = new_of >= 0
        doc_len[new_of[live]] = np.load(folder / "doc_len.npy", mmap_mode="r")[live]
    np.save(out / "doc_len.npy", doc_len, allow_pickle=False)
    offsets = np.zeros(len(used) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(union[i]) + 1 for i in used), np.int64, len(used)), out=offsets[1:])
    np.save(out / VOCAB_OFFSETS, offsets, allow_pickle=False)
    (out / VOCAB).write_bytes(b"".join(union[i] + b"\n" for i in used))
    write_meta(out, rows=n_rows, terms=len(used), postings=int(indptr[-1]))


def merged_codes(folders: list[Path], keep: list[np.ndarray], order: np.ndarray, block: int = BLOCK_ROWS):
    """fp16 codes of the merged rows in order, ``block`` rows at a time: merged row i is kept row
    ``order[i]`` of the segments (``keep[s]``: the kept local rows of segment ``folders[s]``)."""
    seg_of = np.concatenate([np.full(len(k), s, dtype=np.int32) for s, k in enumerate(keep)] or [np.zeros(0, np.int32)])
    local = np.concatenate(keep or [np.zeros(0, np.int64)]).astype(np.int64)
    files = [FlatFile(folder / DENSE_DIR / VECTORS) for folder in folders]
    try:
        for lo in range(0, len(order), block):
            take = order[lo : lo + block]
            which, rows = seg_of[take], local[take]
            codes = np.empty((len(take), files[0].code_size), dtype=np.uint8)
            for s, f in enumerate(files):
                at = np.flatnonzero(which == s)
                if len(at):
                    by_row = np.argsort(rows[at], kind="stable")  # reads in file order
                    codes[at[by_row]] = f.codes(rows[at][by_row])
            yield codes
    finally:
        for f in files:
            f.close()
