/* 报纸档案问答 — the coverage chart under answers to when/how-often questions.
 *
 * Draws `answer.timeline` (counts of distinct reports per month or year, from the server) as an
 * inline SVG bar chart: no library, no CDN, no inline styles (CSP). Each bar is a link that asks
 * which days of that month (year) reported the topic. Exposed as window.QA.timeline.
 */
"use strict";

(function () {
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

  /** The chart element for one answer, or null when the answer carries no timeline. */
  function chart(data, topic) {
    const t = data && data.timeline;
    if (!t || !Array.isArray(t.buckets) || !t.buckets.length) return null;
    const max = Math.max(1, ...t.buckets.map((b) => b.count));
    const step = WIDTH / t.buckets.length;
    const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT + AXIS}`, class: "timeline-chart", role: "img" });
    root.appendChild(svg("title", {})).textContent = `共${t.total}篇报道，按${t.unit === "year" ? "年" : "月"}统计`;
    t.buckets.forEach((b, i) => {
      const h = Math.round((b.count / max) * (HEIGHT - 14));
      const link = svg("a", { href: "/?q=" + encodeURIComponent(`${periodName(b.key)}哪些天报道了${topic}`),
                              class: "timeline-bar", "data-key": b.key, "data-count": b.count });
      link.appendChild(svg("title", {})).textContent = `${periodName(b.key)}：${b.count}篇`;
      link.appendChild(svg("rect", { x: i * step + 2, y: HEIGHT - h, width: Math.max(2, step - 4), height: h }));
      if (b.count) {
        const n = svg("text", { x: i * step + step / 2, y: HEIGHT - h - 3, "text-anchor": "middle", class: "timeline-count" });
        n.textContent = String(b.count);
        link.appendChild(n);
      }
      root.appendChild(link);
      if (i === 0 || i === t.buckets.length - 1 || t.buckets.length <= 12) {
        const label = svg("text", { x: i * step + step / 2, y: HEIGHT + AXIS - 4, "text-anchor": "middle",
                                    class: "timeline-label" });
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

  window.QA.timeline = { chart };
})();
