/* 报纸档案问答 — a cited passage on its page image: the image with the article's boxes drawn over it.
 *
 * A citation with a page image carries `page_image` (GET /api/pages/<key>/image, same origin) and
 * `regions`: [x0, y0, x1, y1] boxes as fractions of the image, origin top left; the first
 * `passage_regions` of them are the passage's own lines, the rest the article's boxes. A text-only
 * source (txt, JSONL) has `page_image: null` and says so instead of showing an image.
 *
 * Boxes are absolutely placed children of the stage in percent, so they follow the image at any size
 * (the card's thumbnail, the zoomed viewer) with borders of a constant width.
 */

import { el } from "./dom.js";

export const NO_IMAGE = "纯文本来源，无版面图像";
const FAILED = "版面图像无法显示：";

function isBox(b) {
  return Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === "number" && isFinite(v));
}

/** The passage's own boxes (the cited lines): the first `passage_regions`; without that count, the first. */
export function citedRegions(c) {
  const regions = (c.regions || []).filter(isBox);
  const k = typeof c.passage_regions === "number" ? c.passage_regions : Math.min(1, regions.length);
  return regions.slice(0, k);
}

/** The article's boxes: the regions after the passage's own (all of them when there are no others). */
export function articleRegions(c) {
  const regions = (c.regions || []).filter(isBox);
  const k = citedRegions(c).length;
  return regions.length > k ? regions.slice(k) : regions;
}

/** The smallest box holding `boxes`, grown by `pad` (fraction of the page) and kept on the page; null if none. */
export function bounds(boxes, pad = 0) {
  if (!boxes.length) return null;
  const b = [Math.min(...boxes.map((x) => x[0])), Math.min(...boxes.map((x) => x[1])),
    Math.max(...boxes.map((x) => x[2])), Math.max(...boxes.map((x) => x[3]))];
  return [Math.max(0, b[0] - pad), Math.max(0, b[1] - pad), Math.min(1, b[2] + pad), Math.min(1, b[3] + pad)];
}

function regionBox(b, cls) {
  const r = el("div", "region " + cls);
  r.style.left = b[0] * 100 + "%";
  r.style.top = b[1] * 100 + "%";
  r.style.width = (b[2] - b[0]) * 100 + "%";
  r.style.height = (b[3] - b[1]) * 100 + "%";
  return r;
}

/** The URL of the 480 px thumbnail of a page image (`?size=small`), for the source cards. */
export function thumbUrl(url) {
  const u = new URL(url, location.href);
  u.searchParams.set("size", "small");
  return u.pathname + u.search;
}

/** The page image with the article outlined and the cited lines highlighted: `{ stage, img }`;
 * `thumb`: the small image, loaded when scrolled near (a card far down the conversation). */
export function pageStage(c, alt, thumb = false) {
  const stage = el("div", "page-stage");
  const img = el("img", "page-img");
  img.alt = alt;
  img.decoding = "async";
  if (thumb) img.loading = "lazy"; // before src: set later, the request has already started
  img.draggable = false;
  img.src = thumb ? thumbUrl(c.page_image) : c.page_image;
  stage.appendChild(img);
  for (const b of articleRegions(c)) stage.appendChild(regionBox(b, "article"));
  for (const b of citedRegions(c)) stage.appendChild(regionBox(b, "cited"));
  return { stage, img };
}

/** Why the image at `url` cannot be shown: the server's sentence (404 page_image_unavailable), or ours. */
export async function imageProblem(url) {
  try {
    const resp = await fetch(url, { headers: { "Accept": "application/json" } });
    if (!resp.ok) {
      const data = await resp.json().catch(() => null);
      if (data && data.error && data.error.message) return FAILED + data.error.message;
      return FAILED + "服务器答复 " + resp.status + "。";
    }
    return FAILED + "图像文件已损坏，浏览器无法解码。";
  } catch (e) {
    return FAILED + "无法连接服务器。";
  }
}

/** The note shown instead of an image (text-only source, or an image that failed). */
export function imageNote(text) {
  const p = el("p", "image-note", text);
  p.setAttribute("role", "note");
  return p;
}

/** The source card's small page image; activating it calls `onOpen(button)`. Text-only sources get
 * the note why there is no image; an image that fails to load is replaced by the reason. */
export function pageThumb(c, label, onOpen) {
  if (!c.page_image) return imageNote(NO_IMAGE);
  const btn = el("button", "page-thumb");
  btn.type = "button";
  btn.title = "在版面上查看";
  btn.setAttribute("aria-label", "在版面上查看：" + label);
  const { stage, img } = pageStage(c, "", true);
  btn.appendChild(stage);
  btn.addEventListener("click", () => onOpen(btn));
  img.addEventListener("error", async () => {
    const note = imageNote(await imageProblem(img.src));
    note.classList.add("failed");
    if (btn.isConnected) btn.replaceWith(note);
  }, { once: true });
  return btn;
}
