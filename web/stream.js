/* 报纸档案问答 — asking over server-sent events.
 *
 * POST /api/ask/stream answers with events `sources` (passages, first), `delta` (each checked
 * sentence of an LLM answer), `done` (the full answer JSON) or `error`. EventSource cannot POST,
 * so this reads fetch()'s ReadableStream and splits it into `event:` / `data:` blocks.
 * Errors before the stream starts (400/404/413/415/429/503) come as the usual JSON error object.
 */

/** One SSE block -> {event, data} (data parsed as JSON), or null for a comment/keep-alive block. */
function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const k = line.indexOf(":");
    const field = k < 0 ? line : line.slice(0, k);
    const value = k < 0 ? "" : line.slice(k + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return { event, data: JSON.parse(data.join("\n")) };
  } catch (e) {
    return { event: "error", data: { error: { code: "bad_stream", message: "服务器返回的数据无法解析。" } } };
  }
}

/** Feed decoded text through SSE framing; calls onEvent for each complete block. */
async function readEvents(resp, onEvent) {
  const decoder = new TextDecoder();
  let buf = "";
  let last = null;
  const flush = (final) => {
    buf = buf.replace(/\r\n?/g, "\n");
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0 || (final && buf.trim())) {
      const block = i >= 0 ? buf.slice(0, i) : buf;
      buf = i >= 0 ? buf.slice(i + 2) : "";
      const ev = parseBlock(block);
      if (ev) {
        last = ev.event;
        onEvent(ev.event, ev.data);
      }
    }
  };
  if (resp.body && resp.body.getReader) {
    const reader = resp.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      flush(false);
    }
  } else {
    buf = await resp.text(); // no streaming body: the same events, all at the end
  }
  flush(true);
  return last;
}

/** Resolves {status, last} after the stream ended (last: the final event's name), or
 * {status, error} when the server refused the request before streaming. Rejects on network errors. */
export async function askStream(body, onEvent, signal) {
  const resp = await fetch("/api/ask/stream", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  const type = resp.headers.get("Content-Type") || "";
  if (!resp.ok || !type.startsWith("text/event-stream")) {
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    const error = data && data.error ? data.error : { code: "http_" + resp.status, message: "服务暂时不可用（HTTP " + resp.status + "）。" };
    return { status: resp.status, error };
  }
  return { status: resp.status, last: await readEvents(resp, onEvent) };
}

