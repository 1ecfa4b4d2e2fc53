"""The upload page across a server crash, in a real headless Chromium: an editor uploads a page, the
server process is killed with SIGKILL while the job is embedding, the page says it is retrying, and
once the server is started again it resumes the job, the page shows 「已发布」, and the list of
recent jobs (``GET /api/jobs``) shows the job as resumed."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from test_browser import wait
from test_jobs import PAGE_1, PASSWORD, _start

from fakes import CHROMEDRIVER, CHROMIUM, SEEDS, FakeEmbedder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists(),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
    ),
]

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_upload_page_follows_a_job_across_a_kill_9(tmp_path, driver):
    from qa.admin.accounts import Accounts
    from qa.store import build_index

    build_index([str(SEEDS)], tmp_path / "index", embedder=FakeEmbedder(), progress=False)
    Accounts(tmp_path / "data").add_user("ed", "editor", PASSWORD)
    page_file = tmp_path / "01_page.txt"  # chromedriver refuses some non-ASCII paths
    page_file.write_text(PAGE_1, encoding="utf-8")
    port = _free_port()
    server, _ = _start(tmp_path, slow=60, port=port)
    try:
        url = f"http://127.0.0.1:{port}"
        driver.get(url + "/upload")
        wait(driver).until(lambda d: d.find_element(By.ID, "login").is_displayed())
        driver.find_element(By.ID, "login-name").send_keys("ed")
        driver.find_element(By.ID, "login-password").send_keys(PASSWORD + Keys.ENTER)
        wait(driver).until(lambda d: d.find_element(By.ID, "upload").is_displayed())
        for field, value in (("paper", "聊城日报"), ("date", "2026-04-02")):
            driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, field), value)
        driver.find_element(By.ID, "files").send_keys(str(page_file))
        driver.find_element(By.ID, "send").click()
        stage = lambda d: d.find_element(By.ID, "stage").text  # noqa: E731
        wait(driver, 60).until(lambda d: "向量化" in stage(d))
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        wait(driver, 30).until(lambda d: "正在重试" in stage(d))
        server, _ = _start(tmp_path, slow=0, port=port)  # the same address, as after a restart
        wait(driver, 90).until(lambda d: "已发布" in stage(d))
        rows = wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#result table tr"))
        assert len(rows) == 2 and "东阿阿胶文化旅游节开幕" in rows[1].text
        wait(driver).until(lambda d: "重启后继续" in d.find_element(By.ID, "jobs-list").text)
        listed = driver.find_elements(By.CSS_SELECTOR, "#jobs-list tr")
        assert len(listed) == 2 and "聊城日报/2026-04-02" in listed[1].text and "重启后继续" in listed[1].text
        logs = [
            e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "Failed to fetch" not in e["message"]
        ]
        assert not [e for e in logs if "ERR_CONNECTION_REFUSED" not in e["message"]], logs  # no script error
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
