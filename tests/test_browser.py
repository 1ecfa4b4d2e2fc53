"""The chat page in a real headless Chromium (selenium), served by waitress on loopback.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``);
``fonts-noto-cjk`` makes the screenshot readable. The index is built from the seeds with the
deterministic fake embedder (it answers the three-turn conversation below right, as the real model
does in tests/test_chat_conversation.py). The two-turn conversation is screenshot (1200x900) into the
test's temporary folder; the README's ``docs/screenshot.png`` is refreshed only on purpose::

    QA_UPDATE_SCREENSHOT=1 python -m pytest tests/test_browser.py -k three_turn
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from fakes import CHROMEDRIVER, CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists(),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
    ),
]

from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from qa.config import Settings  # noqa: E402

from fakes import SEEDS, FakeEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_Q = "2025年聊城新增省级以上专精特新中小企业多少家？"
Q1, Q2, Q3 = "2025年聊城新增多少家专精特新中小企业？", "那“小巨人”企业呢？", "这是哪天的报纸登的？"
SOURCE_LINE = "聊城日报 · 2026-04-01 · 第1版"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"


def _serve(index: Path, **settings):
    """waitress on 127.0.0.1:<free port> in a daemon thread."""
    from qa.app.serve import BackgroundServer
    from qa.service import Service

    svc = Service(index, embedder=FakeEmbedder())
    return BackgroundServer(
        Settings(index=index, host="127.0.0.1", port=0, threads=4, rate_limit=None, **settings), service=svc
    )


@pytest.fixture(scope="module")
def fake_seeds_index(tmp_path_factory):
    from qa.store import build_index

    index = tmp_path_factory.mktemp("browser-seeds-index")
    build_index([str(SEEDS)], index, embedder=FakeEmbedder(), progress=False)
    return index


@pytest.fixture(scope="module")
def seeds_app(fake_seeds_index):
    """The running server itself (``.url``, ``.app``), for tests that act on the server's state."""
    server = _serve(fake_seeds_index)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def seeds_server(seeds_app):
    return seeds_app.url


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory):
    from qa.store import build_index

    root = tmp_path_factory.mktemp("xss-archive")
    issue = root / "测试日报" / "2026-05-01"
    issue.mkdir(parents=True)
    (issue / "01_要闻.txt").write_text(
        f"恶意标题{XSS_SCRIPT}测试\n\n"
        "■ 本报记者 张三\n\n"
        f"这篇报道的正文里有一段脚本{XSS_SCRIPT}，还有一张图片{XSS_IMG}，它们都应当原样显示为文字。"
        "跨站脚本攻击测试报道说明网页必须把档案文本当作纯文本插入。\n\n"
        "第二段正文：聊城市开展网络安全宣传周活动，提醒市民注意防范网络诈骗。\n",
        encoding="utf-8",
    )
    index = tmp_path_factory.mktemp("browser-xss-index")
    build_index([str(root)], index, embedder=FakeEmbedder(), progress=False)
    server = _serve(index)
    yield server.url
    server.stop()


def wait(driver, timeout=20):
    return WebDriverWait(driver, timeout)


def last_answer(driver, timeout=20):
    """Wait for the newest answer bubble to be complete (answered, or an error) and return it."""

    def finished(d):
        bubbles = d.find_elements(By.CSS_SELECTOR, ".bubble.answer")
        return bubbles and bubbles[-1].get_attribute("data-state") in ("done", "error")

    wait(driver, timeout).until(finished)
    return driver.find_elements(By.CSS_SELECTOR, ".bubble.answer")[-1]


def ask_via_ui(driver, question: str):
    box = driver.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    return last_answer(driver)


def assert_no_alert(driver):
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018


def csp_violations(driver) -> list[str]:
    try:
        logs = driver.get_log("browser")
    except Exception:  # pragma: no cover - logging not supported
        return []
    return [e["message"] for e in logs if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def get_json(url: str, body: dict | None = None) -> dict:
    """What the page's fetch() gets: GET, or POST a JSON body."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def open_home(driver, base):
    driver.get(base + "/")
    wait(driver).until(
        lambda d: "档案" in d.find_element(By.ID, "status").text and "连接" not in d.find_element(By.ID, "status").text
    )


# --------------------------------------------------------------------------------------------


def test_ask_seed_question_shows_answer_and_source(driver, seeds_server):
    open_home(driver, seeds_server)
    assert driver.title == "报纸档案问答"
    bubble = ask_via_ui(driver, SEED_Q)
    assert "refusal" not in bubble.get_attribute("class")
    cites = bubble.find_elements(By.CSS_SELECTOR, "button.cite")
    assert cites and cites[0].text == "[1]"
    lines = [e.text for e in bubble.find_elements(By.CSS_SELECTOR, ".card .cite-line")]
    assert lines[0].startswith("聊城日报 · 2026-04-01 · 第1版"), lines
    # the sentence the answer cites is marked in its passage, and nothing else (not every 「企业」)
    marks = [m.text for m in bubble.find_elements(By.CSS_SELECTOR, ".card .passage mark")]
    quoted = bubble.find_element(By.CSS_SELECTOR, "p.text").text.split("[1]")[0]  # the answer's sentence citing [1]
    assert marks == [quoted] and "207家" in quoted, (marks, quoted)
    assert bubble.find_element(By.CSS_SELECTOR, ".card .passage mark").get_attribute("class") == "cited"
    # clicking [1] highlights card 1
    cites[0].click()
    card1 = bubble.find_element(By.CSS_SELECTOR, ".sources .card")
    wait(driver, 5).until(lambda d: "flash" in card1.get_attribute("class"))
    # the URL now carries the question (shareable)
    assert "q=" in driver.current_url and quote(SEED_Q[:4]) in driver.current_url
    # user bubble shows the question; nothing broke CSP
    assert driver.find_elements(By.CSS_SELECTOR, ".bubble.user")[-1].text == SEED_Q
    assert csp_violations(driver) == []


def test_view_whole_page(driver, seeds_server):
    open_home(driver, seeds_server)
    bubble = ask_via_ui(driver, SEED_Q)
    bubble.find_element(By.CSS_SELECTOR, ".card .view-page").click()
    dialog = driver.find_element(By.ID, "page-dialog")
    wait(driver).until(lambda d: dialog.find_elements(By.CSS_SELECTOR, ".page-article"))
    assert dialog.is_displayed()
    assert driver.find_element(By.ID, "page-title").text.startswith("聊城日报 · 2026-04-01 · 第1版")
    articles = dialog.find_elements(By.CSS_SELECTOR, ".page-article")
    assert len(articles) >= 2  # article boundaries shown
    cited = dialog.find_elements(By.CSS_SELECTOR, ".page-article.cited")
    assert len(cited) == 1
    marks = dialog.find_elements(By.CSS_SELECTOR, "mark.passage")
    assert marks and marks[0].text.strip()
    assert "问需于企" in dialog.text
    driver.find_element(By.ID, "page-close").click()
    wait(driver, 5).until(lambda d: not dialog.is_displayed())
    assert csp_violations(driver) == []


def test_date_filter_is_applied(driver, seeds_server):
    open_home(driver, seeds_server)
    driver.execute_script(
        "for (const id of ['date-from', 'date-to']) {"
        "  const e = document.getElementById(id); e.value = '2025-07-29';"
        "  e.dispatchEvent(new Event('change', {bubbles: true})); }"
    )
    page = driver.find_element(By.ID, "page")
    page.clear()
    page.send_keys("1")
    bubble = ask_via_ui(driver, "聊城 中小企业 发展")
    applied = bubble.find_element(By.CSS_SELECTOR, ".filters-applied").text
    assert "2025-07-29" in applied and "第1版" in applied
    lines = [e.text for e in bubble.find_elements(By.CSS_SELECTOR, ".card .cite-line")]
    assert lines and all("2025-07-29" in line for line in lines), lines
    assert "from=2025-07-29" in driver.current_url and "to=2025-07-29" in driver.current_url


def test_question_in_url_is_asked_on_load(driver, seeds_server):
    driver.get(seeds_server + "/?q=" + quote(SEED_Q))
    bubble = last_answer(driver)
    assert driver.find_elements(By.CSS_SELECTOR, ".bubble.user")[-1].text == SEED_Q
    lines = [e.text for e in bubble.find_elements(By.CSS_SELECTOR, ".card .cite-line")]
    assert any(line.startswith("聊城日报 · 2026-04-01 · 第1版") for line in lines)
    # filters in the URL are applied too
    driver.get(seeds_server + "/?q=" + quote("聊城 中小企业") + "&from=2025-07-29&to=2025-07-29")
    bubble = last_answer(driver)
    assert driver.find_element(By.ID, "date-from").get_attribute("value") == "2025-07-29"
    assert "2025-07-29" in bubble.find_element(By.CSS_SELECTOR, ".filters-applied").text


@pytest.mark.parametrize("question", ["2010年的报纸讲了什么？", "量子计算机的超导芯片用什么材料？"])
def test_refusal_shows_the_servers_sentence_once(driver, seeds_server, question):
    expected = get_json(seeds_server + "/api/ask", {"question": question})
    assert expected["found"] is False and expected["refusal"]
    open_home(driver, seeds_server)
    bubble = ask_via_ui(driver, question)
    assert "refusal" in bubble.get_attribute("class")
    assert bubble.get_attribute("data-refusal") == expected["refusal"]
    shown = bubble.find_element(By.CSS_SELECTOR, ".refusal-text").text
    assert shown == expected["answer"]
    assert bubble.text.count(expected["answer"]) == 1
    # no second, page-made refusal line: every 「档案中没有…」 on the bubble is the server's sentence
    assert bubble.text.count("档案中没有") == expected["answer"].count("档案中没有")


def test_limits_come_from_the_server(driver, seeds_server):
    config = get_json(seeds_server + "/api/config")
    open_home(driver, seeds_server)
    box = driver.find_element(By.ID, "question")
    assert box.get_attribute("maxlength") == str(config["max_question_chars"])
    assert driver.find_element(By.ID, "page").get_attribute("max") == str(config["max_page"])
    # a longer question (pasted past maxlength by script) is refused with the server's sentence
    driver.execute_script("arguments[0].value = arguments[1]", box, "问" * (config["max_question_chars"] + 1))
    box.send_keys(Keys.ENTER)
    bubble = driver.find_elements(By.CSS_SELECTOR, ".bubble.answer")[-1]
    assert "error" in bubble.get_attribute("class")
    assert config["messages"]["question_too_long"] in bubble.text


def test_phone_width_has_no_horizontal_scroll(driver, seeds_server):
    try:
        driver.set_window_size(390, 844)
        driver.get(seeds_server + "/?q=" + quote(SEED_Q))
        last_answer(driver)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        assert driver.find_element(By.ID, "send").is_displayed()
    finally:
        driver.set_window_size(1200, 900)


def test_archive_html_is_shown_as_text(driver, xss_server):
    driver.get(xss_server + "/?q=" + quote("跨站脚本攻击测试报道"))
    bubble = last_answer(driver)
    assert_no_alert(driver)
    text = bubble.text
    assert XSS_SCRIPT in text, text
    assert XSS_IMG in text, text
    assert not driver.find_elements(By.CSS_SELECTOR, "#chat img, #chat script")
    # and in the whole-page view
    bubble.find_element(By.CSS_SELECTOR, ".card .view-page").click()
    dialog = driver.find_element(By.ID, "page-dialog")
    wait(driver).until(lambda d: dialog.find_elements(By.CSS_SELECTOR, ".page-article, .article-body"))
    time.sleep(0.3)
    assert_no_alert(driver)
    assert XSS_SCRIPT in dialog.text and XSS_IMG in dialog.text
    assert not dialog.find_elements(By.CSS_SELECTOR, "img, script")
    driver.find_element(By.ID, "page-close").click()
    assert_no_alert(driver)
    assert csp_violations(driver) == []


def test_shift_enter_is_newline_enter_sends(driver, seeds_server):
    open_home(driver, seeds_server)
    box = driver.find_element(By.ID, "question")
    box.send_keys("聊城")
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("中小企业")
    assert box.get_attribute("value") == "聊城\n中小企业"
    assert not driver.find_elements(By.CSS_SELECTOR, ".bubble.user")
    box.send_keys(Keys.ENTER)
    last_answer(driver)
    assert driver.find_elements(By.CSS_SELECTOR, ".bubble.user")[-1].text == "聊城\n中小企业"
    assert box.get_attribute("value") == ""


# ---------------------------------------------------------------------------- conversations


def cite_lines(bubble) -> list[str]:
    """The source cards' citation lines (shown also when an earlier answer is compacted)."""
    return [e.text for e in bubble.find_elements(By.CSS_SELECTOR, ".card .cite-line")]


def answer_text(bubble) -> str:
    return bubble.find_element(By.CSS_SELECTOR, "p.text").text


def save_screenshot(driver, path: Path) -> None:
    """The chat at exactly 1200x900 CSS pixels, from the top of the conversation."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    )
    try:
        time.sleep(1.7)  # let the highlight animation finish
        driver.execute_script("document.getElementById('chat').scrollTop = 0")
        assert driver.save_screenshot(str(path))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert path.read_bytes().startswith(b"\x89PNG")


def test_three_turn_conversation(driver, seeds_server, tmp_path):
    open_home(driver, seeds_server)
    one = ask_via_ui(driver, Q1)
    assert "207家" in answer_text(one) and cite_lines(one)[0].startswith(SOURCE_LINE)
    assert not one.find_elements(By.CSS_SELECTOR, ".understood")  # a question of its own
    two = ask_via_ui(driver, Q2)
    # turn 2 is understood from turn 1 (topic and year) and answers with the 14 「小巨人」 companies
    assert two.find_element(By.CSS_SELECTOR, ".understood").text == "理解为：2025年聊城新增多少家“小巨人”企业？"
    assert "“小巨人”企业14家" in answer_text(two).split("[1]")[0]
    assert cite_lines(two)[0].startswith(SOURCE_LINE) and cite_lines(two)[0].endswith("问需于企 精准滴灌")
    assert "2025-01-01" in two.find_element(By.CSS_SELECTOR, ".filters-applied").text  # the inherited period
    # the earlier answer stays on the page, compacted to its text and citation lines
    assert "compact" in one.get_attribute("class") and "207家" in answer_text(one)
    assert cite_lines(one)[0].startswith(SOURCE_LINE)
    shot = tmp_path / "screenshot.png"
    save_screenshot(driver, shot)
    if os.environ.get("QA_UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "screenshot.png").write_bytes(shot.read_bytes())
    three = ask_via_ui(driver, Q3)
    # turn 3 asks about the report turn 2 cited: its date, from the archive
    assert three.find_element(By.CSS_SELECTOR, ".understood").text == "针对上一轮回答引用的报道"
    assert "2026-04-01" in answer_text(three) and "2025-07-29" not in answer_text(three)
    assert cite_lines(three)[0].startswith(SOURCE_LINE)
    # all three answers are on the page with their sources; a link shares a question that stands alone
    answers = driver.find_elements(By.CSS_SELECTOR, ".bubble.answer")
    assert len(answers) == 3 and all(cite_lines(a) for a in answers)
    assert [b.text for b in driver.find_elements(By.CSS_SELECTOR, ".bubble.user")] == [Q1, Q2, Q3]
    assert quote("2025年聊城新增多少家“小巨人”企业？") in driver.current_url
    # an earlier answer's [1] opens its passages again
    one.find_element(By.CSS_SELECTOR, "button.cite").click()
    assert "compact" not in one.get_attribute("class")
    assert one.find_element(By.CSS_SELECTOR, ".card .passage").text
    assert csp_violations(driver) == []


def test_new_conversation_forgets_the_earlier_turns(driver, seeds_server):
    open_home(driver, seeds_server)
    ask_via_ui(driver, Q1)
    driver.find_element(By.ID, "new-chat").click()
    assert not driver.find_elements(By.CSS_SELECTOR, ".bubble")
    assert driver.find_element(By.ID, "welcome").is_displayed()
    assert "q=" not in driver.current_url
    alone = ask_via_ui(driver, Q2)
    # not read as 「2025年聊城新增多少家“小巨人”企业？」: no understood line, no inherited period
    assert not alone.find_elements(By.CSS_SELECTOR, ".understood")
    assert not alone.find_elements(By.CSS_SELECTOR, ".filters-applied")
    assert len(driver.find_elements(By.CSS_SELECTOR, ".bubble.user")) == 1
    # and a new conversation continues from here: its own follow-up is understood again
    ask_via_ui(driver, Q1)
    two = ask_via_ui(driver, Q2)
    assert "“小巨人”企业14家" in answer_text(two)


def test_shared_link_question_can_be_followed_up(driver, seeds_server):
    driver.get(seeds_server + "/?q=" + quote(Q1))
    assert "207家" in answer_text(last_answer(driver))
    two = ask_via_ui(driver, Q2)
    assert two.find_element(By.CSS_SELECTOR, ".understood").text == "理解为：2025年聊城新增多少家“小巨人”企业？"
    assert "“小巨人”企业14家" in answer_text(two)


def test_expired_conversation_starts_a_new_one(driver, seeds_app):
    from qa.answer.conversations import ConversationStore

    open_home(driver, seeds_app.url)
    ask_via_ui(driver, Q1)
    seeds_app.app.extensions["qa_chat"].store = ConversationStore()  # as after a restart: the id is unknown
    bubble = ask_via_ui(driver, Q1)
    assert bubble.get_attribute("data-state") == "done"
    assert bubble.find_element(By.CSS_SELECTOR, ".notice").text == "对话已过期，已开始新对话。"
    assert "207家" in answer_text(bubble)
    two = ask_via_ui(driver, Q2)  # the new conversation holds the question just answered
    assert "“小巨人”企业14家" in answer_text(two)


# ---------------------------------------------------------------------------- streaming with an LLM

RECORDER = """
window.__seen = [];
new MutationObserver(() => {
  const b = [...document.querySelectorAll('.bubble.answer')].pop();
  if (!b) return;
  const t = b.querySelector('p.text');
  window.__seen.push({state: b.dataset.state || '', cards: b.querySelectorAll('.card').length,
                      text: t ? t.textContent : '', arriving: Boolean(t && t.classList.contains('arriving'))});
}).observe(document.getElementById('chat'), {subtree: true, childList: true, attributes: true, characterData: true});
"""


@pytest.fixture(scope="module")
def llm_server(fake_seeds_index):
    """The app with an LLM: a scripted OpenAI-compatible server (real HTTP) that waits 2 s, then streams a
    two-sentence answer that the checks accept (a real small local model almost never does, see docs/benchmarks.md),
    a piece every 0.25 s, so the first checked sentence is on screen well before the second."""
    from llm_fakes import ScriptedLLM

    reply = "2025年，聊城新增省级以上专精特新中小企业207家。[1]其中专精特新“小巨人”企业14家。[1]"
    with ScriptedLLM("stall", reply=reply, stall_s=2.0, piece_delay_s=0.25) as llm:
        server = _serve(fake_seeds_index, llm_base_url=llm.url, llm_model="scripted")
        yield server.url, reply
        server.stop()


def test_stream_shows_sources_first_then_the_checked_llm_answer(driver, llm_server):
    url, reply = llm_server
    open_home(driver, url)
    driver.execute_script(RECORDER)
    bubble = ask_via_ui(driver, Q1)
    seen = driver.execute_script("return window.__seen")
    first_cards = next(i for i, s in enumerate(seen) if s["cards"])
    # the source cards came first, while the answer was still being written
    assert seen[first_cards]["state"] == "streaming" and "正在组织回答" in seen[first_cards]["text"]
    # then the checked sentences, as they arrived, before the final answer
    arriving = [s for s in seen if s["arriving"]]
    assert arriving and arriving[0]["text"].startswith("2025年，聊城新增") and arriving[0]["state"] == "streaming"
    assert answer_text(bubble) == reply
    assert bubble.get_attribute("data-answer-mode") == "llm"
    assert bubble.find_element(By.CSS_SELECTOR, ".answer-mode").text.startswith("模型回答")
    assert [b.text for b in bubble.find_elements(By.CSS_SELECTOR, "button.cite")] == ["[1]", "[1]"]
    assert cite_lines(bubble)[0].startswith(SOURCE_LINE)
    assert csp_violations(driver) == []


def test_without_llm_the_stream_ends_with_the_extract_and_no_mode_label(driver, seeds_server):
    open_home(driver, seeds_server)
    bubble = ask_via_ui(driver, Q1)
    assert bubble.get_attribute("data-answer-mode") == "extractive"
    assert not bubble.find_elements(By.CSS_SELECTOR, ".answer-mode")
    assert "207家" in answer_text(bubble)


def test_coverage_question_draws_a_chart_whose_bars_ask_for_their_reports(driver, seeds_server):
    question = "哪些天报道了专精特新？"
    expected = get_json(seeds_server + "/api/ask", {"question": question})["timeline"]
    open_home(driver, seeds_server)
    bubble = ask_via_ui(driver, question)
    bars = bubble.find_elements(By.CSS_SELECTOR, "figure.timeline a.timeline-bar")
    assert len(bars) == len(expected["buckets"]) > 1
    counts = {b.get_attribute("data-key"): int(b.get_attribute("data-count")) for b in bars}
    assert counts == {b["key"]: b["count"] for b in expected["buckets"]}
    busiest = max(bars, key=lambda b: int(b.get_attribute("data-count")))
    href = unquote(busiest.get_dom_attribute("href"))
    assert "哪些天报道了专精特新" in href
    assert f"共{expected['total']}篇" in bubble.find_element(By.CSS_SELECTOR, "figure.timeline figcaption").text
    assert not csp_violations(driver)


# ---------------------------------------------------------------------------- accessibility

COVERAGE_Q = "哪些天报道了专精特新？"
FOCUS_RING = "rgb(29, 78, 216)"  # --focus in web/style.css

# what the focused element shows: its outline, or for a chart bar (SVG) the stroke of its bar
FOCUSED = """
const e = document.activeElement;
if (!e || e === document.body) return null;
const bar = e.matches('a.timeline-bar') ? e.querySelector('rect') : null;
const s = getComputedStyle(bar || e);
return {tag: e.tagName.toLowerCase(), cls: e.getAttribute('class') || '', id: e.id,
        ring: bar ? [s.stroke, s.strokeWidth] : [s.outlineStyle, s.outlineWidth, s.outlineColor]};
"""


def press(driver, key):
    """A real key press on whatever has the focus (what a keyboard user does)."""
    ActionChains(driver).send_keys(key).perform()


def tab_until(driver, want, limit=120) -> list[dict]:
    """From the last filter control (the one before the conversation), press Tab until the focused
    element matches CSS selector ``want``; the elements focused on the way, ``want``'s included."""
    driver.execute_script("document.getElementById('clear-filters').focus()")
    seen = []
    for _ in range(limit):
        press(driver, Keys.TAB)
        focused = driver.execute_script(FOCUSED)
        if focused:
            seen.append(focused)
        if driver.execute_script("return document.activeElement.matches(arguments[0])", want):
            return seen
    raise AssertionError(f"Tab never reached {want}: {seen}")


def test_page_scripts_are_modules_without_globals(driver, seeds_server):
    open_home(driver, seeds_server)
    scripts = driver.execute_script("return [...document.scripts].map(s => [s.type, s.getAttribute('src')])")
    assert scripts == [["module", "/static/app.js"]]
    assert driver.execute_script("return typeof window.QA") == "undefined"


def test_only_the_new_answer_is_a_live_region(driver, seeds_server):
    open_home(driver, seeds_server)
    assert driver.find_element(By.ID, "chat").get_attribute("aria-live") is None
    one = ask_via_ui(driver, Q1)
    assert one.get_attribute("aria-live") == "polite" and one.get_attribute("aria-busy") is None
    two = ask_via_ui(driver, Q2)
    live = driver.find_elements(By.CSS_SELECTOR, "main [aria-live], main[aria-live]")
    assert live == [two]  # the earlier answer is quiet now; the whole conversation never was live
    assert two.get_attribute("aria-live") == "polite" and two.get_attribute("aria-busy") is None


def test_citation_buttons_are_named_after_their_sources(driver, seeds_server):
    open_home(driver, seeds_server)
    bubble = ask_via_ui(driver, SEED_Q)
    lines = cite_lines(bubble)
    cites = bubble.find_elements(By.CSS_SELECTOR, "button.cite")
    assert cites
    for btn in cites:
        n = int(btn.text.strip("[]"))
        assert btn.get_attribute("aria-label") == f"来源{n}：{lines[n - 1]}"
    # what a screen reader says for [1]: the source, not 「[1]」
    assert cites[0].accessible_name.startswith("来源1：聊城日报 · 2026-04-01 · 第1版"), cites[0].accessible_name


def test_keyboard_focus_is_always_visible(driver, seeds_server):
    open_home(driver, seeds_server)
    ask_via_ui(driver, COVERAGE_Q)
    seen = tab_until(driver, "#send")
    kinds = {f["tag"] + "." + f["cls"].split()[0] if f["cls"] else f["tag"] for f in seen}
    assert {"button.cite", "a.timeline-bar", "button.view-page", "textarea"} <= kinds, kinds
    for f in seen:
        if f["tag"] == "a":
            assert f["ring"] == [FOCUS_RING, "3px"], f
        else:
            assert f["ring"][0] == "solid" and float(f["ring"][1].removesuffix("px")) >= 2, f
            assert f["ring"][2] == FOCUS_RING, f
    # [n] with Enter moves the focus to its source card, which shows the ring too
    tab_until(driver, "button.cite")
    press(driver, Keys.ENTER)
    wait(driver, 5).until(lambda d: d.execute_script("return document.activeElement.matches('.card')"))
    assert driver.execute_script(FOCUSED)["ring"] == ["solid", "3px", FOCUS_RING]


def test_chart_bars_ask_from_the_keyboard_without_reloading(driver, seeds_server):
    open_home(driver, seeds_server)
    ask_via_ui(driver, COVERAGE_Q)
    driver.execute_script("window.__sameDocument = true")
    tab_until(driver, "a.timeline-bar")
    bar = driver.switch_to.active_element
    asked = unquote(bar.get_dom_attribute("href")).removeprefix("/?q=")
    assert "哪些天报道了专精特新" in asked
    press(driver, Keys.ENTER)
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".bubble.answer")) == 2)
    answer = last_answer(driver)
    assert driver.execute_script("return window.__sameDocument === true")  # no page load happened
    assert [b.text for b in driver.find_elements(By.CSS_SELECTOR, ".bubble.user")] == [COVERAGE_Q, asked]
    assert answer.get_attribute("data-state") == "done"
    assert quote(asked[:4]) in driver.current_url  # and the address bar shares the question asked
    assert csp_violations(driver) == []
