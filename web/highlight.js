/* 报纸档案问答 — where to highlight: the question's words in a passage, the cited passage in a page.
 * Pure string functions returning [start, end) ranges; dom.js appendMarked() draws them.
 */

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
export function questionRanges(text, question) {
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
export function passageRange(body, passage, title) {
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
