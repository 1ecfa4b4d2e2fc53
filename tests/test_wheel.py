"""The package as an admin installs it: a wheel, built from the sources alone, installed into a fresh
virtual environment (no checkout on ``sys.path``), indexes the seeds with ``qa index`` and serves the
chat page (the top-level ``web/`` folder, installed as the package ``qa_web``) and answers with
``qa serve``. Then the same venv with an editable install of the sources (``pip install -e``, as
developers work) serves the page from the sources' ``web/``.

Slow (builds, installs the dependencies — pip may fetch them from PyPI, using its cache — and
embeds with the bundled model); it still runs in CI. No model hub is reachable: ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from qa.app.page import PAGE_FILES

from fakes import ROOT, SEEDS

pytestmark = pytest.mark.slow

SEED_Q = "2025年聊城新增省级以上专精特新中小企业多少家？"


def run(cmd: list, cwd: Path, env: dict, timeout: int) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def clean_env() -> dict:
    """The environment of a shell on a server: nothing from this checkout or this virtualenv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def build_wheel(tmp: Path, env: dict) -> Path:
    """The wheel built from a copy of what the sdist would hold (pyproject, setup.py, README, qa/, web/)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("qa", "web"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp / "dist"
    proc = run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", dist, src],
        cwd=tmp,
        env=env,
        timeout=300,
    )
    # setuptools' "Package 'qa.data' is absent from the `packages` configuration" warning is gone
    assert "absent from the `packages` configuration" not in proc.stdout + proc.stderr
    (wheel,) = dist.glob("qa_newspaper-*.whl")
    return wheel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, body: dict | None = None) -> tuple[int, str, bytes]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.headers.get_content_type(), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get_content_type(), e.read()


def wait_until_up(base: str, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")[-3000:]
        try:
            if http(base + "/api/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError("qa serve did not come up:\n" + log.read_text(encoding="utf-8", errors="replace")[-3000:])


def test_wheel_in_a_fresh_venv_serves_the_chat_page_and_answers(tmp_path):
    env = clean_env()
    wheel = build_wheel(tmp_path, env)
    shipped = zipfile.ZipFile(wheel).namelist()
    # fail fast, before the long install: every page file, and no web/ folder of its own in site-packages
    assert {f"qa_web/{name}" for name in PAGE_FILES} <= set(shipped), shipped
    assert not [n for n in shipped if n.startswith("web/")]

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env, timeout=300)
    py, qa = venv / "bin" / "python", venv / "bin" / "qa"
    run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel], cwd=tmp_path, env=env, timeout=1500)
    where = run([py, "-c", PAGE_DIR], cwd=tmp_path, env=env, timeout=60).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the installed files, not this checkout

    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    index = tmp_path / "index"
    run([qa, "index", seeds, "--index", index], cwd=tmp_path, env=env, timeout=900)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(qa), "serve", "--index", str(index), "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(base, proc, log)
        status, ctype, html = http(base + "/")
        assert (status, ctype) == (200, "text/html") and "报纸档案问答".encode() in html
        for path, want in (("/static/app.js", "text/javascript"), ("/static/style.css", "text/css")):
            assert path.encode() in html
            status, ctype, body = http(base + path)
            assert (status, ctype) == (200, want) and body
        for name in PAGE_FILES:  # the modules app.js imports, and the rest
            assert http(base + "/static/" + name)[0] == 200, name
        status, _, body = http(base + "/api/ask", {"question": SEED_Q})
        answer = json.loads(body)
        assert status == 200 and answer["found"] is True and "207家" in answer["answer"], answer
        pages = [(p["citation"]["paper"], p["citation"]["date"], p["citation"]["page"]) for p in answer["passages"]]
        assert ("聊城日报", "2026-04-01", 1) in pages
    finally:
        proc.terminate()
        proc.wait(30)
    assert "chat page files missing" not in log.read_text(encoding="utf-8", errors="replace")

    # the developers' install: editable, from the sources; the page comes from their web/ folder
    src = tmp_path / "src"
    run([py, "-m", "pip", "uninstall", "-q", "-y", "qa-newspaper"], cwd=tmp_path, env=env, timeout=300)
    run(
        [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "-e", src],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    where = run([py, "-c", PAGE_DIR], cwd=tmp_path, env=env, timeout=60).stdout.split()
    assert where == [str(src / "qa" / "__init__.py"), str(src / "web"), str(src / "web")], where
    served = run([py, "-c", SERVE_PAGE], cwd=tmp_path, env=env, timeout=120).stdout.split()
    assert served == ["200"] * (len(PAGE_FILES) + 1), served


# where the installed qa, its page folder and the qa_web package are
PAGE_DIR = (
    "import importlib.resources, qa; from qa.app.page import page_dir; "
    "print(qa.__file__, page_dir(), importlib.resources.files('qa_web'))"
)
# the app's answers for / and every page file (a service stand-in: the page needs no index)
SERVE_PAGE = (
    "from qa.config import Settings; from qa.app.app import create_app; from qa.app.page import PAGE_FILES; "
    "c = create_app(Settings(rate_limit=None), service=object()).test_client(); "
    "print(c.get('/').status_code, *(c.get('/static/' + n).status_code for n in PAGE_FILES))"
)
