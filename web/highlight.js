/* 报纸档案问答 — where to highlight: the sentences an answer cites in its passage (and the same
 * sentences in the whole article), the cited passage in a page.
 * Pure string functions returning [start, end) ranges; dom.js appendMarked() draws them.
 *
 * Only what the answer cites is marked, never every word of the question (a page full of marked
 * 「企业」 hides the one sentence that answers). An answer sentence followed by [n] comes from
 * passage n: quoted (extracts), or reworded (an LLM answer, whose sentences the server has checked
 * against the passages): then the passage sentence sharing most of its character bigrams.
 */

// a sentence ends at one of these, with any closing quotes or brackets after it
const SENTENCE_END = /[。！？；!?;…]+[”’」』）)]*/g;
const MARKERS = /((?:\[\d+\])+)/;
const WRAP_MIN_LINE = 16; // qa/text/chinese.py: a shorter line ending mid-sentence is a headline, not a wrap
const LINE_END = "。！？；!?;…”’」』）)：:";
const BIGRAM_MIN = 0.5; // share of a paraphrase's character bigrams a sentence must hold to be its source

/** What the answer says citing source `n`: the text before each group of [n] markers naming n. */
export function claimsFor(answer, n) {
  const parts = (answer || "").split(MARKERS);
  const claims = [];
  for (let i = 1; i < parts.length; i += 2) {
    const nums = parts[i].match(/\d+/g).map(Number);
    const claim = parts[i - 1].replace(/^[\s；;，,]+/, "");
    if (nums.includes(n) && claim.trim()) claims.push(claim);
  }
  return claims;
}

/** [start, end) ranges of the sentences of `text`: split at sentence ends, and at line breaks after a
 * line that was not wrapped (a headline or byline: short, or ending like a sentence or clause), as
 * qa/text/chinese.py joins PDF lines; a wrapped line goes on. */
function sentences(text) {
  const cuts = new Set([0, text.length]);
  for (const m of text.matchAll(SENTENCE_END)) cuts.add(m.index + m[0].length);
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
    const line = text.slice(lineStart, i).trim();
    if (line.length < WRAP_MIN_LINE || LINE_END.includes(line[line.length - 1])) cuts.add(i + 1);
    lineStart = i + 1;
  }
  const at = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let k = 1; k < at.length; k++) {
    let [a, b] = [at[k - 1], at[k]];
    while (a < b && /\s/.test(text[a])) a++; // a line break or an indent is not part of the sentence
    while (b > a && /\s/.test(text[b - 1])) b--;
    if (b > a) out.push([a, b]);
  }
  return out;
}

function bigrams(text) {
  const grams = new Set();
  for (const run of text.split(/[^\p{L}\p{N}]+/u)) {
    for (let i = 0; i + 1 < run.length; i++) grams.add(run.substr(i, 2));
  }
  return grams;
}

/** The sentence of `text` a claim comes from: quoted (whitespace aside; a claim cut with 「…」 by its
 * head), else the sentence holding most of a paraphrase's bigrams, if it holds at least half. */
function sourceSentence(text, claim, spans) {
  const quoted = claim.replace(/…+$/, "").trim();
  const hit = quoted.length >= 4 ? findLoose(text, quoted) : null;
  if (hit) {
    const inside = spans.filter(([a, b]) => b > hit[0] && a < hit[1]);
    if (inside.length) return [inside[0][0], inside[inside.length - 1][1]];
    return hit;
  }
  const want = bigrams(claim);
  if (!want.size) return null;
  let best = null;
  let bestShare = BIGRAM_MIN;
  for (const span of spans) {
    const have = bigrams(text.slice(span[0], span[1]));
    let shared = 0;
    for (const g of want) if (have.has(g)) shared++;
    if (shared / want.size >= bestShare) { best = span; bestShare = shared / want.size; }
  }
  return best;
}

/** [start, end) ranges of the sentences of passage `text` that the answer cites as source `n`,
 * in order and merged: what the source card and the viewer mark. A when-answer (a list of reports)
 * quotes no sentence and marks nothing. */
export function citedRanges(text, answer, n) {
  if (!text) return [];
  const spans = sentences(text);
  const ranges = [];
  for (const claim of claimsFor(answer, n)) {
    const r = sourceSentence(text, claim, spans);
    if (r) ranges.push(r);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const merged = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] < last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** The same sentences (texts cut from the passage) found in another text, e.g. the whole article. */
export function locate(body, texts) {
  const ranges = [];
  for (const t of texts) {
    const r = findLoose(body || "", t);
    if (r && !ranges.some(([a, b]) => r[0] < b && a < r[1])) ranges.push(r);
  }
  return ranges.sort((x, y) => x[0] - y[0]);
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
