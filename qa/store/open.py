"""Opening a store for reading, whichever kind a location names (a folder or a Milvus target):
all the ask path and the hot reload need to know."""

from __future__ import annotations

from pathlib import Path

from qa.store.location import Location, MilvusTarget


def open_reader(location: Location):
    """The live version's reader: ``IndexReader`` for a folder, ``MilvusReader`` for a Milvus target."""
    if isinstance(location, MilvusTarget):
        from qa.store.milvus.reader import MilvusReader

        return MilvusReader.open(location)
    from qa.store.folder.reader import IndexReader

    return IndexReader.open(Path(location))


def live_version(location: Location) -> str | None:
    """Name of the live version (``v000007``), or None when nothing is published; cheap, polled by replicas."""
    if isinstance(location, MilvusTarget):
        from qa.store.milvus.versions import live_version as milvus_version

        return milvus_version(location)
    from qa.store.folder.layout import current_version

    return current_version(Path(location))
