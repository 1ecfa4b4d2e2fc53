"""The upload page and the 👍/👎 control in a real headless Chromium, against waitress on loopback:
an editor logs in, uploads a page, follows the progress bar to 「已发布」, asks about it on the
chat page and rates the answer; the rating (with its comment and citations) is in the admin view.
Also: over real waitress with accounts, a file over the per-file limit is 413 JSON."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from test_browser import ask_via_ui, last_answer, wait

from fakes import CHROMEDRIVER, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists(),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
    ),
]

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

from qa.config import Settings  # noqa: E402

from fakes import SEEDS, FakeEmbedder  # noqa: E402

PAGE = (
    "东阿阿胶文化旅游节开幕\n\n■ 本报记者 李四\n\n4月1日，第十届东阿阿胶文化旅游节在东阿县阿胶城开幕，"
    "吸引游客三万余人。东阿阿胶文化旅游节以“阿胶之乡 养生东阿”为主题，展示阿胶传统制作技艺。\n"
)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from qa.admin.accounts import Accounts
    from qa.app.serve import BackgroundServer
    from qa.service import Service
    from qa.store import build_index

    tmp = tmp_path_factory.mktemp("upload-site")
    index, data = tmp / "index", tmp / "data"
    build_index([str(SEEDS)], index, embedder=FakeEmbedder(), progress=False)
    accounts = Accounts(data)
    accounts.add_user("ed", "editor", PASSWORD)
    accounts.add_user("boss", "admin", PASSWORD)
    settings = Settings(
        index=index, host="127.0.0.1", port=0, threads=4, rate_limit=None, data_dir=data, upload_max_file=1024 * 1024
    )
    server = BackgroundServer(settings, service=Service(index, embedder=FakeEmbedder()))
    yield server, accounts.create_token("boss"), tmp
    server.stop()


def test_upload_progress_then_feedback_in_chromium(site, driver):
    server, admin_token, tmp = site
    page_file = tmp / "01_page.txt"  # chromedriver refuses some non-ASCII paths
    page_file.write_text(PAGE, encoding="utf-8")
    driver.get(server.url + "/upload")
    wait(driver).until(lambda d: d.find_element(By.ID, "login").is_displayed())
    assert not driver.find_element(By.ID, "upload").is_displayed()  # no upload form before logging in
    driver.find_element(By.ID, "login-name").send_keys("ed")
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD + Keys.ENTER)
    wait(driver).until(
        lambda d: d.find_element(By.ID, "upload").is_displayed() and "已登录" in d.find_element(By.ID, "who").text
    )
    assert not driver.find_element(By.ID, "login").is_displayed()
    for field, value in (("paper", "聊城日报"), ("date", "2026-04-02")):  # typed CJK and date widgets vary by locale
        driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, field), value)
    driver.find_element(By.ID, "files").send_keys(str(page_file))
    driver.find_element(By.ID, "send").click()
    state = lambda: driver.execute_script(  # noqa: E731 - what to show when the wait fails
        "return [document.getElementById('stage').textContent, document.getElementById('paper').value,"
        " document.getElementById('files').files.length, document.getElementById('send').disabled]"
    )
    try:
        wait(driver, 60).until(
            lambda d: d.find_element(By.ID, "stage").text.startswith(("已发布", "失败", "上传", "无法"))
        )
    except Exception:
        req = urllib.request.Request(
            server.url + "/api/admin/audit", headers={"Authorization": f"Bearer {admin_token}"}
        )
        raise AssertionError(
            f"{state()} {driver.get_cookies()} {driver.get_log('browser')} "
            f"{urllib.request.urlopen(req, timeout=10).read().decode()}"
        )
    assert "已发布" in driver.find_element(By.ID, "stage").text, (
        driver.find_element(By.ID, "stage").text + driver.find_element(By.ID, "result").text
    )
    assert driver.find_element(By.ID, "bar").get_attribute("value") == "4"
    rows = driver.find_elements(By.CSS_SELECTOR, "#result table tr")
    assert len(rows) == 2 and "东阿阿胶文化旅游节开幕" in rows[1].text
    assert (tmp / "data/archive/聊城日报/2026-04-02/01.txt").is_file()

    driver.get(server.url + "/")
    wait(driver).until(lambda d: "档案" in d.find_element(By.ID, "status").text)
    ask_via_ui(driver, "东阿阿胶文化旅游节在哪里开幕？")
    bubble = last_answer(driver)
    assert "2026-04-02" in bubble.text
    bubble.find_element(By.CSS_SELECTOR, ".feedback button[aria-label='回答没用']").click()
    comment = bubble.find_element(By.CSS_SELECTOR, ".fb-comment")
    comment.send_keys("开幕地点应写全称" + Keys.ENTER)
    wait(driver).until(lambda d: "谢谢反馈" in bubble.find_element(By.CSS_SELECTOR, ".fb-status").text)

    req = urllib.request.Request(server.url + "/api/admin/feedback", headers={"Authorization": f"Bearer {admin_token}"})
    worst = json.loads(urllib.request.urlopen(req, timeout=10).read())["questions"]
    entry = worst[0]["entries"][0]
    assert worst[0]["down"] == 1 and entry["comment"] == "开幕地点应写全称" and entry["user"] == "ed"
    assert any(p["date"] == "2026-04-02" for p in entry["passages"]) and entry["index_version"]
    # an editor corrects the article: the next answer's source line says 「已校对」
    import requests

    cit = requests.post(
        server.url + "/api/ask", json={"question": "东阿阿胶文化旅游节在哪里开幕？"}, timeout=30
    ).json()["passages"][0]["citation"]
    r = requests.post(
        server.url + "/api/corrections",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=120,
        json={
            "date": cit["date"],
            "page": cit["page"],
            "paper": cit["paper"],
            "article_id": cit["article_id"],
            "title": "第十届东阿阿胶文化旅游节开幕",
        },
    )
    assert r.status_code == 200, r.text
    ask_via_ui(driver, "东阿阿胶文化旅游节在哪里开幕？")
    bubble = last_answer(driver)
    assert "已校对" in bubble.find_element(By.CSS_SELECTOR, ".card").text
    logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not logs, logs  # no CSP violation, no script error


def test_file_over_the_limit_is_413_json_over_waitress(site):
    import requests

    server, admin_token, _ = site
    r = requests.post(
        server.url + "/api/issues",
        headers={"Authorization": f"Bearer {admin_token}"},
        data={"paper": "聊城日报", "date": "2026-04-03"},
        files={"files": ("big.txt", b"a" * (1024 * 1024 + 10))},
        timeout=30,
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert "每个文件最多 1 MB" in r.json()["error"]["message"]
