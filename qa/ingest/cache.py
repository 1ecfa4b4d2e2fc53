"""OCR results kept on disk, so re-indexing an unchanged scan reuses its text.

One JSON file per OCR'd image, named by the SHA-256 of the file's bytes, the frame (page of a
TIFF or PDF) and, for PDFs, the render resolution. The engine's name and version are stored
inside and must match, so a new engine or model re-reads every page once. The raw boxes are
kept rather than the final text: layout rules can change without paying for OCR again.
Writes go to a temporary file first and are renamed into place, so an interrupted build never
leaves a half-written entry; an unreadable entry is treated as missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from qa.ingest.ocr import OcrFrame, engine_id


def content_hash(data: bytes) -> str:
    """SHA-256 hex of a file's bytes: ``content_hash(b"") [:8] -> 'e3b0c442'``."""
    return hashlib.sha256(data).hexdigest()


class OcrCache:
    """``folder`` None disables caching (every call OCRs)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.hits = 0

    def _path(self, key: str) -> Path | None:
        return self.folder / f"{key}.json" if self.folder is not None else None

    def get(self, key: str) -> OcrFrame | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
            if obj.get("engine") != engine_id():
                return None
            frame = OcrFrame.from_json(obj)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.hits += 1
        return frame

    def put(self, key: str, frame: OcrFrame) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"engine": engine_id(), **frame.to_json()}, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)  # a read-only cache only costs speed


def frame_key(digest: str, frame: int, dpi: int | None = None) -> str:
    """``<sha256>-f<frame>[-<dpi>dpi]``: one entry per image frame or rendered PDF page."""
    return f"{digest}-f{frame}" + (f"-{dpi}dpi" if dpi else "")
