"""Corrections from the page viewer, in a real headless Chromium against waitress on loopback: a
reader sees no 「校对」 button; an editor logs in, opens a PDF article in the viewer, corrects its
headline in the form (keyboard, phone width), sees progress, then 「已校对」 and the original through
「查看原文」; the next answer's source card says 「已校对」."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_browser import csp_violations, wait
from test_viewer import ask, lead_question, open_viewer, rect

import pagegen
from fakes import CHROMEDRIVER, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists(),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
    ),
    pytest.mark.skipif(
        not pagegen.FONT.exists() or not pagegen.NEWS.exists(),
        reason="需要 fonts-wqy-zenhei 字体和 ../shared/data/news_sample.jsonl",
    ),
]

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

DAY = "2023-05-01"
PASSWORD = "correct horse battery"
NEW_TITLE = "校对后的新标题"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from qa.admin.accounts import Accounts
    from qa.app.serve import BackgroundServer
    from qa.config import Settings
    from qa.service import Service
    from qa.store import build_index

    from fakes import FakeEmbedder

    root = tmp_path_factory.mktemp("viewer-corr")
    gen = pagegen.make_page(1, date=DAY)
    pagegen.write_issue(root / "arch", [(gen, ".pdf", gen.pdf)])
    build_index([str(root / "arch")], root / "index", embedder=FakeEmbedder(), progress=False)
    Accounts(root / "data").add_user("ed", "editor", PASSWORD)
    server = BackgroundServer(
        Settings(index=root / "index", host="127.0.0.1", port=0, threads=4, rate_limit=None, data_dir=root / "data"),
        service=Service(root / "index", embedder=FakeEmbedder()),
    )
    yield SimpleNamespace(url=server.url, gen=gen)
    server.stop()


def test_a_reader_sees_no_edit_button(driver, site):
    driver.delete_all_cookies()
    _, dialog = open_viewer(driver, ask(driver, site.url, lead_question(site.gen), DAY))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#viewer-text .corr-bar"))
    time.sleep(0.5)  # the session answer has come back
    assert not dialog.find_elements(By.CSS_SELECTOR, ".corr-edit, .corr-toggle, .corrected-mark")


def test_an_editor_corrects_a_headline_from_the_viewer(driver, site, tmp_path):
    driver.set_window_size(390, 844)  # phone width
    driver.get(site.url + "/upload")
    wait(driver).until(lambda d: d.find_element(By.ID, "login").is_displayed())
    driver.find_element(By.ID, "login-name").send_keys("ed")
    driver.find_element(By.ID, "login-password").send_keys(PASSWORD + Keys.ENTER)
    wait(driver).until(lambda d: "已登录" in d.find_element(By.ID, "who").text)

    bubble = ask(driver, site.url, lead_question(site.gen), DAY)
    old_title = bubble.find_element(By.CSS_SELECTOR, ".card").text
    _, dialog = open_viewer(driver, bubble)
    edit = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#viewer-text .corr-edit"))
    driver.execute_script("arguments[0].scrollIntoView()", edit)
    edit.send_keys(Keys.ENTER)  # a button works from the keyboard
    form = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#viewer-text .corr-form"))
    title = form.find_element(By.CSS_SELECTOR, "input[type=text]")
    assert driver.switch_to.active_element == title  # the focus is in the form
    original = title.get_attribute("value")
    assert original and original in old_title  # prefilled with the article's headline
    labels = [lab.text for lab in form.find_elements(By.CSS_SELECTOR, "label")]
    assert labels == ["标题", "日期", "版次", "正文"]
    assert form.find_element(By.CSS_SELECTOR, "input[type=date]").get_attribute("value") == DAY
    assert form.find_element(By.CSS_SELECTOR, "textarea").get_attribute("value")
    box, pane = rect(driver, form), rect(driver, driver.find_element(By.ID, "viewer-text"))
    assert box["r"] <= pane["r"] + 1 and box["w"] > 200  # fits the phone's width
    driver.save_screenshot(str(tmp_path / "form-phone.png"))
    title.clear()
    title.send_keys(NEW_TITLE)
    form.find_element(By.CSS_SELECTOR, ".corr-save").click()
    wait(driver, 60).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#viewer-text .corrected-mark")
            or "失败" in d.find_element(By.ID, "viewer-text").text
        )
    )
    text = driver.find_element(By.ID, "viewer-text")
    assert text.find_element(By.CSS_SELECTOR, ".article-title").text == NEW_TITLE, text.text
    assert NEW_TITLE in driver.find_element(By.ID, "viewer-title").text
    toggle = text.find_element(By.CSS_SELECTOR, ".corr-toggle")
    assert toggle.text == "查看原文" and toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    shown = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#viewer-text .corr-original"))
    assert original in shown.text and toggle.get_attribute("aria-expanded") == "true"
    driver.execute_script("arguments[0].scrollIntoView()", shown)
    driver.save_screenshot(str(tmp_path / "original-phone.png"))
    driver.find_element(By.ID, "viewer-close").click()
    wait(driver, 5).until(lambda d: not dialog.is_displayed())

    card = ask(driver, site.url, lead_question(site.gen), DAY).find_element(By.CSS_SELECTOR, ".card")
    assert "已校对" in card.text and NEW_TITLE in card.text
    card.find_element(By.CSS_SELECTOR, "button.view-page").click()  # 「查看整版」 marks it too
    cited = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "#page-body .page-article.cited"))
    assert "已校对" in cited.find_element(By.CSS_SELECTOR, ".article-no").text and NEW_TITLE in cited.text
    driver.find_element(By.ID, "page-close").click()
    assert csp_violations(driver) == []
    driver.set_window_size(1280, 900)
