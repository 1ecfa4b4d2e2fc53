/* 报纸档案问答 — the one citation formatter.
 *
 * A passage's label is formatted once, from its citation object (the answer JSON's
 * `passages[].citation`), and that one string is used wherever the passage is named: the source
 * card's line and the accessible name of every [n] button citing it. Nothing parses a label back.
 */

export function hasPage(page) {
  return page !== null && page !== undefined && page !== "";
}

/** 「第1版 要闻」, 「第1版」 or the page name alone. */
export function pageLabel(page, pageName) {
  if (hasPage(page)) return "第" + page + "版" + (pageName ? " " + pageName : "");
  return pageName || "";
}

/** 「第1234期」, or "" without an issue number. */
export function issueLabel(issueNo) {
  return issueNo ? "第" + issueNo + "期" : "";
}

/** 「聊城日报 · 2026-04-01 · 第1版 要闻 · 标题」; absent fields are left out.
 * `title: false` names the page only (the whole-page dialog); `issue: true` adds 「第N期」.
 * Takes a citation, or a page of GET /api/pages (the same field names). */
export function citationLabel(c, { title = true, issue = false } = {}) {
  const parts = [c.paper, c.date, pageLabel(c.page, c.page_name)];
  if (issue) parts.push(issueLabel(c.issue_no));
  if (title) parts.push(c.title);
  if (c.corrected) parts.push("已校对"); // an editor fixed this article (POST /api/corrections)
  return parts.filter(Boolean).join(" · ");
}

/** The accessible name of an [n] button: 「来源1：聊城日报 · 2026-04-01 · 第1版 要闻 · 标题」. */
export function sourceName(n, label) {
  return "来源" + n + "：" + label;
}
