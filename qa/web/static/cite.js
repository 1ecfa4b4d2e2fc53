/* 报纸档案问答 — shared helpers: the element builder, the one citation formatter, highlighting.
 *
 * Archive text is ALWAYS inserted as text: textContent / createTextNode, with <mark> elements built
 * around text nodes for highlights. Never innerHTML (the page's CSP forbids inline scripts anyway).
 * Exposed as window.QA.cite for the other page scripts (loaded in order with `defer`).
 */
"use strict";

(function () {
  /** Element with optional class and text (as a text node, never HTML). */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

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
    if (c.corrected) parts.push("已校对");  // an editor fixed this article (POST /api/corrections)
    return parts.filter(Boolean).join(" · ");
  }

  /* ---------- highlighting (ranges -> text nodes + <mark>) ---------- */

  const EDGE_STOP = new Set("的了吗呢吧啊么着过是在和与及或有请问".split(""));
  const STOP = new Set(["多少", "什么", "哪些", "怎么", "怎样", "如何", "是否", "有没有", "哪里", "哪个", "为什么",
    "报纸", "报道", "讲了", "一下", "关于", "有关", "情况", "哪家", "几家", "多少家"]);
  const WORDCHAR = /^[\p{L}\p{N}]+$/u;
  const DIGIT = /[0-9０-９]/;
  const MAXL = 12;

  /** Substrings (2..12 chars) of the question that may be highlighted; numbers are never cut. */
  function questionSubstrings(question) {
    const q = (question || "").replace(/\s+/g, "").toLowerCase();
    const subs = new Set();
    for (let i = 0; i < q.length; i++) {
      if (i > 0 && DIGIT.test(q[i]) && DIGIT.test(q[i - 1])) continue; // 「25」 of 「2025」 is not a word
      for (let l = 2; l <= MAXL && i + l <= q.length; l++) {
        if (i + l < q.length && DIGIT.test(q[i + l - 1]) && DIGIT.test(q[i + l])) continue;
        subs.add(q.substr(i, l));
      }
    }
    return subs;
  }

  /** [start, end) ranges of `text` that also occur in `question` (≥2 chars, not function words). */
  function questionRanges(text, question) {
    const subs = questionSubstrings(question);
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

  window.QA = window.QA || {};
  window.QA.cite = { el, hasPage, citationLine, questionRanges, appendMarked, passageRange };
})();
