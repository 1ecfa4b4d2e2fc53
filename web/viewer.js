/* 报纸档案问答 — the page viewer: a cited passage on its newspaper page, beside the article's text.
 *
 * Left (above, at phone width): the page image, zoomable and pannable (zoom.js), the article outlined
 * in red and the cited lines in yellow. Right (below): the article's text (GET /api/pages/<date>/<page>,
 * the cited article) with the sentences the answer cited marked. 「剪报」 downloads the clipping
 * (clipping.js). A page whose image fails says why and keeps the text. Escape closes; Tab stays in
 * the dialog; closing returns the focus to what opened it. Archive text is inserted as text only.
 * Under the text, correct.js adds 「已校对」 / 「查看原文」 and, for an editor, 「校对」.
 */

import { citationLabel } from "./citation.js";
import { downloadClipping } from "./clipping.js";
import { correctionTools } from "./correct.js";
import { appendMarked, el } from "./dom.js";
import { locate } from "./highlight.js";
import { NO_IMAGE, articleRegions, bounds, citedRegions, imageNote, imageProblem, pageStage } from "./pageimage.js";
import { panZoom } from "./zoom.js";

const $ = (id) => document.getElementById(id);
const dialog = $("viewer");
const imagePane = $("viewer-image");
const textPane = $("viewer-text");
const clipBtn = $("viewer-clip");
const zoomBar = $("viewer-zoom");
const zoomLevel = $("viewer-zoom-level");
const FOCUSABLE = "button:not([disabled]), a[href], [tabindex='0'], input:not([disabled]), textarea:not([disabled])";

let opener = null; // the control that opened the viewer: the focus goes back to it (else to its card)
let openerCard = null;
let view = null; // panZoom of the open page image; null while loading, failed or text-only
let shown = null; // { c, img } of the open viewer
let seq = 0; // the open viewer's number: late answers for an earlier one are dropped

/** Open the viewer on citation `c` with `passage` (the card's text), marking `cited` (its cited
 * sentences, cut from the passage); `from` gets the focus back on close. */
export function openViewer(c, passage, cited, from) {
  const mine = ++seq;
  opener = from;
  openerCard = from ? from.closest(".card") : null;
  view = null;
  shown = { c, img: null };
  $("viewer-title").textContent = citationLabel(c);
  clipBtn.disabled = true;
  zoomBar.hidden = true;
  showText(c, { title: c.title, body: passage }, cited, false);
  if (!dialog.open) dialog.showModal();
  if (c.page_image) showImage(c, mine);
  else imagePane.replaceChildren(imageNote(NO_IMAGE));
  loadArticle(c, cited, mine);
  (imagePane.querySelector(".viewport") || $("viewer-close")).focus({ preventScroll: true });
}

function showImage(c, mine) {
  const { stage, img } = pageStage(c, "版面图像：" + citationLabel(c, { title: false }));
  const viewport = el("div", "viewport loading");
  viewport.tabIndex = 0;
  viewport.setAttribute("role", "group");
  viewport.setAttribute("aria-label", "版面图像（方向键平移，加号减号缩放，0 回到文章）");
  viewport.appendChild(stage);
  imagePane.replaceChildren(viewport, el("p", "viewer-hint", "拖动平移，滚轮或双指缩放；红框为文章，黄色为引文所在的行。"));
  zoomBar.hidden = false; // before the image is fitted: the bar takes its height from the viewport
  img.addEventListener("load", () => {
    if (mine !== seq) return;
    viewport.classList.remove("loading");
    view = panZoom(viewport, stage, [img.naturalWidth, img.naturalHeight],
      (rel) => { zoomLevel.textContent = Math.round(rel * 100) + "%"; });
    shown.img = img;
    fitArticle();
    clipBtn.disabled = false;
  }, { once: true });
  img.addEventListener("error", async () => {
    const why = await imageProblem(c.page_image);
    if (mine !== seq) return;
    const note = imageNote(why);
    note.classList.add("failed");
    const hadFocus = viewport.contains(document.activeElement) || document.activeElement === viewport;
    imagePane.replaceChildren(note);
    zoomBar.hidden = true;
    if (hadFocus) $("viewer-close").focus();
  }, { once: true });
}

function fitArticle() {
  if (view && shown) view.fit(bounds(articleRegions(shown.c), 0.01));
}

function fitCited() {
  if (view && shown) view.fit(bounds(citedRegions(shown.c), 0.02) || bounds(articleRegions(shown.c), 0.01));
}

/** The article's text in the right pane: its headline lines, then its body with `cited` marked. */
function showText(c, a, cited, whole) {
  const body = a.body || "";
  const ranges = locate(body, cited);
  const nodes = [];
  if (a.pre_title) nodes.push(el("p", "pre-title", a.pre_title));
  nodes.push(el("h3", "article-title" + (a.title ? "" : " untitled"), a.title || "（无标题）"));
  if (a.subtitle) nodes.push(el("p", "subtitle", a.subtitle));
  if (a.byline) nodes.push(el("p", "byline", a.byline));
  nodes.push(appendMarked(el("div", "article-body"), body, ranges, "cited"));
  const what = whole ? "全文" : "引用段落";
  nodes.push(el("p", "viewer-hint", ranges.length ? what + "，回答引用的句子以黄色标出。" : what + "。"));
  textPane.replaceChildren(...nodes);
  for (const m of textPane.querySelectorAll("mark.cited")) {
    m.title = "在版面上放大引文所在的行";
    m.addEventListener("click", fitCited);
  }
  const mark = textPane.querySelector("mark.cited");
  if (mark) mark.scrollIntoView({ block: "center" });
  correctionTools(c, textPane, (fixed, article) => { // 「已校对」, 「查看原文」, and 「校对」 for editors
    if (shown) shown.c = fixed;
    $("viewer-title").textContent = citationLabel(fixed);
    showText(fixed, article, [], true);
    const saved = textPane.querySelector(".corr-toggle") || textPane;
    saved.focus();
  });
}

/** The whole cited article from its page; the passage stays when the page or article is not found,
 * or when the cited sentences cannot be found in the article's text. */
async function loadArticle(c, cited, mine) {
  if (!c.date || !c.page || !c.article_id) return;
  let url = "/api/pages/" + encodeURIComponent(c.date) + "/" + encodeURIComponent(c.page);
  if (c.paper) url += "?paper=" + encodeURIComponent(c.paper);
  let page = null;
  try {
    const resp = await fetch(url, { headers: { "Accept": "application/json" } });
    page = resp.ok ? await resp.json() : null;
  } catch (e) {
    page = null;
  }
  if (mine !== seq || !page || !Array.isArray(page.articles)) return;
  const a = page.articles.find((x) => x.article_id === c.article_id);
  if (!a || !a.body || locate(a.body, cited).length < cited.length) return;
  showText(c, a, cited, true);
}

function close() {
  if (dialog.open) dialog.close();
}

/** Tab and Shift+Tab go round the dialog's controls; + / - zoom from anywhere in it. */
function onKey(e) {
  if (e.key === "Tab") {
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((x) => x.offsetParent !== null);
    if (!items.length) return;
    const i = items.indexOf(document.activeElement);
    const next = e.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : (i < 0 || i === items.length - 1 ? 0 : i + 1);
    e.preventDefault();
    items[next].focus();
    return;
  }
  if (!view || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "+" || e.key === "=") view.zoomIn();
  else if (e.key === "-" || e.key === "_") view.zoomOut();
  else if (e.key === "0") fitArticle();
  else return;
  e.preventDefault();
}

dialog.addEventListener("keydown", onKey);
dialog.addEventListener("close", () => {
  seq++;
  if (view) view.stop();
  view = null;
  shown = null;
  imagePane.replaceChildren();
  if (opener && opener.isConnected) opener.focus();
  else if (openerCard && openerCard.isConnected) openerCard.focus();
  opener = openerCard = null;
});
dialog.addEventListener("click", (e) => {
  if (e.target === dialog) close(); // click on the backdrop
});
$("viewer-close").addEventListener("click", close);
$("viewer-zoom-in").addEventListener("click", () => view && view.zoomIn());
$("viewer-zoom-out").addEventListener("click", () => view && view.zoomOut());
$("viewer-fit-article").addEventListener("click", fitArticle);
$("viewer-fit-cited").addEventListener("click", fitCited);
$("viewer-fit-page").addEventListener("click", () => view && view.fit(null));
clipBtn.addEventListener("click", async () => {
  if (!shown || !shown.img) return;
  clipBtn.disabled = true;
  try {
    await downloadClipping(shown.img, shown.c);
  } finally {
    clipBtn.disabled = !shown || !shown.img;
  }
});
