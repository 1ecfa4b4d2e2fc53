/* 报纸档案问答 — 「查看整版」: the whole page of a cited passage in a dialog, article boundaries shown,
 * the cited article framed and the passage marked. Archive text is inserted as text only.
 */

import { citationLabel } from "./citation.js";
import { appendMarked, el } from "./dom.js";
import { passageRange } from "./highlight.js";

const dialog = document.getElementById("page-dialog");
const dialogTitle = document.getElementById("page-title");
const dialogBody = document.getElementById("page-body");

function close() {
  if (dialog.open) dialog.close();
}

/** Open the dialog on the page of citation `c`, marking `passage` in the cited article. */
export async function openWholePage(c, passage) {
  dialogTitle.textContent = citationLabel(c, { title: false });
  dialogBody.replaceChildren(el("p", "loading-page", "正在载入整版…"));
  if (!dialog.open) dialog.showModal();
  let url = "/api/pages/" + encodeURIComponent(c.date) + "/" + encodeURIComponent(c.page);
  if (c.paper) url += "?paper=" + encodeURIComponent(c.paper);
  let data = null;
  let resp = null;
  try {
    resp = await fetch(url, { headers: { "Accept": "application/json" } });
    data = await resp.json();
  } catch (e) {
    data = null;
  }
  if (!resp || !resp.ok || !data || data.error) {
    const msg = data && data.error ? data.error.message : "无法载入这一版。";
    dialogBody.replaceChildren(el("p", "error-title", msg));
    return;
  }
  render(data, c, passage);
}

function articleNode(a, i, c, passage) {
  const art = el("article", "page-article");
  art.dataset.articleId = a.article_id || "";
  const cited = Boolean(a.article_id) && a.article_id === c.article_id;
  if (cited) art.classList.add("cited");
  // a.corrected: the archive team corrected this article (the original is in the viewer, 「查看原文」)
  art.appendChild(el("p", "article-no", "第 " + (i + 1) + " 篇" + (cited ? " · 引用" : "") + (a.corrected ? " · 已校对" : "")));
  if (a.pre_title) art.appendChild(el("p", "pre-title", a.pre_title));
  art.appendChild(el("h3", "article-title" + (a.title ? "" : " untitled"), a.title || "（无标题）"));
  if (a.subtitle) art.appendChild(el("p", "subtitle", a.subtitle));
  if (a.byline) art.appendChild(el("p", "byline", a.byline));
  const body = a.body || "";
  const range = cited ? passageRange(body, passage, a.title) : null;
  art.appendChild(appendMarked(el("div", "article-body"), body, range ? [range] : [], "passage"));
  if (Array.isArray(a.captions) && a.captions.length) {
    const ul = el("ul", "captions");
    for (const cap of a.captions) ul.appendChild(el("li", null, cap));
    art.appendChild(ul);
  }
  if (Array.isArray(a.refs) && a.refs.length) art.appendChild(el("p", "refs", a.refs.join("　")));
  return art;
}

function render(page, c, passage) {
  dialogTitle.textContent = citationLabel(page, { title: false, issue: true });
  const nodes = [];
  const articles = Array.isArray(page.articles) ? page.articles : [];
  let target = null;
  if (articles.length) {
    nodes.push(el("p", "page-note", "本版共 " + articles.length + " 篇，引用的文章以红框标出，引文以黄色标记。"));
    articles.forEach((a, i) => {
      const art = articleNode(a, i, c, passage);
      nodes.push(art);
      if (art.classList.contains("cited")) target = art;
    });
  } else {
    const text = page.text || "";
    const range = passageRange(text, passage, null);
    nodes.push(appendMarked(el("div", "article-body whole"), text, range ? [range] : [], "passage"));
  }
  dialogBody.replaceChildren(...nodes);
  dialogBody.scrollTop = 0;
  const mark = dialogBody.querySelector("mark.passage") || target;
  if (mark) mark.scrollIntoView({ block: "center" });
}

document.getElementById("page-close").addEventListener("click", close);
dialog.addEventListener("click", (e) => {
  if (e.target === dialog) close(); // click on the backdrop
});
