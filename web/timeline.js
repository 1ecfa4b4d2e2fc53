/* 报纸档案问答 — the coverage chart under answers to when/how-often questions.
 *
 * Draws `answer.timeline` (counts of distinct reports per month or year, from the server) as an
 * inline SVG bar chart: no library, no CDN, no inline styles (CSP). Each bar is a link that asks
 * which days of that month (year) reported the topic: in this page, in the same conversation
 * (mouse, or Tab to the bar and Enter); the href is the shareable link to the same question.
 */

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 560, HEIGHT = 120, AXIS = 18;

function svg(name, attrs) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** 「2023年7月」 or 「2023年」 for a bucket key (2023-07 / 2023). */
function periodName(key) {
  const [y, m] = key.split("-");
  return m ? `${y}年${Number(m)}月` : `${y}年`;
}

/** One bar: a keyboard-reachable link whose activation calls `onAsk(question)` instead of loading it. */
function bar(b, i, step, max, topic, onAsk) {
  const question = `${periodName(b.key)}哪些天报道了${topic}`;
  const h = Math.round((b.count / max) * (HEIGHT - 14));
  const link = svg("a", { href: "/?q=" + encodeURIComponent(question), tabindex: 0, class: "timeline-bar",
                          "data-key": b.key, "data-count": b.count,
                          "aria-label": `${periodName(b.key)}：${b.count}篇，问：${question}` });
  link.appendChild(svg("title", {})).textContent = `${periodName(b.key)}：${b.count}篇`;
  link.appendChild(svg("rect", { x: i * step + 2, y: HEIGHT - h, width: Math.max(2, step - 4), height: h }));
  if (b.count) {
    const n = svg("text", { x: i * step + step / 2, y: HEIGHT - h - 3, "text-anchor": "middle", class: "timeline-count" });
    n.textContent = String(b.count);
    link.appendChild(n);
  }
  // Enter on a focused link is a click too; modified clicks (new tab, ...) keep the browser's way
  link.addEventListener("click", (e) => {
    if (!onAsk || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onAsk(question);
  });
  return link;
}

/** The chart element for one answer, or null when the answer carries no timeline. */
export function timelineChart(data, topic, onAsk) {
  const t = data && data.timeline;
  if (!t || !Array.isArray(t.buckets) || !t.buckets.length) return null;
  const max = Math.max(1, ...t.buckets.map((b) => b.count));
  const step = WIDTH / t.buckets.length;
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT + AXIS}`, class: "timeline-chart", role: "group" });
  const summary = `共${t.total}篇报道，按${t.unit === "year" ? "年" : "月"}统计`;
  root.setAttribute("aria-label", summary);
  root.appendChild(svg("title", {})).textContent = summary;
  t.buckets.forEach((b, i) => {
    root.appendChild(bar(b, i, step, max, topic, onAsk));
    if (i === 0 || i === t.buckets.length - 1 || t.buckets.length <= 12) {
      const label = svg("text", { x: i * step + step / 2, y: HEIGHT + AXIS - 4, "text-anchor": "middle",
                                  class: "timeline-label", "aria-hidden": "true" });
      label.textContent = b.key;
      root.appendChild(label);
    }
  });
  const figure = document.createElement("figure");
  figure.className = "timeline";
  figure.appendChild(root);
  const caption = document.createElement("figcaption");
  const first = t.first ? `最早 ${t.first.date}` : "", last = t.last ? `最近 ${t.last.date}` : "";
  caption.textContent = [`共${t.total}篇`, first, last].filter(Boolean).join(" · ");
  figure.appendChild(caption);
  return figure;
}
