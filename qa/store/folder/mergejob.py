"""Tier merges apart from the daily add: ``qa merge``, and the background merge of ``qa serve``.

A merge never holds the build lock while it works, so a daily ``qa index`` (or an upload, or the inbox)
is never kept waiting by it. The protocol:

1. Under ``index/.merge.lock`` (one merge at a time), read the live version B and pick its full tiers.
2. Merge them, without the build lock, into ``index/merging/`` (outside ``segments/``, so a build's
   cleanup never touches a merge at work; a killed merge's leftovers are removed by the next merge).
   Meanwhile builds publish B+1, B+2… as usual, and readers keep answering from whatever is live.
3. Take the build lock (briefly) and publish on top of the version live *now*, L: each merged segment
   replaces its sources in L's segment list (new segments added since B stay), pages deleted from its
   sources since B are deleted in it too, and a merge whose sources L no longer lists (a rebuild, a
   segment wholly deleted) is dropped. Then seal, swap ``CURRENT`` atomically, clean up.

So neither loses the other's segments: an add publishes on what is live under the lock, and so does the
merge. Readers switch at the swap (``qa serve`` hot reload); an old version stays readable until then.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

from qa.errors import IndexMissing
from qa.store.folder.layout import (
    COMPLETE,
    DEFAULT_LOCK_TIMEOUT,
    SEGMENT_META,
    SEGMENTS,
    build_lock,
    current_version,
    file_lock,
    fsync_tree,
    next_segment,
    next_version,
    print_to_stderr,
    read_meta,
    seal_and_publish,
)
from qa.store.folder.merge import merge_segments, pick_all, pick_merges
from qa.store.folder.segment import Segment
from qa.store.folder.version import version_meta

MERGE_LOCK = ".merge.lock"
STAGING = "merging"
PUBLISH_WAIT = 3600.0  # a merge waits this long for a running build before it gives its work up


def merge_index(
    index_dir: Path,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    publish_wait: float = PUBLISH_WAIT,
    log: Callable[[str], None] = print_to_stderr,
    dense_threshold: int | None = None,
    everything: bool = False,
) -> str | None:
    """``qa merge``: merge the live version's full size tiers (``factor`` segments at a time, cascading)
    and publish the result on top of whatever is live then; the new version's name, or None when there
    was nothing to merge (or the index changed under the merge so that nothing of it still applies).

    ``everything`` (``qa merge --all``): every segment into one, after a backfill. Each IVF segment
    probes a share of its own lists, so one segment of N rows scans a fraction of what ten of N/10
    do (docs/benchmarks.md, "one segment")."""
    index_dir = Path(index_dir)
    if not index_dir.is_dir() or current_version(index_dir) is None:
        raise IndexMissing(f"{index_dir} 中还没有索引：请先运行 qa index。")
    busy = f"另一个合并任务（进程 {{}}）正在合并 {index_dir}"
    with file_lock(index_dir / MERGE_LOCK, lock_timeout, log, busy):
        staging = index_dir / STAGING
        shutil.rmtree(staging, ignore_errors=True)  # what a killed merge left
        try:
            base_name = current_version(index_dir)
            base = read_meta(index_dir / base_name)
            pick = pick_all if everything else pick_merges
            staged = _merge_staged(index_dir, staging, base, log, dense_threshold, pick)
            if not staged:
                log(f"没有需要合并的分段（{len(base['segments'])} 个分段），索引版本 {base_name} 不变。")
                return None
            with build_lock(index_dir, publish_wait, log):
                return _publish(index_dir, base, staged, log)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _merge_staged(
    index_dir: Path,
    staging: Path,
    base: dict,
    log: Callable[[str], None],
    dense_threshold: int | None,
    pick: Callable[[list[tuple[str, int, int]]], list[list[str]]] = pick_merges,
) -> dict[str, set[str]]:
    """Merge ``base``'s full tiers into ``staging``; staged folder name -> the base segments it replaces."""
    base_deleted = base.get("deleted", {})
    names = [s["name"] for s in base["segments"]]
    segments = {n: Segment(index_dir / SEGMENTS / n, frozenset(base_deleted.get(n, ()))) for n in names}
    sources: dict[str, set[str]] = {n: {n} for n in names}
    try:
        while groups := pick([(n, segments[n].rows, _live(segments[n])) for n in names]):
            for group in groups:
                folder = staging / f"m{len(segments):06d}"
                info = merge_segments(folder, [segments[n] for n in group], dense_threshold)
                log(f"合并 {len(group)} 个分段为一个（{info['rows']} 个段落）。")
                segments[folder.name] = Segment(folder)
                sources[folder.name] = set().union(*(sources[n] for n in group))
                at = names.index(group[0])
                names = [n for n in names if n not in group]
                names.insert(min(at, len(names)), folder.name)
    finally:
        for seg in segments.values():
            seg.close()
    return {n: sources[n] for n in names if n.startswith("m")}


def _live(seg: Segment) -> int:
    return seg.rows if seg.live is None else int(seg.live.sum())


def _publish(index_dir: Path, base: dict, staged: dict[str, set[str]], log: Callable[[str], None]) -> str | None:
    """Under the build lock: the merged segments in place of their sources in the version live now."""
    live_name = current_version(index_dir)
    live = read_meta(index_dir / live_name)
    if (live["embedder"], live["chunking"]) != (base["embedder"], base["chunking"]):
        log(f"合并期间索引已重建（{live_name}），本次合并作废。")
        return None
    names = [s["name"] for s in live["segments"]]
    deleted = {n: set(live.get("deleted", {}).get(n, ())) for n in names}
    before = {n: set(base.get("deleted", {}).get(n, ())) for n in deleted}
    used = 0
    for folder_name, sources in sorted(staged.items()):
        if not sources <= set(names):  # a source was dropped meanwhile: this merge no longer applies
            log(f"合并期间有分段被删除，放弃其中 {len(sources)} 个分段的合并。")
            continue
        final = next_segment(index_dir)  # under the build lock: no build writes a segment now
        os.replace(index_dir / STAGING / folder_name, final)
        _rename(final)
        at = min(names.index(n) for n in sources)
        deleted[final.name] = set().union(*(deleted[n] - before.get(n, set()) for n in sources))
        names = [n for n in names if n not in sources]
        names.insert(at, final.name)
        used += 1
    if not used:
        return None
    segments = {n: Segment(index_dir / SEGMENTS / n, frozenset(deleted.get(n, ()))) for n in names}
    try:
        meta = version_meta(names, segments)
    finally:
        for seg in segments.values():
            seg.close()
    version = next_version(index_dir)
    keep = {k: live[k] for k in ("embedder", "chunking")}
    seal_and_publish(index_dir, version, {**keep, **meta}, log)
    log(f"已发布索引版本 {version}：{len(live['segments'])} 个分段合并为 {len(names)} 个。")
    return version


def _rename(folder: Path) -> None:
    """A staged segment moved to its final name: its ``segment.json`` and ``COMPLETE`` say that name."""
    info = json.loads((folder / SEGMENT_META).read_text(encoding="utf-8"))
    info["name"] = folder.name
    (folder / SEGMENT_META).write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    (folder / COMPLETE).write_text(folder.name + "\n", encoding="utf-8")
    fsync_tree(folder)
    fd = os.open(folder.parent, os.O_RDONLY)  # the rename itself
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
