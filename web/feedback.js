/* 报纸档案问答 — 👍/👎 under each answer, with an optional comment (POST /api/feedback).
 *
 * feedbackControl(data, question) returns the control for one finished answer; answer.js appends it.
 * What is sent is what the reader saw: the question, the answer, the cited passages' citations and
 * the index version. A logged-in browser session must
 * repeat its CSRF token (GET /api/session); an anonymous reader has none and needs none.
 */
let csrf = null;

async function csrfToken() {
  if (csrf !== null) return csrf;
  try {
    const r = await fetch("/api/session", { credentials: "same-origin" });
    csrf = r.ok ? ((await r.json()).csrf_token || "") : "";
  } catch (e) {
    csrf = "";
  }
  return csrf;
}

function button(label, title) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "fb-button";
  b.textContent = label;
  b.title = title;
  b.setAttribute("aria-label", title);
  return b;
}

export function feedbackControl(data, question) {
  const box = document.createElement("div");
  box.className = "feedback";
  const up = button("有用", "回答有用"); // words, not 👍: offline machines often have no emoji font
  const down = button("没用", "回答没用");
  const comment = document.createElement("input");
  comment.type = "text";
  comment.className = "fb-comment";
  comment.maxLength = 1000;
  comment.placeholder = "哪里不对？（可不填，回车提交）";
  comment.hidden = true;
  const said = document.createElement("span");
  said.className = "fb-status";
  said.setAttribute("role", "status"); // announced when sent; not an aria-live region (only the newest answer is)

  async function send(rating) {
    up.disabled = down.disabled = true;
    const body = {
      rating, question, answer: data.answer || "", comment: comment.value || "",
      passages: (data.passages || []).map((p) => p.citation || p), index_version: data.index_version || null,
    };
    const headers = { "Content-Type": "application/json" };
    const token = await csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
    try {
      const r = await fetch("/api/feedback", { method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin" });
      said.textContent = r.ok ? "谢谢反馈。" : "反馈没有保存，请稍后再试。";
    } catch (e) {
      said.textContent = "反馈没有保存：无法连接服务器。";
    }
    comment.hidden = true;
  }

  up.addEventListener("click", () => send("up"));
  down.addEventListener("click", () => {
    if (comment.hidden && !said.textContent) {
      comment.hidden = false;  // 👎 first asks what was wrong; Enter (or 👎 again) sends
      comment.focus();
      return;
    }
    send("down");
  });
  comment.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); send("down"); }
  });
  box.append(up, down, comment, said);
  return box;
}
