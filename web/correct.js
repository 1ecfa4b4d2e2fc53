/* 报纸档案问答 — corrections in the page viewer.
 *
 * Under the article's text: 「已校对」 and a 「查看原文」 toggle (anyone) when the article was corrected,
 * showing the original headline, date, 版 and text (GET /api/corrections); and, for a logged-in
 * editor or admin only (GET /api/session), a 「校对」 button opening a form with the headline, date,
 * 版 and text prefilled. Saving sends POST /api/corrections with the session's X-CSRF-Token, shows
 * progress while the page is indexed again, then the article as it now stands. Text only, never HTML.
 */

import { el } from "./dom.js";

let session = null; // the promise of GET /api/session: asked once per page load

function whoAmI() {
  if (!session) {
    session = fetch("/api/session", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}));
  }
  return session;
}

function message(data, fallback) {
  return (data && data.error && data.error.message) || fallback;
}

/** The whole article `c` cites, as the index has it now (the viewer may show only the passage). */
async function articleOf(c) {
  let url = "/api/pages/" + encodeURIComponent(c.date) + "/" + encodeURIComponent(c.page);
  if (c.paper) url += "?paper=" + encodeURIComponent(c.paper);
  const r = await fetch(url, { headers: { "Accept": "application/json" } });
  const page = r.ok ? await r.json() : null;
  return (page && (page.articles || []).find((x) => x.article_id === c.article_id)) || null;
}

/** The correction of article `c` on its page, or null. */
async function correctionOf(c) {
  let url = "/api/corrections?date=" + encodeURIComponent(c.date) + "&page=" + encodeURIComponent(c.page);
  if (c.paper) url += "&paper=" + encodeURIComponent(c.paper);
  const r = await fetch(url, { headers: { "Accept": "application/json" } });
  const data = r.ok ? await r.json() : { corrections: [] };
  return (data.corrections || []).find((x) => x.article_id === c.article_id) || null;
}

function field(form, label, input) {
  const id = "corr-" + Math.random().toString(36).slice(2, 8);
  input.id = id;
  const lab = el("label", "corr-label", label);
  lab.htmlFor = id;
  form.append(lab, input);
  return input;
}

function input(type, value) {
  const i = document.createElement(type === "textarea" ? "textarea" : "input");
  if (type !== "textarea") i.type = type;
  i.value = value == null ? "" : String(value);
  return i;
}

/** The original, as printed: shown by 「查看原文」. */
function originalBox(entry) {
  const o = entry.original || {};
  const box = el("div", "corr-original");
  box.append(el("h4", "", "原文（" + (entry.user || "") + " 校对前）"));
  box.append(el("p", "corr-meta", (o.date || "") + (o.page ? " 第" + o.page + "版" : "")));
  box.append(el("p", "corr-title", o.title || "（无标题）"));
  box.append(el("div", "article-body", o.text || ""));
  return box;
}

/** The edit form; `done(result)` gets the answer of POST /api/corrections. */
function editForm(c, a, csrf, done, cancel) {
  const form = el("form", "corr-form");
  form.setAttribute("aria-label", "校对这篇文章");
  const title = field(form, "标题", input("text", a.title));
  const date = field(form, "日期", input("date", c.date));
  const page = field(form, "版次", input("number", c.page));
  page.min = "1";
  const text = field(form, "正文", input("textarea", a.body));
  text.rows = 10;
  const status = el("p", "corr-status");
  status.setAttribute("role", "status");
  const bar = document.createElement("progress");
  bar.hidden = true;
  const save = el("button", "corr-save", "保存");
  save.type = "submit";
  const back = el("button", "corr-cancel", "取消");
  back.type = "button";
  back.addEventListener("click", cancel);
  form.append(el("div", "corr-buttons"), bar, status);
  form.querySelector(".corr-buttons").append(save, back);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { date: c.date, page: c.page, paper: c.paper, article_id: c.article_id };
    if (title.value.trim() !== (a.title || "")) body.title = title.value;
    if (text.value.trim() !== (a.body || "").trim()) body.text = text.value;
    if (date.value && date.value !== c.date) body.new_date = date.value;
    if (page.value && Number(page.value) !== c.page) body.new_page = Number(page.value);
    save.disabled = back.disabled = true;
    bar.hidden = false;
    status.textContent = "正在保存：重新读取这一版并更新索引……";
    try {
      const r = await fetch("/api/corrections", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) });
      const data = await r.json();
      if (!r.ok || data.error) throw new Error(message(data, typeof data.error === "string" ? data.error : "保存失败"));
      status.textContent = "已保存并发布。";
      done(data);
    } catch (err) {
      status.textContent = "保存失败：" + err.message;
      status.classList.add("error");
      save.disabled = back.disabled = false;
    } finally {
      bar.hidden = true;
    }
  });
  return form;
}

/** Append the correction tools for citation `c` to `pane`; `show(c, a)` shows article `a` (after a
 * save: the article as it now stands, with the corrected citation). */
export async function correctionTools(c, pane, show) {
  if (!c.date || !c.page || !c.article_id) return;
  const bar = el("div", "corr-bar");
  pane.appendChild(bar);
  if (c.corrected) {
    const toggle = el("button", "corr-toggle", "查看原文");
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    bar.append(el("span", "corrected-mark", "已校对"), toggle);
    let box = null;
    toggle.addEventListener("click", async () => {
      if (box) {
        box.remove();
        box = null;
        toggle.setAttribute("aria-expanded", "false");
        toggle.textContent = "查看原文";
        return;
      }
      const entry = await correctionOf(c);
      box = entry ? originalBox(entry) : el("p", "corr-status", "没有找到原文记录。");
      bar.after(box);
      toggle.setAttribute("aria-expanded", "true");
      toggle.textContent = "隐藏原文";
    });
  }
  const s = await whoAmI();
  if (s.role !== "editor" && s.role !== "admin") return;
  const edit = el("button", "corr-edit", "校对");
  edit.type = "button";
  edit.title = "修改这篇文章的标题、日期、版次或正文（原文保留）";
  bar.appendChild(edit);
  edit.addEventListener("click", async () => {
    const a = await articleOf(c);
    if (!a) {
      bar.after(el("p", "corr-status error", "找不到这篇文章的全文（索引可能已更新）：请重新提问后再校对。"));
      return;
    }
    const form = editForm(c, a, s.csrf_token || "", (data) => {
      const now = data.article || { article_id: c.article_id, title: a.title, body: a.body };
      const fixed = data.correction.corrected;
      const next = { ...c, article_id: now.article_id, title: now.title, corrected: true,
        date: fixed.date || c.date, page: fixed.page || c.page };
      show(next, now);
    }, () => { form.remove(); edit.hidden = false; edit.focus(); });
    edit.hidden = true;
    bar.after(form);
    form.querySelector("input").focus();
  });
}
