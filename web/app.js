/* 报纸档案问答 — chat page: the conversation, the composer, the filters, start-up.
 *
 * The conversation is kept by the server: the first question (and the first after 「新对话」) sends
 * `"conversation_id": "new"`, the returned id goes with every follow-up, so 「那“小巨人”企业呢？」 is
 * understood from the previous turn. Answers stream from POST /api/ask/stream (see stream.js).
 *
 * Server facts are never copied here: limits and the sentences for the page's own checks come
 * from GET /api/config. Archive text is inserted as text only (see dom.js).
 *
 * The page's entry module (index.html loads only this one); the others are imported, nothing is global.
 */

import { answerView, compactAll, loadingBubble, showError, userBubble } from "./answer.js";
import { el } from "./dom.js";
import { askStream } from "./stream.js";

const $ = (id) => document.getElementById(id);

const chat = $("chat");
const form = $("composer");
const input = $("question");
const sendBtn = $("send");
const dateFrom = $("date-from");
const dateTo = $("date-to");
const pageInput = $("page");
const paperSelect = $("paper");
let config = null; // GET /api/config: limits and messages; null until loaded (the server checks anyway)
let conversationId = null; // the server-kept conversation; null: the next question starts one
let inFlight = null; // AbortController of the answer being received, null when idle

/* ---------- the conversation ---------- */

function hideWelcome() {
  $("welcome").hidden = true;
}

function scrollToBottom() {
  chat.scrollTop = chat.scrollHeight;
}

function currentFilters() {
  const f = {};
  if (dateFrom.value) f.date_from = dateFrom.value;
  if (dateTo.value) f.date_to = dateTo.value;
  const pg = parseInt(pageInput.value, 10);
  if (pageInput.value && pg >= 1) f.page = pg;
  if (paperSelect.value) f.paper = paperSelect.value;
  return f;
}

/** The address bar as a shareable link: the question (when it stands on its own) and the filters. */
function updateUrl(q, f) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (f.date_from) params.set("from", f.date_from);
  if (f.date_to) params.set("to", f.date_to);
  if (f.page) params.set("page", String(f.page));
  if (f.paper) params.set("paper", f.paper);
  const query = params.toString();
  history.replaceState(null, "", query ? "?" + query : location.pathname);
}

/** A follow-up is shared as the question the server understood; one about "this report" is not shareable. */
function shareable(data) {
  if (data.followup && data.followup.kind === "about_cited") return null;
  return data.resolved_question || data.question;
}

function setBusy(on) {
  sendBtn.disabled = on;
  document.body.classList.toggle("busy", on);
}

/** Ask once over the stream; the bubble follows the events. Resolves the stream result. */
function streamOnce(body, v, ctrl) {
  const live = () => inFlight === ctrl; // events of a stream that 「新对话」 abandoned are ignored
  return askStream(body, (event, data) => {
    if (!live()) return;
    if (data && data.conversation_id) conversationId = data.conversation_id;
    if (event === "sources") v.sources(data);
    else if (event === "delta") v.delta(data.text);
    else if (event === "done") v.done(data);
    else if (event === "error") v.error(data.error && data.error.message ? data.error.message : "回答中断，请重试。");
  }, ctrl.signal);
}

async function ask(question) {
  const q = (question || "").trim();
  if (!q || inFlight) return;
  if (config && q.length > config.max_question_chars) {
    hideWelcome();
    showError(loadingBubble(chat), config.messages.question_too_long);
    return;
  }
  const f = currentFilters();
  hideWelcome();
  compactAll(chat);
  userBubble(chat, q);
  const bubble = loadingBubble(chat);
  scrollToBottom();
  if (config && f.date_from && f.date_to && f.date_from > f.date_to) {
    showError(bubble, config.messages.dates_reversed);
    return;
  }
  const ctrl = new AbortController();
  inFlight = ctrl;
  setBusy(true);
  input.value = "";
  autoSize();
  const v = answerView(bubble, q, ask);
  const body = Object.assign({ question: q }, f, { conversation_id: conversationId || "new" });
  try {
    let result = await streamOnce(body, v, ctrl);
    if (result.error && result.error.code === "conversation_not_found" && inFlight === ctrl) {
      // expired or forgotten by a server restart: start over rather than fail the question
      conversationId = null;
      v.note("对话已过期，已开始新对话。");
      result = await streamOnce(Object.assign(body, { conversation_id: "new" }), v, ctrl);
    }
    if (inFlight !== ctrl) return;
    if (result.error) showError(bubble, result.error.message || "服务暂时不可用。");
    else if (result.last !== "done" && result.last !== "error") showError(bubble, "回答中断，请重试。");
    else if (bubble.dataset.state === "done" && shareable(v.data())) updateUrl(shareable(v.data()), f);
  } catch (e) {
    if (inFlight === ctrl) showError(bubble, "无法连接服务器，请检查网络后重试。");
  } finally {
    if (inFlight === ctrl) {
      inFlight = null;
      setBusy(false);
      scrollToBottom();
      const last = chat.lastElementChild;
      if (last) last.scrollIntoView({ block: "start" });
    }
  }
}

/** 「新对话」: drop the bubbles, forget the conversation, abandon an answer still arriving. */
function newConversation() {
  if (inFlight) inFlight.abort();
  inFlight = null;
  setBusy(false);
  conversationId = null;
  for (const b of chat.querySelectorAll(".bubble")) b.remove();
  $("welcome").hidden = false;
  updateUrl(null, currentFilters());
  input.value = "";
  autoSize();
  input.focus();
}

/* ---------- composer, filters, start-up ---------- */

function autoSize() {
  input.style.height = "auto";
  const h = input.scrollHeight + 2; // + borders (box-sizing: border-box)
  input.style.height = Math.min(h, 160) + "px";
  input.style.overflowY = h > 160 ? "auto" : "hidden";
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  ask(input.value);
});

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    ask(input.value);
  }
});
input.addEventListener("input", autoSize);

for (const b of document.querySelectorAll("button.example")) {
  b.addEventListener("click", () => ask(b.textContent));
}

$("new-chat").addEventListener("click", newConversation);

$("clear-filters").addEventListener("click", () => {
  dateFrom.value = "";
  dateTo.value = "";
  pageInput.value = "";
  paperSelect.value = "";
});

/** Limits and messages from the server; the composer and page field take their bounds from it. */
async function loadConfig() {
  try {
    const resp = await fetch("/api/config", { headers: { "Accept": "application/json" } });
    if (!resp.ok) return;
    config = await resp.json();
    input.maxLength = config.max_question_chars;
    pageInput.max = String(config.max_page);
  } catch (e) {
    config = null; // the server still checks every request
  }
}

async function loadHealth() {
  const status = $("status");
  try {
    const resp = await fetch("/api/health");
    const h = await resp.json();
    if (!resp.ok) {
      status.textContent = config ? config.messages.no_index : "档案索引不可用";
      status.classList.add("warn");
      return;
    }
    const n = h.counts || {};
    const bits = [];
    if (n.issues !== undefined) bits.push(n.issues + " 期");
    if (n.pages !== undefined) bits.push(n.pages + " 版");
    if (n.articles !== undefined) bits.push(n.articles + " 篇");
    status.textContent = "档案 " + bits.join(" · ") + (h.index_version ? "（索引 " + h.index_version + "）" : "");
  } catch (e) {
    status.textContent = "无法连接服务器";
    status.classList.add("warn");
  }
}

/** Date bounds and the paper list for the filters, from GET /api/issues. */
async function loadIssues() {
  try {
    const resp = await fetch("/api/issues");
    if (!resp.ok) return;
    const data = await resp.json();
    const issues = Array.isArray(data.issues) ? data.issues : [];
    const dates = issues.map((i) => i.date).filter(Boolean).sort();
    if (dates.length) {
      for (const inp of [dateFrom, dateTo]) {
        inp.min = dates[0];
        inp.max = dates[dates.length - 1];
      }
      $("status").title = "档案日期：" + dates[0] + " 至 " + dates[dates.length - 1];
    }
    const papers = [...new Set(issues.map((i) => i.paper).filter(Boolean))].sort();
    if (papers.length > 1) {
      for (const p of papers) addPaper(p);
      $("paper-label").hidden = false;
      const want = new URLSearchParams(location.search).get("paper");
      if (want) paperSelect.value = want;
    }
  } catch (e) {
    /* filters still work without the issue list */
  }
}

function addPaper(name) {
  if ([...paperSelect.options].some((o) => o.value === name)) return;
  const o = el("option", null, name);
  o.value = name;
  paperSelect.appendChild(o);
}

async function start() {
  const params = new URLSearchParams(location.search);
  if (params.get("from")) dateFrom.value = params.get("from");
  if (params.get("to")) dateTo.value = params.get("to");
  if (params.get("page")) pageInput.value = params.get("page");
  if (params.get("paper")) {
    addPaper(params.get("paper"));
    paperSelect.value = params.get("paper");
    $("paper-label").hidden = false;
  }
  await loadConfig();
  loadHealth().then(loadIssues);
  const q = params.get("q");
  if (q && q.trim()) {
    input.value = q;
    ask(q); // a shared link asks its one question; it starts a conversation, so follow-ups work
  } else {
    input.focus();
  }
}

start();
