/* 报纸档案问答 — 「剪报」: the cited article cut out of its page image, with its citation under it,
 * drawn on a canvas and downloaded as a PNG.
 *
 * The image comes from the same origin (GET /api/pages/<key>/image), so the canvas is not tainted
 * and can be exported. The caption is the one citation label (citation.js): 报名 · 日期 · 版次 · 标题.
 */

import { citationLabel } from "./citation.js";
import { articleRegions, bounds } from "./pageimage.js";

const PAD = 0.012; // margin around the article, as a fraction of the page
const BOX_PAD = 0.004; // each box's margin: the page between the article's boxes stays white
const MAX_WIDTH = 1800; // pixels of the clipping; a wider crop is scaled down
const FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif';

/** `img` (loaded) cut to the article's boxes with the caption below; a canvas. */
export function clippingCanvas(img, c) {
  const box = bounds(articleRegions(c), PAD) || [0, 0, 1, 1];
  const iw = img.naturalWidth;
  const ih = img.naturalHeight;
  const sx = Math.round(box[0] * iw);
  const sy = Math.round(box[1] * ih);
  const sw = Math.max(1, Math.round((box[2] - box[0]) * iw));
  const sh = Math.max(1, Math.round((box[3] - box[1]) * ih));
  const k = Math.min(1, MAX_WIDTH / sw);
  const width = Math.max(320, Math.round(sw * k));
  const cropH = Math.round(sh * k);
  const size = Math.max(16, Math.round(width / 34));
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  ctx.font = size + "px " + FONT;
  const lines = wrap(ctx, citationLabel(c), width - 2 * size);
  canvas.width = width;
  canvas.height = cropH + Math.round(size * (1.2 + 1.5 * lines.length));
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const dx = Math.round((width - sw * k) / 2);
  // only the article's own boxes: an L-shaped article does not carry a corner of its neighbour
  ctx.save();
  ctx.beginPath();
  for (const b of articleRegions(c).length ? articleRegions(c) : [[0, 0, 1, 1]]) {
    const x0 = (Math.max(0, b[0] - BOX_PAD) * iw - sx) * k + dx;
    const y0 = (Math.max(0, b[1] - BOX_PAD) * ih - sy) * k;
    ctx.rect(x0, y0, (Math.min(1, b[2] + BOX_PAD) * iw - sx) * k + dx - x0, (Math.min(1, b[3] + BOX_PAD) * ih - sy) * k - y0);
  }
  ctx.clip();
  ctx.drawImage(img, sx, sy, sw, sh, dx, 0, Math.round(sw * k), cropH);
  ctx.restore();
  ctx.fillStyle = "#9b2c2c";
  ctx.fillRect(0, cropH, width, Math.max(2, Math.round(size / 8)));
  ctx.fillStyle = "#1f2328";
  ctx.font = size + "px " + FONT;
  ctx.textBaseline = "top";
  lines.forEach((line, i) => ctx.fillText(line, size, cropH + Math.round(size * (0.6 + 1.5 * i))));
  return canvas;
}

/** `text` in lines no wider than `max` pixels (CJK text breaks anywhere). */
function wrap(ctx, text, max) {
  const lines = [];
  let line = "";
  for (const ch of text) {
    if (line && ctx.measureText(line + ch).width > max) {
      lines.push(line);
      line = ch.trim() ? ch : "";
    } else {
      line += ch;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** 「剪报_聊城日报_2023-05-01_第1版.png」: no path separators or other characters a file system refuses. */
export function clippingName(c) {
  const parts = ["剪报", c.paper, c.date, c.page ? "第" + c.page + "版" : ""].filter(Boolean);
  return parts.join("_").replace(/[\\/:*?"<>|\s]+/g, "-") + ".png";
}

/** Download the clipping of citation `c` cut from the loaded page image `img`. */
export async function downloadClipping(img, c) {
  const canvas = clippingCanvas(img, c);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  if (!blob) throw new Error("canvas export failed");
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = clippingName(c);
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
