"""Hot reload under load: 4 clients hammer a real waitress server on loopback while
``qa.store.build_index`` publishes a version with a new issue. No request may fail, and the new
issue must be answered within 5 s of the publish (``CURRENT`` replaced, or the Milvus alias switched).
Runs once per backend (``fresh_location``)."""

from __future__ import annotations

import http.client
import json
import threading
import time

from qa.config import Settings

from fakes import SEEDS, FakeEmbedder

NEW_DATE = "2026-04-02"
NEW_QUESTION = "东阿阿胶文化旅游节在哪里开幕？"
NEW_PAGE = (
    "东阿阿胶文化旅游节开幕\n\n"
    "■ 本报记者 李四\n\n"
    "4月1日，第十届东阿阿胶文化旅游节在东阿县阿胶城开幕，吸引游客三万余人。"
    "东阿阿胶文化旅游节以“阿胶之乡 养生东阿”为主题，展示阿胶传统制作技艺。\n\n"
    "活动期间，东阿县还将举办阿胶产业发展论坛和非遗展演。\n"
)


def _read_current(index) -> str | None:
    from qa.store.open import live_version

    return live_version(index)


def test_publish_under_load_switches_without_failures(tmp_path, fresh_location):
    from qa.app.serve import BackgroundServer
    from qa.service import Service
    from qa.store import build_index
    from qa.store.location import MilvusTarget

    index = fresh_location
    build_index([str(SEEDS)], index, embedder=FakeEmbedder(), progress=False)
    first_version = _read_current(index)
    archive = tmp_path / "archive"
    issue = archive / "聊城日报" / NEW_DATE
    issue.mkdir(parents=True)
    (issue / "01_要闻.txt").write_text(NEW_PAGE, encoding="utf-8")

    svc = Service(index, embedder=FakeEmbedder())
    milvus = index if isinstance(index, MilvusTarget) else None
    settings = Settings(
        index=tmp_path / "index",
        backend=milvus,
        host="127.0.0.1",
        port=0,
        threads=8,
        rate_limit=None,
        reload_interval_s=0.5,
    )
    server = BackgroundServer(settings, service=svc, watcher=True)  # the watcher thread, as `qa serve` runs it
    app = server.app
    port = server.port

    stop = threading.Event()
    lock = threading.Lock()
    results: list[tuple[float, float, int, str | None, bool]] = []  # (t_end, latency, status, version, new issue cited)
    failures: list[str] = []

    def client(k: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = 0
        deadline = time.monotonic() + 90  # bounded no matter what
        while not stop.is_set() and time.monotonic() < deadline:
            i += 1
            t0 = time.monotonic()
            try:
                if i % 4 == 3:
                    conn.request("GET", "/api/issues")
                else:
                    body = json.dumps({"question": NEW_QUESTION, "top_k": 3})
                    conn.request("POST", "/api/ask", body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = json.loads(resp.read())
            except Exception as e:  # noqa: BLE001 - any failure counts
                with lock:
                    failures.append(f"client {k}: {type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            t1 = time.monotonic()
            if resp.status != 200:
                with lock:
                    failures.append(f"client {k}: HTTP {resp.status}: {data}")
                continue
            if "passages" in data:
                new = any(p["citation"]["date"] == NEW_DATE for p in data["passages"])
            else:
                new = any(x["date"] == NEW_DATE for x in data["issues"])
            with lock:
                results.append((t1, t1 - t0, resp.status, data.get("index_version"), new))
        conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)  # traffic on the old version first
        publish_at: list[float] = []

        def watch_current():
            end = time.monotonic() + 60
            while time.monotonic() < end and not stop.is_set():
                if _read_current(index) != first_version:
                    publish_at.append(time.monotonic())
                    return
                time.sleep(0.005)

        watcher = threading.Thread(target=watch_current, daemon=True)
        watcher.start()
        report = build_index([str(SEEDS), str(archive)], index, embedder=FakeEmbedder(), progress=False)
        watcher.join(5)
        assert publish_at, "CURRENT was not replaced"
        new_version = _read_current(index)
        assert new_version == report.version != first_version
        # keep the load on until the new issue has been answered (at most 8 s after publish)
        end = publish_at[0] + 8
        while time.monotonic() < end:
            with lock:
                if sum(1 for r in results if r[0] > publish_at[0] and r[3] == new_version and r[4]) >= 8:
                    break
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(35)
        server.stop()

    assert not failures, failures[:5]
    assert len(results) > 20
    old = [r for r in results if r[3] == first_version]
    new = [r for r in results if r[3] == new_version]
    assert old and new
    first_new = min(r[0] for r in new if r[4])
    lat = sorted(r[1] for r in results)
    print(
        f"\nhotswap: {len(results)} requests, 0 failed; {first_version} -> {new_version}; new issue answered "
        f"{first_new - publish_at[0]:.2f} s after publish; latency p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
        f"max {lat[-1] * 1000:.0f} ms"
    )
    assert first_new - publish_at[0] <= 5.0, f"new issue answered {first_new - publish_at[0]:.2f} s after publish"
    # once the new version answered, requests that started later are not served by the old one
    assert not [r for r in old if r[0] - r[1] > first_new + 0.1]
    # no request stalled while the new version was built and loaded
    assert max(r[1] for r in results) < 10.0
    # old version: the new issue is absent; new version: it is there
    assert not any(r[4] for r in old)
    assert app.extensions["qa_reloader"].errors == 0
