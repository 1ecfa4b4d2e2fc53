"""The inbox: a folder the archive team drops new issues into; they are indexed and published by themselves.

Units (what is taken, indexed and moved together), by where they lie in the inbox ``DIR``:

* ``DIR/<paper>/<YYYY-MM-DD>/<NN>[_版名].<txt|pdf|png|jpg|tif>`` — one issue folder (the archive layout);
* ``DIR/<name>/manifest.csv`` plus the files it names — one batch (any folder layout inside);
* ``DIR/<name>.jsonl`` — one CMS export.

Anything else (a loose page file, a folder whose name is not a date) is rejected with the reason.
Names starting with ``.`` are ignored while they are being copied (copy as ``.x`` then rename).

A unit is taken once it is complete: the same files with the same sizes and modification times on
two polls in a row (``poll_s`` apart). Then, each step safe to repeat after a crash:

1. rename it into ``DIR/processing/`` (one atomic rename of the folder or file);
2. copy its files into the archive (``ARCHIVE/<paper>/<date>/``, ``ARCHIVE/_batches/<name>/``,
   ``ARCHIVE/_jsonl/<name>.jsonl``) through hidden temporary names;
3. index those archive folders incrementally and publish atomically (``qa.admin.ingest_job``);
4. move each file to ``DIR/done/`` or, when it could not be read, to ``DIR/rejected/`` with
   ``<file>.why.txt`` beside it (its archive copy is removed); a JSONL or manifest with some bad
   lines goes to ``done/`` with a ``.why.txt`` naming the lines.

On start, everything left in ``processing/`` (a crash or ``kill -9``) is processed again from step
2; pages already published are unchanged and cost only their hash.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable

from qa.admin.ingest_job import copy_atomic, ingest_folders, page_files, skipped_files
from qa.store.location import Location
from qa.text.dates import parse_date

log = logging.getLogger("qa.admin.inbox")
RESERVED = {"processing", "done", "rejected"}
NOT_A_UNIT = (
    "不符合收件箱的命名规则：应为 <报纸>/<YYYY-MM-DD>/<NN>[_版名].<扩展名>、带 manifest.csv 的文件夹，或 .jsonl 文件"
)


def _visible(p: Path) -> bool:
    return not p.name.startswith(".")


def find_units(top: Path) -> list[Path]:
    """The units under ``top`` (the inbox, or its processing/ folder), relative paths."""
    units: list[Path] = []
    if not top.is_dir():
        return units
    for entry in sorted(filter(_visible, top.iterdir())):
        if top.name != "processing" and entry.name in RESERVED and entry.is_dir():
            continue
        if entry.is_file() or (entry / "manifest.csv").is_file():
            units.append(entry.relative_to(top))
        elif entry.is_dir():
            units += [c.relative_to(top) for c in sorted(filter(_visible, entry.iterdir()))]
    return units


def signature(path: Path) -> tuple:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    if not files or any(not _visible(f) for f in files):  # empty, or a hidden file still being copied
        return ()
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            return ()
        out.append((f.as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(out)


class Inbox:
    """One inbox folder feeding one index. ``poll()`` once, or ``run(stop)`` until ``stop`` is set."""

    def __init__(
        self,
        folder: Path,
        index: Location,
        archive: Path,
        *,
        embedder: Callable[[], object] = lambda: None,
        on_published: Callable[[], None] | None = None,
        audit: Callable[..., None] | None = None,
        poll_s: float = 1.0,
    ):
        self.folder, self.index, self.archive = Path(folder), index, Path(archive)
        self.embedder, self.on_published, self.audit, self.poll_s = embedder, on_published, audit, poll_s
        self.processing, self.done, self.rejected = (self.folder / n for n in ("processing", "done", "rejected"))
        self.pending: dict[Path, tuple] = {}
        self.processed = 0

    def recover(self) -> None:
        """Process what a crash left in processing/ (step 2 onwards)."""
        for unit in find_units(self.processing):
            self.process(unit)

    def poll(self) -> int:
        """Take and process every unit that has not changed since the last poll; returns how many."""
        taken, seen = 0, {}
        for unit in find_units(self.folder):
            sig = signature(self.folder / unit)
            seen[unit] = sig
            if sig and self.pending.get(unit) == sig:
                dst = self.processing / unit
                dst.parent.mkdir(parents=True, exist_ok=True)
                if dst.exists():  # the same unit again while an earlier copy waits: let that finish first
                    self.process(unit)
                os.replace(self.folder / unit, dst)  # step 1: atomic claim
                _prune(unit.parent, self.folder)
                self.process(unit)
                seen.pop(unit)
                taken += 1
        self.pending = seen
        return taken

    def run(self, stop: threading.Event) -> None:
        self.recover()
        while not stop.is_set():
            try:
                self.poll()
            except Exception:  # keep watching: the failed unit stays in processing/ and is retried on restart
                log.exception("inbox poll failed")
            stop.wait(self.poll_s)

    def process(self, unit: Path) -> None:
        src = self.processing / unit
        target = self._archive_target(unit)
        if target is None:
            return self._finish(unit, {f: NOT_A_UNIT for f in page_files([src])}, {})
        copies = {f: target / f.relative_to(src) if src.is_dir() else target for f in page_files([src])}
        for f, dst in copies.items():  # step 2
            copy_atomic(f, dst)
        result = ingest_folders(
            [target], self.index, embedder=self.embedder(), on_published=self.on_published
        )  # step 3
        bad = skipped_files(result, [target])
        back = {dst: f for f, dst in copies.items()}
        rejected = {back[d]: why for d, why in bad.items() if d in back}
        notes: dict[Path, list[str]] = {}
        for s in result["skipped"]:
            d = Path(s["source"]).resolve()
            for dst, f in back.items():
                if dst.resolve() == d and s["line"] is not None:
                    notes.setdefault(f, []).append(f"第 {s['line']} 行：{s['reason']}")
        read = {Path(p["source"]).resolve() for p in result["pages"]}
        for f, lines in notes.items():  # not one line of it could be read: the file is rejected
            if f.suffix.lower() == ".jsonl" and copies[f].resolve() not in read:
                rejected[f] = "没有一行可以读取：\n" + "\n".join(lines)
                bad[copies[f]] = rejected[f]
        for d in bad:
            d.unlink(missing_ok=True)  # the archive keeps only what was read
        if self.audit:
            self.audit(
                "inbox",
                "issue.ingest",
                unit.as_posix(),
                {"version": result["version"], "pages": len(result["pages"]), "rejected": len(rejected)},
            )
        self._finish(unit, rejected, notes)

    def _archive_target(self, unit: Path) -> Path | None:
        src = self.processing / unit
        if src.is_file():
            return (
                self.archive / "_jsonl" / unit.name if src.suffix.lower() == ".jsonl" and len(unit.parts) == 1 else None
            )
        if (src / "manifest.csv").is_file() and len(unit.parts) == 1:
            return self.archive / "_batches" / unit.name
        if len(unit.parts) == 2 and parse_date(unit.name) is not None and not unit.parts[0].startswith("_"):
            return self.archive / unit
        return None

    def _finish(self, unit: Path, rejected: dict[Path, str], notes: dict[Path, list[str]]) -> None:
        """Step 4: every file of the unit to done/ or rejected/ (+ .why.txt); each move is one rename."""
        src = self.processing / unit
        for f in page_files([src]) if src.exists() else []:
            rel = f.relative_to(self.processing)
            why = rejected.get(f)
            dst = (self.rejected if why else self.done) / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if why or f in notes:
                text = why or "\n".join(notes[f])
                dst.with_name(dst.name + ".why.txt").write_text(text + "\n", encoding="utf-8")
            os.replace(f, dst)
        for d in sorted((p for p in [src, *src.rglob("*")] if p.is_dir()), key=lambda p: -len(p.parts)):
            _rmdir(d)
        _prune(unit.parent, self.processing)
        self.processed += 1
        log.info("inbox: %s done (%d rejected)", unit.as_posix(), len(rejected))


def _rmdir(d: Path) -> None:
    try:
        d.rmdir()
    except OSError:
        pass


def _prune(rel: Path, top: Path) -> None:
    """Remove now-empty parent folders of a unit (``<paper>/``), never ``top`` itself."""
    while rel.parts:
        _rmdir(top / rel)
        rel = rel.parent


def start_inbox(inbox: Inbox) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    t = threading.Thread(target=inbox.run, args=(stop,), name="qa-inbox", daemon=True)
    t.start()
    return t, stop
