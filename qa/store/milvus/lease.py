"""One ``qa index`` at a time per Milvus: a lease record in the live pair's records collection.

A build would undo another build's unpublished rows (``versions.recover``), so a build takes the
lease first: a ``lock`` record naming its host and process, renewed every ``RENEW`` seconds while
it runs and deleted when it ends. A lease not renewed for ``LEASE`` seconds belongs to a build
that was killed; the next build takes it over (and undoes what that build wrote).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

from qa.errors import IndexLocked
from qa.store.milvus.client import records_name
from qa.store.milvus.writer import lock_record

LOCK_KEY = "lock"
LEASE = 120.0  # seconds without renewal after which a lease is taken to be a killed build's
RENEW = 20.0


def _holder(client, records: str) -> dict | None:
    found = client.query(records, filter=f'key == "{LOCK_KEY}"', output_fields=["doc"])
    return found[0]["doc"] if found else None


@contextmanager
def build_lease(client, collection: str | None, uri: str) -> Iterator[None]:
    """Hold the lease on ``collection``'s pair while the block runs (no pair yet: nothing to hold)."""
    if collection is None:
        yield
        return
    records = records_name(collection)
    client.load_collection(records)  # a new process finds it released
    me = {"host": socket.gethostname(), "pid": os.getpid(), "id": uuid.uuid4().hex}
    held = _holder(client, records)
    if held and time.time() - held["renewed"] < LEASE:
        raise IndexLocked(
            f"另一个建索引任务（主机 {held['host']}，进程 {held['pid']}）正在写入 {uri}。"
            f"请等它完成后再试；若它已被中止，{int(LEASE)} 秒后即可重新运行。"
        )
    stop = threading.Event()

    def renew() -> None:
        client.upsert(records, [lock_record(LOCK_KEY, {**me, "renewed": time.time()})])

    renew()

    def keep() -> None:
        while not stop.wait(RENEW):
            renew()

    thread = threading.Thread(target=keep, name="milvus-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        client.delete(records, ids=[LOCK_KEY])
