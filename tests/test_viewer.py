"""The citation on its newspaper page, in a real headless Chromium: the source card's page thumbnail
with the article outlined, the page viewer (zoom, pan, keyboard, touch, focus), the cited sentences
marked (and nothing else), the 「剪报」 download, phone width and a page whose image is gone.

The archive is generated newspaper pages (tests/pagegen.py, PDF with a text layer) plus a text-only
issue, indexed with the deterministic fake embedder and served by waitress on loopback, so the page
images are rendered by the real route. The screenshots of the card and the viewer (desktop
1280x900, phone 390x844) go to the test's temporary folder; ``docs/viewer-*.png`` are refreshed
only on purpose::

    QA_UPDATE_SCREENSHOT=1 python -m pytest tests/test_viewer.py -k screenshots
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from test_browser import (  # noqa: F401 - fake_seeds_index is a fixture shared with the browser tests
    FOCUS_RING,
    FOCUSED,
    _serve,
    csp_violations,
    fake_seeds_index,
    last_answer,
    press,
    wait,
)

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

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.interaction import POINTER_TOUCH  # noqa: E402
from selenium.webdriver.common.actions.pointer_actions import PointerActions  # noqa: E402
from selenium.webdriver.common.actions.pointer_input import PointerInput  # noqa: E402
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGE_DAY, GONE_DAY, TEXT_DAY = "2023-05-01", "2023-05-04", "2023-05-03"
TEXT_PAPER = "文本日报"
SHOT_Q = "2022年中国数字经济规模有多大？"  # answered from two sentences of seed 1's lead article


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two generated PDF pages, a text-only issue, and a PDF page whose file is deleted after indexing."""
    from qa.app.serve import BackgroundServer
    from qa.config import Settings
    from qa.service import Service
    from qa.store import build_index

    from fakes import FakeEmbedder

    root = tmp_path_factory.mktemp("viewer")
    arch = root / "arch"
    gens = {
        PAGE_DAY: pagegen.make_page(1, date=PAGE_DAY),
        "2023-05-02": pagegen.make_page(2, date="2023-05-02"),
        GONE_DAY: pagegen.make_page(4, date=GONE_DAY),
    }
    paths = {day: pagegen.write_issue(arch, [(g, ".pdf", g.pdf)])[0] for day, g in gens.items()}
    text_issue = arch / TEXT_PAPER / TEXT_DAY
    text_issue.mkdir(parents=True)
    (text_issue / "01_要闻.txt").write_text(
        "社区食堂开进老街巷\n\n本报记者 李明\n\n老街巷的社区食堂本月正式开张，每天供应午餐和晚餐。"
        "食堂由街道和志愿者共同运营，六十岁以上老人就餐可享受八折优惠。附近居民说，吃饭方便多了。\n",
        encoding="utf-8",
    )
    index = root / "index"
    build_index([str(arch)], index, embedder=FakeEmbedder(), progress=False)
    paths[GONE_DAY].unlink()  # the original is gone: its image cannot be shown, its text citation stays
    server = BackgroundServer(
        Settings(index=index, host="127.0.0.1", port=0, threads=4, rate_limit=None),
        service=Service(index, embedder=FakeEmbedder()),
    )
    yield SimpleNamespace(url=server.url, gens=gens, paths=paths, downloads=root / "downloads")
    server.stop()


def lead_question(gen) -> str:
    """A question in the words of the lead article's second paragraph (its first sentence)."""
    return gen.articles[0].paras[1].split("。")[0] + "？"


def ask(driver, base: str, question: str, day: str | None):
    driver.get(f"{base}/?q={quote(question)}" + (f"&from={day}&to={day}" if day else ""))
    bubble = last_answer(driver, 60)
    assert bubble.get_attribute("data-state") == "done"
    return bubble


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def claims(answer: str, n: int) -> list[str]:
    """The answer's sentences citing source n (the text before each [n])."""
    parts = re.split(r"((?:\[\d+\])+)", answer)
    return [parts[i - 1] for i in range(1, len(parts), 2) if str(n) in re.findall(r"\d+", parts[i])]


def rect(driver, element) -> dict:
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return {x: r.x, y: r.y, w: r.width, h: r.height, b: r.bottom, r: r.right};",
        element,
    )


def image_loaded(driver, img) -> bool:
    return driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)


def open_viewer(driver, bubble, how: str = "click"):
    thumb = bubble.find_element(By.CSS_SELECTOR, ".card .page-thumb")
    wait(driver).until(lambda d: image_loaded(d, thumb.find_element(By.TAG_NAME, "img")))
    if how == "click":
        thumb.click()
    else:
        driver.execute_script("arguments[0].focus()", thumb)
        press(driver, Keys.ENTER)
    dialog = driver.find_element(By.ID, "viewer")
    wait(driver).until(
        lambda d: dialog.is_displayed() and d.find_elements(By.CSS_SELECTOR, "#viewer .viewport[data-scale]")
    )
    return thumb, dialog


def viewport_state(driver) -> tuple[float, str]:
    vp = driver.find_element(By.CSS_SELECTOR, "#viewer .viewport")
    stage = vp.find_element(By.CSS_SELECTOR, ".page-stage")
    return float(vp.get_attribute("data-scale")), stage.value_of_css_property("transform")


def close_viewer(driver):
    dialog = driver.find_element(By.ID, "viewer")
    if dialog.is_displayed():
        driver.find_element(By.ID, "viewer-close").click()
        wait(driver, 5).until(lambda d: not dialog.is_displayed())


# --------------------------------------------------------------------------------------------


def test_card_shows_the_page_with_the_article_outlined(driver, archive):
    bubble = ask(driver, archive.url, lead_question(archive.gens[PAGE_DAY]), PAGE_DAY)
    card = bubble.find_element(By.CSS_SELECTOR, ".card")
    thumb = card.find_element(By.CSS_SELECTOR, ".page-thumb")
    img = thumb.find_element(By.TAG_NAME, "img")
    wait(driver).until(lambda d: image_loaded(d, img))
    assert thumb.get_attribute("aria-label").startswith("在版面上查看：" + archive.gens[PAGE_DAY].paper)
    assert img.get_attribute("src").endswith("/image?size=small")  # the 480 px thumbnail, not the 2000 px page
    assert max(driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img)) == 480
    box = rect(driver, img)
    assert 60 <= box["w"] <= 140 and box["h"] > box["w"]  # a small portrait page
    outlines = thumb.find_elements(By.CSS_SELECTOR, ".region.article")
    assert len(outlines) >= 2  # the lead article runs over several columns
    for o in outlines:
        r = rect(driver, o)
        assert r["w"] > 2 and r["h"] > 2
        assert box["x"] - 1 <= r["x"] and r["r"] <= box["r"] + 1 and box["y"] - 1 <= r["y"] and r["b"] <= box["b"] + 1
        assert o.value_of_css_property("border-top-style") == "solid"
    assert thumb.find_elements(By.CSS_SELECTOR, ".region.cited")  # the passage's own lines
    assert csp_violations(driver) == []


def test_text_only_source_says_it_has_no_page_image(driver, archive):
    bubble = ask(driver, archive.url, "社区食堂老人就餐有什么优惠？", TEXT_DAY)
    card = bubble.find_element(By.CSS_SELECTOR, ".card")
    assert not card.find_elements(By.CSS_SELECTOR, ".page-thumb, img")
    assert card.find_element(By.CSS_SELECTOR, ".image-note").text == "纯文本来源，无版面图像"
    assert card.find_element(By.CSS_SELECTOR, ".cite-line").text.startswith(f"{TEXT_PAPER} · {TEXT_DAY}")


def test_only_the_cited_sentences_are_marked(driver, archive):
    bubble = ask(driver, archive.url, lead_question(archive.gens[PAGE_DAY]), PAGE_DAY)
    answer = bubble.find_element(By.CSS_SELECTOR, "p.text").text
    for card in bubble.find_elements(By.CSS_SELECTOR, ".card"):
        n = int(card.find_element(By.CSS_SELECTOR, ".num").text.strip("[]"))
        marks = [flat(m.text) for m in card.find_elements(By.CSS_SELECTOR, ".passage mark")]
        # extracts quote whole sentences: each mark is exactly one or more of the answer's sentences for [n]
        want = [flat(c) for c in claims(answer, n)]
        assert "".join(marks) == "".join(
            w for w in want if w in flat(card.find_element(By.CSS_SELECTOR, ".passage").text)
        )
        assert all(m.get_attribute("class") == "cited" for m in card.find_elements(By.CSS_SELECTOR, ".passage mark"))
    first = bubble.find_element(By.CSS_SELECTOR, ".card .passage")
    assert first.find_elements(By.CSS_SELECTOR, "mark.cited")
    # not every word of the question: 「数字经济」 occurs outside the cited sentences and stays unmarked
    unmarked = driver.execute_script(
        "const p = arguments[0]; let t = '';"
        "for (const n of p.childNodes) if (n.nodeType === 3) t += n.textContent; return t;",
        first,
    )
    assert len(flat(unmarked)) > 20


def test_a_reworded_llm_sentence_marks_the_sentence_it_comes_from(driver, fake_seeds_index):
    """An LLM answer does not quote: its sentence marks the passage sentence sharing most of its wording."""
    from llm_fakes import ScriptedLLM

    reply = "聊城2025年新增省级以上专精特新中小企业207家。[1]"
    with ScriptedLLM("reply", reply=reply) as llm:
        server = _serve(fake_seeds_index, llm_base_url=llm.url, llm_model="scripted")
        try:
            bubble = ask(driver, server.url, "2025年聊城新增多少家专精特新中小企业？", None)
        finally:
            server.stop()
    assert bubble.get_attribute("data-answer-mode") == "llm"
    marks = [m.text for m in bubble.find_elements(By.CSS_SELECTOR, ".card .passage mark.cited")]
    assert len(marks) == 1 and marks[0].startswith("2025年，全市新增省级以上专精特新中小企业207家"), marks
    assert flat(reply.split("[")[0]) not in flat(marks[0])  # reworded, not quoted


def test_viewer_opens_from_the_keyboard_and_keeps_the_focus(driver, archive):
    bubble = ask(driver, archive.url, lead_question(archive.gens[PAGE_DAY]), PAGE_DAY)
    thumb, dialog = open_viewer(driver, bubble, how="keyboard")
    assert driver.switch_to.active_element.get_attribute("class").startswith("viewport")
    # Tab goes round the dialog's controls and never leaves it
    seen = set()
    for _ in range(14):
        press(driver, Keys.TAB)
        inside = driver.execute_script("return document.getElementById('viewer').contains(document.activeElement)")
        assert inside
        seen.add(driver.switch_to.active_element.get_attribute("id") or "viewport")
    assert {"viewer-clip", "viewer-close", "viewer-zoom-in", "viewport"} <= seen, seen
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert driver.execute_script("return document.getElementById('viewer').contains(document.activeElement)")
    press(driver, Keys.ESCAPE)
    wait(driver, 5).until(lambda d: not dialog.is_displayed())
    assert driver.switch_to.active_element == thumb  # back on the card that opened it
    assert driver.execute_script(FOCUSED)["ring"] == ["solid", "3px", FOCUS_RING]  # and visibly so


def test_viewer_opens_with_the_mouse_beside_the_marked_text(driver, archive):
    gen = archive.gens[PAGE_DAY]
    bubble = ask(driver, archive.url, lead_question(gen), PAGE_DAY)
    card_marks = [
        flat(m.text)
        for m in bubble.find_elements(By.CSS_SELECTOR, ".card")[0].find_elements(By.CSS_SELECTOR, "mark.cited")
    ]
    _, dialog = open_viewer(driver, bubble, how="click")
    assert driver.find_element(By.ID, "viewer-title").text.startswith(f"{gen.paper} · {PAGE_DAY} · 第1版")
    # the whole article's text, with the same sentences marked, and only those
    text = driver.find_element(By.ID, "viewer-text")
    wait(driver).until(lambda d: "全文" in text.text)
    assert text.find_element(By.CSS_SELECTOR, ".article-title").text == gen.articles[0].title
    assert flat(gen.articles[0].paras[-1])[:30] in flat(text.text)
    marks = [flat(m.text) for m in text.find_elements(By.CSS_SELECTOR, "mark")]
    assert marks == card_marks and all(
        m.get_attribute("class") == "cited" for m in text.find_elements(By.CSS_SELECTOR, "mark")
    )
    # on the image: the article outlined, the cited lines highlighted inside it
    stage = dialog.find_element(By.CSS_SELECTOR, ".viewport .page-stage")
    article = [rect(driver, e) for e in stage.find_elements(By.CSS_SELECTOR, ".region.article")]
    cited = [rect(driver, e) for e in stage.find_elements(By.CSS_SELECTOR, ".region.cited")]
    assert len(article) >= 2 and cited
    for c in cited:
        assert any(
            a["x"] - 2 <= c["x"] and c["r"] <= a["r"] + 2 and a["y"] - 2 <= c["y"] and c["b"] <= a["b"] + 2
            for a in article
        )
    # the article fills the view at first: its boxes are in the viewport
    vp = rect(driver, dialog.find_element(By.CSS_SELECTOR, ".viewport"))
    left, top = min(a["x"] for a in article), min(a["y"] for a in article)
    right, bottom = max(a["r"] for a in article), max(a["b"] for a in article)
    assert vp["x"] - 1 <= left and right <= vp["r"] + 1 and vp["y"] - 1 <= top and bottom <= vp["b"] + 1
    assert (right - left) > 0.6 * vp["w"] or (bottom - top) > 0.6 * vp["h"]
    close_viewer(driver)
    assert csp_violations(driver) == []


def test_zoom_and_pan_change_the_view(driver, archive):
    bubble = ask(driver, archive.url, lead_question(archive.gens[PAGE_DAY]), PAGE_DAY)
    open_viewer(driver, bubble)
    vp = driver.find_element(By.CSS_SELECTOR, "#viewer .viewport")
    scale0, moved0 = viewport_state(driver)
    driver.find_element(By.ID, "viewer-zoom-in").click()
    scale1, _ = viewport_state(driver)
    assert scale1 == pytest.approx(scale0 * 1.25, rel=0.01)
    vp.click()
    press(driver, "-")
    assert viewport_state(driver)[0] == pytest.approx(scale0, rel=0.01)
    press(driver, "+")
    press(driver, "+")
    assert viewport_state(driver)[0] == pytest.approx(scale0 * 1.5625, rel=0.01)
    # the wheel zooms about the pointer
    before = viewport_state(driver)[0]
    ActionChains(driver).scroll_from_origin(ScrollOrigin.from_element(vp), 0, -300).perform()
    wait(driver, 5).until(lambda d: viewport_state(d)[0] > before * 1.2)
    # arrow keys pan
    _, t0 = viewport_state(driver)
    press(driver, Keys.ARROW_LEFT)
    _, t1 = viewport_state(driver)
    assert t1 != t0 and matrix(t1)[0] == pytest.approx(matrix(t0)[0] + 60, abs=1)
    # a mouse drag pans by the distance dragged
    ActionChains(driver).move_to_element(vp).click_and_hold().move_by_offset(-80, -50).release().perform()
    _, t2 = viewport_state(driver)
    assert matrix(t2)[0] == pytest.approx(matrix(t1)[0] - 80, abs=2) and matrix(t2)[1] == pytest.approx(
        matrix(t1)[1] - 50, abs=2
    )
    # a finger drags too; two fingers pinch
    touch_drag(driver, vp, [(0, 0, 40, 30)])
    _, t3 = viewport_state(driver)
    assert matrix(t3)[0] == pytest.approx(matrix(t2)[0] + 40, abs=2)
    scale3 = viewport_state(driver)[0]
    touch_drag(driver, vp, [(-20, 0, -80, 0), (20, 0, 80, 0)])
    assert viewport_state(driver)[0] > scale3 * 1.5
    # 0 shows the article again
    press(driver, "0")
    assert viewport_state(driver)[0] == pytest.approx(scale0, rel=0.01)
    close_viewer(driver)


def matrix(transform: str) -> tuple[float, float]:
    """The translation of a computed CSS transform (``matrix(1, 0, 0, 1, x, y)``)."""
    values = [float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", transform)]
    return values[4], values[5]


def touch_drag(driver, element, fingers: list[tuple[int, int, int, int]]):
    """Touch fingers down at (x0, y0) and move each to (x1, y1) (offsets from the element's centre), in steps."""
    builder = ActionBuilder(driver, mouse=PointerInput(POINTER_TOUCH, "finger0"))
    inputs = [builder.pointer_action] + [
        PointerActions(builder.add_pointer_input(POINTER_TOUCH, f"finger{i}")) for i in range(1, len(fingers))
    ]
    for pointer, (x0, y0, _, _) in zip(inputs, fingers):
        pointer.move_to(element, x0, y0)
        pointer.pointer_down()
    steps = 5
    for k in range(1, steps + 1):
        for pointer, (x0, y0, x1, y1) in zip(inputs, fingers):
            pointer.move_to(element, round(x0 + (x1 - x0) * k / steps), round(y0 + (y1 - y0) * k / steps))
    for pointer in inputs:
        pointer.pointer_up()
    builder.perform()


def test_clipping_downloads_a_png_of_the_article(driver, archive):
    from PIL import Image

    archive.downloads.mkdir(exist_ok=True)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(archive.downloads)})
    gen = archive.gens[PAGE_DAY]
    bubble = ask(driver, archive.url, lead_question(gen), PAGE_DAY)
    open_viewer(driver, bubble)
    clip = driver.find_element(By.ID, "viewer-clip")
    wait(driver).until(lambda d: clip.is_enabled())
    clip.click()
    # the file is offered as 「剪报_聊城日报_2023-05-01_第1版.png」 (a browser without a UTF-8 locale,
    # as in this container, saves it as 「download」: so the name is checked where the page makes it)
    name = driver.execute_script(
        "return import('/static/clipping.js').then(m => m.clippingName(arguments[0]))",
        {"paper": gen.paper, "date": PAGE_DAY, "page": 1},
    )
    assert name == f"剪报_{gen.paper}_{PAGE_DAY}_第1版.png"
    done = lambda d: [p for p in archive.downloads.iterdir() if not p.name.endswith(".crdownload") and p.stat().st_size]  # noqa: E731
    [path] = wait(driver, 20).until(done)
    time.sleep(0.3)
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert image.format == "PNG"
    # the crop of the article's boxes: as wide as their bounds on the 2000 px page image, plus the caption
    regions = driver.execute_script(
        "const b = [...document.querySelectorAll('#viewer .region.article')];"
        "return b.map(e => [e.style.left, e.style.top, e.style.width, e.style.height].map(parseFloat));"
    )
    x0 = min(r[0] for r in regions) / 100
    x1 = max(r[0] + r[2] for r in regions) / 100
    natural = driver.execute_script(
        "const i = document.querySelector('#viewer .page-img'); return [i.naturalWidth, i.naturalHeight]"
    )
    assert image.width == pytest.approx((x1 - x0 + 0.024) * natural[0], abs=0.03 * natural[0])
    gray = image.convert("L")
    caption = gray.crop((0, int(image.height * 0.93), image.width, image.height))
    assert caption.getextrema()[0] < 80  # dark caption text under the cut-out
    assert image.height > image.width * 0.4
    if os.environ.get("QA_UPDATE_SCREENSHOT") == "1":
        image.thumbnail((640, 1000))
        image.convert("L").save(ROOT / "docs" / "clipping.png", optimize=True)
    close_viewer(driver)


def test_phone_width_puts_the_image_above_the_text(driver, archive):
    try:
        driver.set_window_size(390, 844)
        bubble = ask(driver, archive.url, lead_question(archive.gens[PAGE_DAY]), PAGE_DAY)
        assert driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 1
        thumb = bubble.find_element(By.CSS_SELECTOR, ".card .page-thumb")
        assert rect(driver, thumb)["r"] <= driver.execute_script("return window.innerWidth")
        _, dialog = open_viewer(driver, bubble)
        width = driver.execute_script("return window.innerWidth")
        image = rect(driver, dialog.find_element(By.CSS_SELECTOR, ".viewport"))
        text = rect(driver, driver.find_element(By.ID, "viewer-text"))
        assert image["b"] <= text["y"] + 1 and image["w"] >= width - 4 and text["w"] >= width - 4
        assert image["h"] > 250 and text["h"] > 150
        assert driver.find_element(By.ID, "viewer-close").is_displayed()
        assert driver.find_element(By.ID, "viewer-clip").is_displayed()
        close_viewer(driver)
    finally:
        driver.set_window_size(1200, 900)


def test_missing_page_image_keeps_the_text_citation_and_says_why(driver, archive):
    gen = archive.gens[GONE_DAY]
    bubble = ask(driver, archive.url, lead_question(gen), GONE_DAY)
    card = bubble.find_element(By.CSS_SELECTOR, ".card")
    note = wait(driver).until(lambda d: card.find_elements(By.CSS_SELECTOR, ".image-note.failed"))[0]
    assert note.text.startswith("版面图像无法显示：") and "原始文件" in note.text  # the server's reason
    assert not card.find_elements(By.CSS_SELECTOR, ".page-thumb")
    assert card.find_element(By.CSS_SELECTOR, ".cite-line").text.startswith(f"{gen.paper} · {GONE_DAY} · 第1版")
    assert card.find_element(By.CSS_SELECTOR, ".passage mark.cited").text
    assert bubble.find_element(By.CSS_SELECTOR, "button.cite").text == "[1]"


def test_viewer_says_why_when_the_page_image_fails_and_keeps_the_text(driver, archive):
    """The thumbnail loaded, then the original went away: the viewer explains, the article's text stays."""
    day = "2023-05-02"
    gen = archive.gens[day]
    bubble = ask(driver, archive.url, lead_question(gen), day)
    thumb = bubble.find_element(By.CSS_SELECTOR, ".card .page-thumb")
    wait(driver).until(lambda d: image_loaded(d, thumb.find_element(By.TAG_NAME, "img")))
    archive.paths[day].unlink()
    thumb.click()
    dialog = driver.find_element(By.ID, "viewer")
    note = wait(driver).until(lambda d: dialog.find_elements(By.CSS_SELECTOR, "#viewer-image .image-note.failed"))[0]
    assert note.text.startswith("版面图像无法显示：") and "原始文件" in note.text
    assert not dialog.find_elements(By.CSS_SELECTOR, ".viewport")
    assert not driver.find_element(By.ID, "viewer-zoom").is_displayed()
    assert not driver.find_element(By.ID, "viewer-clip").is_enabled()
    text = driver.find_element(By.ID, "viewer-text")
    wait(driver).until(lambda d: "全文" in text.text)
    assert text.find_element(By.CSS_SELECTOR, ".article-title").text == gen.articles[0].title
    assert text.find_elements(By.CSS_SELECTOR, "mark.cited")
    press(driver, Keys.ESCAPE)
    wait(driver, 5).until(lambda d: not dialog.is_displayed())
    assert driver.switch_to.active_element == thumb


def test_screenshots(driver, archive, tmp_path):
    """The card and the viewer at desktop (1280x900) and phone (390x844) width."""
    shots = {}
    for name, (w, h, mobile) in {"desktop": (1280, 900, False), "phone": (390, 844, True)}.items():
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride", {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile}
        )
        try:
            bubble = ask(driver, archive.url, SHOT_Q, PAGE_DAY)
            card = bubble.find_element(By.CSS_SELECTOR, ".card")
            assert len(card.find_elements(By.CSS_SELECTOR, "mark.cited")) == 2
            wait(driver).until(lambda d: image_loaded(d, card.find_element(By.TAG_NAME, "img")))
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", bubble)  # the answer, then its card
            time.sleep(0.5)
            shots[f"card-{name}"] = tmp_path / f"card-{name}.png"
            assert driver.save_screenshot(str(shots[f"card-{name}"]))
            open_viewer(driver, bubble)
            wait(driver).until(lambda d: "全文" in d.find_element(By.ID, "viewer-text").text)
            time.sleep(0.5)
            shots[f"viewer-{name}"] = tmp_path / f"viewer-{name}.png"
            assert driver.save_screenshot(str(shots[f"viewer-{name}"]))
            close_viewer(driver)
        finally:
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    for name, path in shots.items():
        assert path.read_bytes().startswith(b"\x89PNG")
        if os.environ.get("QA_UPDATE_SCREENSHOT") == "1":
            (ROOT / "docs" / f"{name}.png").write_bytes(path.read_bytes())
