/* The upload page (/upload): log in, send an issue's files to POST /api/issues, follow the job's
 * stages on a progress bar (GET /api/issues/<job>), then show articles per page and skipped files.
 * Everything shown from the server is inserted as text, never HTML.
 */

const $ = (id) => document.getElementById(id);
const STAGES = { queued: [0, "排队等候"], reading: [1, "读取版面"], ocr: [1, "识别扫描版（OCR）"],
  embedding: [2, "向量化并写入索引"], published: [4, "已发布，可以提问了"], unchanged: [4, "内容没有变化，索引未更新"],
  failed: [4, "失败"] };
let csrf = "";
const POLL_MS = 400; // how often the job's stage is asked for
const RETRY_MS = 2000, RETRY_FOR_MS = 10 * 60 * 1000; // while the server is unreachable (a restart)

function cell(row, text) { const td = document.createElement("td"); td.textContent = String(text); row.appendChild(td); }

function table(head, rows) {
  const t = document.createElement("table");
  const h = t.insertRow();
  head.forEach((x) => { const th = document.createElement("th"); th.textContent = x; h.appendChild(th); });
  rows.forEach((r) => { const tr = t.insertRow(); r.forEach((x) => cell(tr, x)); });
  return t;
}

function message(data, fallback) {
  return (data && data.error && data.error.message) || fallback;
}

async function whoAmI() {
  const r = await fetch("/api/session", { credentials: "same-origin" });
  const s = await r.json();
  csrf = s.csrf_token || "";
  const editor = s.role === "editor" || s.role === "admin";
  $("who").textContent = s.user ? `已登录：${s.user}（${s.role}）` + (editor ? "" : "——这个账户不能上传") : "请先登录（需要 editor 或 admin 账户）。";
  $("login").hidden = !!s.user;
  $("upload").hidden = !editor;
  if (editor) loadJobs().catch(() => {}); // the list is a convenience: the page works without it
}

async function login(e) {
  e.preventDefault();
  const r = await fetch("/api/login", { method: "POST", headers: { "Content-Type": "application/json" },
    credentials: "same-origin", body: JSON.stringify({ name: $("login-name").value, password: $("login-password").value }) });
  const data = await r.json();
  $("login-error").textContent = r.ok ? "" : message(data, "登录失败");
  if (r.ok) await whoAmI();
}

function showStage(job) {
  const [step, label] = STAGES[job.stage] || [0, job.stage];
  $("progress-box").hidden = false;
  $("bar").value = step + (job.stage === "ocr" || job.stage === "reading" ? (job.pages_read / Math.max(1, job.pages_total)) : 0);
  $("stage").textContent = `${label}` + (job.pages_total ? `（已读 ${job.pages_read} / ${job.pages_total} 版）` : "");
}

function showResult(job) {
  const box = $("result");
  box.replaceChildren();
  if (job.error) { const p = document.createElement("p"); p.className = "error"; p.textContent = job.error; box.appendChild(p); }
  if (job.pages && job.pages.length) {
    box.appendChild(table(["版次", "文件", "读取方式", "文章数", "标题"],
      job.pages.map((p) => [p.page ?? "", p.file, p.read_as, p.articles, (p.titles || []).join("；")])));
  }
  if (job.skipped && job.skipped.length) {
    const h = document.createElement("h2"); h.textContent = "跳过的文件"; box.appendChild(h);
    box.appendChild(table(["文件", "原因"], job.skipped.map((s) => [s.file + (s.line ? `:${s.line}` : ""), s.reason])));
  }
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
// 5xx: the server (or the proxy in front of it) is down or restarting, so asking again may help.
const serverDown = (status) => Math.floor(status / 100) === 5;

/** The job's JSON; while the server cannot be reached (e.g. restarting: the job is kept and resumed)
 * it asks again every RETRY_MS, up to RETRY_FOR_MS, saying so. */
async function jobStatus(id) {
  const until = Date.now() + RETRY_FOR_MS;
  for (;;) {
    try {
      const r = await fetch(`/api/issues/${encodeURIComponent(id)}`, { credentials: "same-origin" });
      if (!serverDown(r.status) || Date.now() > until) return [r.ok, await r.json()];
    } catch (err) {
      if (Date.now() > until) return [false, null];
    }
    $("stage").textContent = "暂时连不上服务器，正在重试……（任务已保存，服务器重启后会继续处理）";
    await sleep(RETRY_MS);
  }
}

async function follow(job) {
  for (;;) {
    showStage(job);
    if (job.done) { showResult(job); return loadJobs().catch(() => {}); }
    await sleep(POLL_MS);
    const [ok, data] = await jobStatus(job.job);
    if (!ok) { $("stage").textContent = message(data, "无法查询进度"); return; }
    job = data;
  }
}

function when(unix) {
  const d = new Date(unix * 1000), two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The newest jobs of this account (GET /api/jobs), each with a button to show or follow it. */
async function loadJobs() {
  const r = await fetch("/api/jobs?limit=10", { credentials: "same-origin" });
  if (!r.ok) return;
  const jobs = (await r.json()).jobs;
  $("jobs").hidden = !jobs.length;
  const t = table(["时间", "期次", "状态", "文章", "跳过", ""], jobs.map((j) => [
    when(j.created), (j.issues || []).join("、"),
    ((STAGES[j.stage] || [0, j.stage])[1]) + (j.resumed ? "（服务器重启后继续处理）" : ""),
    (j.pages || []).reduce((n, p) => n + p.articles, 0), (j.skipped || []).length, ""]));
  jobs.forEach((j, i) => {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = j.done ? "查看" : "跟进"; b.className = "show-job";
    b.addEventListener("click", () => follow(j));
    t.rows[i + 1].cells[5].appendChild(b);
  });
  $("jobs-list").replaceChildren(t);
}

async function upload(e) {
  e.preventDefault();
  const form = new FormData();
  form.append("paper", $("paper").value);
  form.append("date", $("date").value);
  const files = Array.from($("files").files);
  const numbered = files.every((f) => /^\d{1,3}/.test(f.name));
  files.forEach((f, i) => {
    form.append("files", f, f.name);
    form.append("page", numbered ? String(parseInt(f.name, 10)) : String(i + 1));
  });
  $("send").disabled = true;
  $("result").replaceChildren();
  try {
    const r = await fetch("/api/issues", { method: "POST", body: form, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf } });
    const data = await r.json();
    if (!r.ok) { $("stage").textContent = message(data, "上传失败"); $("progress-box").hidden = false; return; }
    await follow(data);
  } finally {
    $("send").disabled = false;
  }
}

$("login").addEventListener("submit", login);
$("upload").addEventListener("submit", upload);
whoAmI().catch(() => { $("who").textContent = "无法连接服务器。"; });
