/* 报纸档案问答 — chat page.
 *
 * Archive text (answers, passages, titles, whole pages) is ALWAYS inserted as text:
 * textContent / createTextNode, with <mark> elements built around text nodes for highlights.
 * Never innerHTML. The page is served with a CSP that forbids inline and remote scripts/styles.
 *
 * Server facts are never copied here: limits and the sentences for the page's own checks come
 * from GET /api/config; refusals are rendered from the answer JSON (`found`, `refusal`, and the
 * server's `answer` text), never by matching strings.
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  /** Element with optional class and text (as a text node, never HTML). */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  const chat = $("chat");
  const form = $("composer");
  const input = $("question");
  const sendBtn = $("send");
  const dateFrom = $("date-from");
  const dateTo = $("date-to");
  const pageInput = $("page");
  const paperSelect = $("paper");
  const dialog = $("page-dialog");
  const dialogTitle = $("page-title");
  const dialogBody = $("page-body");
  let busy = false;
  let answerSeq = 0;
  let config = null; // GET /api/config: limits and messages; null until loaded (the server checks anyway)

  /* ---------- citations ---------- */

  function hasPage(page) {
    return page !== null && page !== undefined && page !== "";
  }

  /** 「第1版 要闻」, 「第1版」 or the page name alone. */
  function pageLabel(page, pageName) {
    if (hasPage(page)) return "第" + page + "版" + (pageName ? " " + pageName : "");
    return pageName || "";
  }

  /** The one citation formatter: 「聊城日报 · 2026-04-01 · 第1版 要闻 · 第N期 · 标题」.
   * Used for source cards, the whole-page dialog title and the filters line; absent fields are left out. */
  function citationLine(c, opts) {
    const o = Object.assign({ title: true, issue: false }, opts);
    const parts = [c.paper, c.date, pageLabel(c.page, c.page_name)];
    if (o.issue && c.issue_no) parts.push("第" + c.issue_no + "期");
    if (o.title && c.title) parts.push(c.title);
    return parts.filter(Boolean).join(" · ");
  }

  /* ---------- highlighting (ranges -> text nodes + <mark>) ---------- */

  const EDGE_STOP = new Set("的了吗呢吧啊么着过是在和与及或有请问".split(""));
  const STOP = new Set(["多少", "什么", "哪些", "怎么", "怎样", "如何", "是否", "有没有", "哪里", "哪个", "为什么",
    "报纸", "报道", "讲了", "一下", "关于", "有关", "情况", "哪家", "几家", "多少家"]);
  const WORDCHAR = /^[\p{L}\p{N}]+$/u;
  const DIGIT = /[0-9０-９]/;

  /** [start, end) ranges of `text` that also occur in `question` (≥2 chars, not function words). */
  function questionRanges(text, question) {
    const q = (question || "").replace(/\s+/g, "").toLowerCase();
    const MAXL = 12;
    const subs = new Set();
    for (let i = 0; i < q.length; i++) {
      if (i > 0 && DIGIT.test(q[i]) && DIGIT.test(q[i - 1])) continue; // 「25」 of 「2025」 is not a word
      for (let l = 2; l <= MAXL && i + l <= q.length; l++) {
        if (i + l < q.length && DIGIT.test(q[i + l - 1]) && DIGIT.test(q[i + l])) continue;
        subs.add(q.substr(i, l));
      }
    }
    const lower = text.toLowerCase();
    const ranges = [];
    let i = 0;
    while (i < lower.length) {
      let found = 0;
      for (let l = Math.min(MAXL, lower.length - i); l >= 2; l--) {
        const s = lower.substr(i, l);
        if (!subs.has(s) || STOP.has(s) || !WORDCHAR.test(s)) continue;
        if (EDGE_STOP.has(s[0]) || EDGE_STOP.has(s[s.length - 1])) continue;
        // never cut a number: 「2025」 in the question must not mark 「20」 of 「207」
        if (DIGIT.test(s[0]) && i > 0 && DIGIT.test(lower[i - 1])) continue;
        if (DIGIT.test(s[s.length - 1]) && i + l < lower.length && DIGIT.test(lower[i + l])) continue;
        found = l;
        break;
      }
      if (found) {
        const last = ranges[ranges.length - 1];
        if (last && last[1] === i) last[1] = i + found;
        else ranges.push([i, i + found]);
        i += found;
      } else {
        i++;
      }
    }
    return ranges;
  }

  /** Append `text` to `parent` with the given ranges wrapped in <mark class=cls>. */
  function appendMarked(parent, text, ranges, cls) {
    let pos = 0;
    for (const [a, b] of ranges) {
      if (a > pos) parent.appendChild(document.createTextNode(text.slice(pos, a)));
      const m = el("mark", cls);
      m.appendChild(document.createTextNode(text.slice(a, b)));
      parent.appendChild(m);
      pos = b;
    }
    if (pos < text.length) parent.appendChild(document.createTextNode(text.slice(pos)));
    return parent;
  }

  /** Where `needle` occurs in `hay`, ignoring whitespace (PDF line wraps); [start, end) in hay or null. */
  function findLoose(hay, needle) {
    const map = [];
    let flat = "";
    for (let i = 0; i < hay.length; i++) {
      if (!/\s/.test(hay[i])) { flat += hay[i]; map.push(i); }
    }
    const n = needle.replace(/\s+/g, "");
    if (!n) return null;
    const k = flat.indexOf(n);
    if (k < 0) return null;
    return [map[k], map[k + n.length - 1] + 1];
  }

  /** Range of the cited passage within an article body (exact, or by its first/last 16 characters). */
  function passageRange(body, passage, title) {
    if (!body || !passage) return null;
    let p = passage;
    if (title && p.replace(/\s+/g, "").startsWith(title.replace(/\s+/g, ""))) {
      const r0 = findLoose(p, title);
      if (r0) p = p.slice(r0[1]);
    }
    const whole = findLoose(body, p);
    if (whole) return whole;
    const flat = p.replace(/\s+/g, "");
    if (flat.length < 24) return null;
    const head = findLoose(body, flat.slice(0, 16));
    const tail = findLoose(body, flat.slice(-16));
    if (head && tail && tail[1] > head[0]) return [head[0], tail[1]];
    return head || null;
  }

  /* ---------- conversation ---------- */

  function hideWelcome() {
    const w = $("welcome");
    if (w) w.hidden = true;
  }

  function scrollToBottom() {
    chat.scrollTop = chat.scrollHeight;
  }

  function userBubble(q) {
    const b = el("div", "bubble user");
    b.appendChild(el("p", "text", q));
    chat.appendChild(b);
    return b;
  }

  function loadingBubble() {
    const b = el("div", "bubble answer loading");
    b.setAttribute("aria-busy", "true");
    const p = el("p", "text", "正在检索档案");
    const dots = el("span", "dots");
    for (let i = 0; i < 3; i++) dots.appendChild(el("span", null, "."));
    p.appendChild(dots);
    b.appendChild(p);
    chat.appendChild(b);
    return b;
  }

  function showError(bubble, message) {
    bubble.className = "bubble answer error";
    bubble.removeAttribute("aria-busy");
    bubble.replaceChildren(el("p", "error-title", "出错了"), el("p", "text", message));
  }

  function focusCard(id) {
    const card = document.getElementById(id);
    if (!card) return;
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    card.classList.remove("flash");
    void card.offsetWidth; // restart the animation
    card.classList.add("flash");
    card.focus({ preventScroll: true });
  }

  /** Answer text with each [n] as a button that jumps to source card n. */
  function answerText(text, nPassages, seq) {
    const p = el("p", "text");
    const re = /\[(\d+)\]/g;
    let pos = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      const n = parseInt(m[1], 10);
      if (n < 1 || n > nPassages) continue;
      if (m.index > pos) p.appendChild(document.createTextNode(text.slice(pos, m.index)));
      const btn = el("button", "cite", "[" + n + "]");
      btn.type = "button";
      btn.title = "查看来源 " + n;
      btn.dataset.target = "src-" + seq + "-" + n;
      btn.addEventListener("click", () => focusCard(btn.dataset.target));
      p.appendChild(btn);
      pos = m.index + m[0].length;
    }
    if (pos < text.length) p.appendChild(document.createTextNode(text.slice(pos)));
    return p;
  }

  function filtersLine(f) {
    if (!f) return null;
    const parts = [];
    if (f.date_from || f.date_to) {
      if (f.date_from === f.date_to) parts.push(f.date_from);
      else parts.push((f.date_from || "最早") + " 至 " + (f.date_to || "最新"));
    }
    const where = citationLine({ paper: f.paper, page: f.page }, { title: false });
    if (where) parts.push(where);
    if (!parts.length) return null;
    return el("p", "filters-applied", "筛选：" + parts.join(" · "));
  }

  function sourceCard(p, seq, question) {
    const c = p.citation || {};
    const li = el("li", "card");
    li.id = "src-" + seq + "-" + p.n;
    li.tabIndex = -1;
    const head = el("div", "card-head");
    head.appendChild(el("span", "num", "[" + p.n + "]"));
    head.appendChild(el("span", "cite-line", citationLine(c)));
    li.appendChild(head);
    const text = p.text || "";
    li.appendChild(appendMarked(el("p", "passage"), text, questionRanges(text, question), "q"));
    const foot = el("div", "card-foot");
    if (c.issue_no) foot.appendChild(el("span", "issue", citationLine({ issue_no: c.issue_no }, { issue: true })));
    if (c.date && hasPage(c.page)) {
      const btn = el("button", "view-page", "查看整版");
      btn.type = "button";
      btn.addEventListener("click", () => openPage(c, text));
      foot.appendChild(btn);
    }
    li.appendChild(foot);
    return li;
  }

  function renderAnswer(bubble, data, question) {
    const seq = ++answerSeq;
    const passages = Array.isArray(data.passages) ? data.passages : [];
    bubble.removeAttribute("aria-busy");
    bubble.className = "bubble answer" + (data.found ? "" : " refusal");
    bubble.dataset.indexVersion = data.index_version || "";
    // a refusal is the server's own sentence (nothing found, or the asked year is not held), shown once; its kind
    // (not_found / out_of_archive) is exposed for styling, never derived from the text
    if (data.found) delete bubble.dataset.refusal;
    else bubble.dataset.refusal = data.refusal || "not_found";
    const parts = [answerText(data.answer || "", passages.length, seq)];
    if (!data.found) parts[0].classList.add("refusal-text");
    const fl = filtersLine(data.filters);
    if (fl) parts.push(fl);
    if (passages.length) {
      parts.push(el("h3", "sources-title", data.found ? "来源" : "可能相关的线索"));
      const ol = el("ol", "sources");
      for (const p of passages) ol.appendChild(sourceCard(p, seq, question));
      parts.push(ol);
    }
    const meta = [];
    if (typeof data.took_ms === "number") meta.push("用时 " + Math.round(data.took_ms) + " 毫秒");
    if (data.index_version) meta.push("索引 " + data.index_version);
    if (meta.length) parts.push(el("p", "meta", meta.join(" · ")));
    bubble.replaceChildren(...parts);
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

  function updateUrl(q, f) {
    const params = new URLSearchParams();
    params.set("q", q);
    if (f.date_from) params.set("from", f.date_from);
    if (f.date_to) params.set("to", f.date_to);
    if (f.page) params.set("page", String(f.page));
    if (f.paper) params.set("paper", f.paper);
    history.replaceState(null, "", "?" + params.toString());
  }

  async function ask(question) {
    const q = (question || "").trim();
    if (!q || busy) return;
    if (config && q.length > config.max_question_chars) {
      hideWelcome();
      showError(loadingBubble(), config.messages.question_too_long);
      return;
    }
    const f = currentFilters();
    hideWelcome();
    userBubble(q);
    const bubble = loadingBubble();
    scrollToBottom();
    if (config && f.date_from && f.date_to && f.date_from > f.date_to) {
      showError(bubble, config.messages.dates_reversed);
      return;
    }
    busy = true;
    sendBtn.disabled = true;
    document.body.classList.add("busy");
    input.value = "";
    autoSize();
    updateUrl(q, f);
    try {
      const resp = await fetch("/api/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(Object.assign({ question: q }, f)),
      });
      let data = null;
      try { data = await resp.json(); } catch (e) { data = null; }
      if (!resp.ok || !data || data.error) {
        const msg = data && data.error && data.error.message ? data.error.message : "服务暂时不可用（HTTP " + resp.status + "）。";
        showError(bubble, msg);
      } else {
        renderAnswer(bubble, data, q);
      }
    } catch (e) {
      showError(bubble, "无法连接服务器，请检查网络后重试。");
    } finally {
      busy = false;
      sendBtn.disabled = false;
      document.body.classList.remove("busy");
      scrollToBottom();
      const last = chat.lastElementChild;
      if (last) last.scrollIntoView({ block: "start" });
    }
  }

  /* ---------- 查看整版 ---------- */

  function closeDialog() {
    if (dialog.open) dialog.close();
  }

  async function openPage(c, passage) {
    dialogTitle.textContent = citationLine(c, { title: false });
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
    renderPage(data, c, passage);
  }

  function renderPage(page, c, passage) {
    dialogTitle.textContent = citationLine(page, { title: false, issue: true });
    const nodes = [];
    const articles = Array.isArray(page.articles) ? page.articles : [];
    let target = null;
    if (articles.length) {
      nodes.push(el("p", "page-note", "本版共 " + articles.length + " 篇，引用的文章以红框标出，引文以黄色标记。"));
      articles.forEach((a, i) => {
        const art = el("article", "page-article");
        art.dataset.articleId = a.article_id || "";
        const cited = a.article_id && a.article_id === c.article_id;
        if (cited) art.classList.add("cited");
        art.appendChild(el("p", "article-no", "第 " + (i + 1) + " 篇" + (cited ? " · 引用" : "")));
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
        nodes.push(art);
        if (cited) target = art;
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

  $("clear-filters").addEventListener("click", () => {
    dateFrom.value = "";
    dateTo.value = "";
    pageInput.value = "";
    paperSelect.value = "";
  });

  $("page-close").addEventListener("click", closeDialog);
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) closeDialog(); // click on the backdrop
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

  async function loadStatus() {
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
        status.title = "档案日期：" + dates[0] + " 至 " + dates[dates.length - 1];
      }
      const papers = [...new Set(issues.map((i) => i.paper).filter(Boolean))].sort();
      if (papers.length > 1) {
        for (const p of papers) {
          if ([...paperSelect.options].some((o) => o.value === p)) continue;
          const o = el("option", null, p);
          o.value = p;
          paperSelect.appendChild(o);
        }
        $("paper-label").hidden = false;
        const want = new URLSearchParams(location.search).get("paper");
        if (want) paperSelect.value = want;
      }
    } catch (e) {
      /* filters still work without the issue list */
    }
  }

  async function start() {
    const params = new URLSearchParams(location.search);
    if (params.get("from")) dateFrom.value = params.get("from");
    if (params.get("to")) dateTo.value = params.get("to");
    if (params.get("page")) pageInput.value = params.get("page");
    if (params.get("paper")) {
      const o = el("option", null, params.get("paper"));
      o.value = params.get("paper");
      paperSelect.appendChild(o);
      paperSelect.value = params.get("paper");
      $("paper-label").hidden = false;
    }
    await loadConfig();
    loadStatus();
    const q = params.get("q");
    if (q && q.trim()) {
      input.value = q;
      ask(q);
    } else {
      input.focus();
    }
  }

  start();
})();
