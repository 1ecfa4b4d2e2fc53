/* 报纸档案问答 — the chat bubbles: the question, the answer as it streams in, its source cards.
 *
 * An answer bubble goes loading -> streaming (source cards shown, text pending or arriving) -> done.
 * `data-state` on the bubble says which; `done` replaces the streamed text with the final answer.
 * Refusals are rendered from the answer JSON (`found`, `refusal`, the server's own sentence), never by
 * matching strings. Archive text is inserted as text only.
 *
 * Screen readers: only the newest answer bubble is a live region (`aria-live`), busy until done, so
 * the finished answer is read once and earlier turns stay quiet. Each [n] button is named after its
 * source (「来源1：聊城日报 · …」) with the label its source card shows, formatted once per passage.
 *
 * A source card shows its page image (pageimage.js) with the article outlined, which opens the page
 * viewer (viewer.js); once the answer is complete, the sentences it cites are marked in the passage.
 */

import { citationLabel, hasPage, issueLabel, pageLabel, sourceName } from "./citation.js";
import { appendMarked, el } from "./dom.js";
import { feedbackControl } from "./feedback.js";
import { citedRanges } from "./highlight.js";
import { pageThumb } from "./pageimage.js";
import { timelineChart } from "./timeline.js";
import { openViewer } from "./viewer.js";
import { openWholePage } from "./wholepage.js";

let answerSeq = 0; // card ids are src-<seq>-<n>, unique across the conversation

// how the answer was written, for answers that are not plain extracts (`answer_mode`)
const MODE_LABELS = {
  llm: "模型回答 · 每句已与来源核对",
  llm_fallback: "原文摘录 · 模型回答未采用",
};

export function userBubble(chat, q) {
  const b = el("div", "bubble user");
  b.appendChild(el("p", "text", q));
  chat.appendChild(b);
  return b;
}

function pending(label) {
  const p = el("p", "text pending", label);
  const dots = el("span", "dots");
  for (let i = 0; i < 3; i++) dots.appendChild(el("span", null, "."));
  p.appendChild(dots);
  return p;
}

/** The new answer's bubble: from now on the one live region of the conversation. */
export function loadingBubble(chat) {
  for (const old of chat.querySelectorAll("[aria-live]")) old.removeAttribute("aria-live");
  const b = el("div", "bubble answer loading");
  b.setAttribute("aria-live", "polite");
  b.setAttribute("aria-busy", "true");
  b.dataset.state = "loading";
  b.appendChild(pending("正在检索档案"));
  chat.appendChild(b);
  return b;
}

export function showError(bubble, message) {
  bubble.className = "bubble answer error";
  bubble.removeAttribute("aria-busy");
  bubble.dataset.state = "error";
  bubble.replaceChildren(el("p", "error-title", "出错了"), el("p", "text", message));
}

function focusCard(id) {
  const card = document.getElementById(id);
  if (!card) return;
  const bubble = card.closest(".bubble");
  if (bubble) bubble.classList.remove("compact");
  card.scrollIntoView({ behavior: "smooth", block: "nearest" });
  card.classList.remove("flash");
  void card.offsetWidth; // restart the animation
  card.classList.add("flash");
  card.focus({ preventScroll: true });
}

/** Answer text with each [n] as a button that jumps to source card n, named after that source:
 * `labels[n - 1]` is the label of passage n (labelsOf). Markers without a passage stay text. */
function answerText(text, labels, seq) {
  const p = el("p", "text");
  const re = /\[(\d+)\]/g;
  let pos = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    const n = parseInt(m[1], 10);
    if (n < 1 || n > labels.length) continue;
    if (m.index > pos) p.appendChild(document.createTextNode(text.slice(pos, m.index)));
    const btn = el("button", "cite", "[" + n + "]");
    btn.type = "button";
    btn.title = "查看来源 " + n;
    btn.setAttribute("aria-label", sourceName(n, labels[n - 1]));
    btn.dataset.target = "src-" + seq + "-" + n;
    btn.addEventListener("click", () => focusCard(btn.dataset.target));
    p.appendChild(btn);
    pos = m.index + m[0].length;
  }
  if (pos < text.length) p.appendChild(document.createTextNode(text.slice(pos)));
  return p;
}

/** 「筛选：2025-07-29 · 聊城日报 · 第1版」: the filters the server applied (a filter, not a citation). */
function filtersLine(f) {
  if (!f) return null;
  const parts = [];
  if (f.date_from || f.date_to) {
    if (f.date_from === f.date_to) parts.push(f.date_from);
    else parts.push((f.date_from || "最早") + " 至 " + (f.date_to || "最新"));
  }
  if (f.paper) parts.push(f.paper);
  if (hasPage(f.page)) parts.push(pageLabel(f.page));
  if (!parts.length) return null;
  return el("p", "filters-applied", "筛选：" + parts.join(" · "));
}

/** 「理解为：…」 for a follow-up the server completed from the conversation. */
function understoodLine(data, question) {
  const f = data.followup || {};
  if (f.kind === "about_cited") return el("p", "understood", "针对上一轮回答引用的报道");
  const r = data.resolved_question;
  if (r && r !== question) return el("p", "understood", "理解为：" + r);
  return null;
}

function modeLine(data) {
  const label = MODE_LABELS[data.answer_mode];
  if (!label) return null;
  const p = el("p", "answer-mode");
  p.dataset.mode = data.answer_mode;
  p.appendChild(el("span", "mode-label", label));
  if (data.answer_mode_reason) p.appendChild(el("span", "mode-reason", data.answer_mode_reason));
  return p;
}

/** The label of each passage, formatted once from its citation: its card's line and its [n] name. */
function labelsOf(passages) {
  return passages.map((p) => citationLabel(p.citation || {}));
}

/** A source card; `entry.cited` (the passage's cited sentences) is filled in by markCited. */
function sourceCard(p, label, seq) {
  const c = p.citation || {};
  const text = p.text || "";
  const entry = { n: p.n, text, cited: [], passage: el("p", "passage", text) };
  const li = el("li", "card");
  li.id = "src-" + seq + "-" + p.n;
  li.tabIndex = -1;
  const head = el("div", "card-head");
  head.appendChild(el("span", "num", "[" + p.n + "]"));
  head.appendChild(el("span", "cite-line", label));
  li.appendChild(head);
  li.appendChild(pageThumb(c, label, (btn) => openViewer(c, text, entry.cited, btn)));
  li.appendChild(entry.passage);
  const foot = el("div", "card-foot");
  if (c.issue_no) foot.appendChild(el("span", "issue", issueLabel(c.issue_no)));
  if (c.date && hasPage(c.page)) {
    const btn = el("button", "view-page", "查看整版");
    btn.type = "button";
    btn.addEventListener("click", () => openWholePage(c, text));
    foot.appendChild(btn);
  }
  li.appendChild(foot);
  return { li, entry };
}

function cardList(passages, labels, seq) {
  const ol = el("ol", "sources");
  const entries = passages.map((p, i) => {
    const { li, entry } = sourceCard(p, labels[i], seq);
    ol.appendChild(li);
    return entry;
  });
  return { ol, entries };
}

/** Mark in each passage the sentences the finished answer cites from it (only those). */
function markCited(entries, answer) {
  for (const e of entries) {
    const ranges = citedRanges(e.text, answer, e.n);
    e.cited.splice(0, e.cited.length, ...ranges.map(([a, b]) => e.text.slice(a, b)));
    e.passage.replaceChildren();
    appendMarked(e.passage, e.text, ranges, "cited");
  }
}

/** 「来源」 heading; in an earlier turn (compact: citation lines only) it offers to show the passages. */
function sourcesTitle(bubble, label) {
  const h = el("h3", "sources-title", label);
  const more = el("button", "expand", "展开原文");
  more.type = "button";
  more.addEventListener("click", () => bubble.classList.remove("compact"));
  h.appendChild(more);
  return h;
}

/** Earlier answers shrink to their text and citation lines so the conversation stays readable. */
export function compactAll(chat) {
  for (const b of chat.querySelectorAll(".bubble.answer")) {
    if (b.querySelector(".sources")) b.classList.add("compact");
  }
}

function metaLine(data) {
  const meta = [];
  if (typeof data.took_ms === "number") meta.push("用时 " + Math.round(data.took_ms) + " 毫秒");
  if (data.index_version) meta.push("索引 " + data.index_version);
  return meta.length ? el("p", "meta", meta.join(" · ")) : null;
}

/** The answer bubble's life: sources first, then text pieces, then the final answer.
 * `onAsk(question)` asks a further question in this conversation (the coverage chart's bars). */
export function answerView(bubble, question, onAsk) {
  const s = { seq: ++answerSeq, passages: [], labels: [], cards: null, entries: [], notes: [], text: null,
              streamed: "", data: null };

  function draw(parts) {
    bubble.replaceChildren(...s.notes, ...parts.filter(Boolean));
  }

  /** The answer's passages, their labels and cards; `done` keeps the cards `sources` drew for them. */
  function setPassages(data, keep) {
    const passages = Array.isArray(data.passages) ? data.passages : [];
    if (keep && s.cards && passages.length === s.passages.length) return;
    s.passages = passages;
    s.labels = labelsOf(passages);
    const list = passages.length ? cardList(passages, s.labels, s.seq) : null;
    s.cards = list && list.ol;
    s.entries = list ? list.entries : [];
  }

  function sources(data) {
    s.data = data;
    setPassages(data, false);
    s.text = pending("正在组织回答");
    bubble.className = "bubble answer streaming";
    bubble.dataset.state = "streaming";
    draw([understoodLine(data, question), s.text, filtersLine(data.filters),
      s.cards && sourcesTitle(bubble, "来源"), s.cards]);
  }

  function delta(text) {
    s.streamed += text || "";
    const p = answerText(s.streamed, s.labels, s.seq);
    p.classList.add("arriving");
    s.text.replaceWith(p);
    s.text = p;
  }

  function done(data) {
    s.data = data;
    setPassages(data, true);
    const compact = bubble.classList.contains("compact");
    bubble.className = "bubble answer" + (data.found ? "" : " refusal") + (compact ? " compact" : "");
    bubble.dataset.state = "done";
    bubble.dataset.indexVersion = data.index_version || "";
    bubble.dataset.answerMode = data.answer_mode || "extractive";
    // a refusal is the server's own sentence, shown once; its kind is exposed for styling, never derived from text
    if (data.found) delete bubble.dataset.refusal;
    else bubble.dataset.refusal = data.refusal || "not_found";
    s.text = answerText(data.answer || "", s.labels, s.seq);
    if (data.found) markCited(s.entries, data.answer || "");
    if (!data.found) s.text.classList.add("refusal-text");
    const chart = timelineChart(data, (data.timeline && data.timeline.topic) || question, onAsk);
    draw([understoodLine(data, question), s.text, chart, modeLine(data), filtersLine(data.filters),
      s.cards && sourcesTitle(bubble, data.found ? "来源" : "可能相关的线索"), s.cards, metaLine(data),
      feedbackControl(data, question)]);  // 👍/👎
    bubble.removeAttribute("aria-busy"); // after the final content: it is announced once, complete
  }

  /** A line of the page's own (e.g. the conversation expired) shown at the top of this answer. */
  function note(text) {
    s.notes.push(el("p", "notice", text));
    bubble.prepend(s.notes[s.notes.length - 1]);
  }

  return { sources, delta, done, note, error: (message) => showError(bubble, message), data: () => s.data };
}
