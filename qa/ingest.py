"""Moved to :mod:`qa.pages` (``from qa.pages import read_archive``); this name stays for old imports."""

from qa.pages import IngestReport, read_archive

__all__ = ["IngestReport", "read_archive"]
