/* 报纸档案问答 — zoom and pan of the page image in the viewer.
 *
 * The stage (image + boxes) is sized to the image at the current scale and moved with a translate:
 * the boxes' borders keep their width at any zoom. Mouse: wheel zooms about the pointer, drag pans,
 * double-click zooms in. Touch: one finger pans, two pinch. Keyboard (on the focused viewport):
 * arrows pan, + / - zoom, 0 fits the article again. The state is mirrored on the viewport as
 * data-scale (what tests and styles read).
 */

const MIN_SCALE = 0.05;
const MAX_SCALE = 4; // 4 image pixels per CSS pixel: the 2000 px render's characters are blocky by then
const STEP = 1.25; // one button press or key press
const PAN = 60; // CSS pixels per arrow key press

/** Zoom and pan `stage` inside `viewport`; `size` is the image's natural [width, height] in pixels. */
export function panZoom(viewport, stage, size, onChange) {
  const s = { scale: 1, x: 0, y: 0, fit: 1 };
  const [w, h] = size;

  function apply() {
    stage.style.width = w * s.scale + "px";
    stage.style.height = h * s.scale + "px";
    stage.style.transform = "translate(" + s.x.toFixed(1) + "px, " + s.y.toFixed(1) + "px)";
    viewport.dataset.scale = s.scale.toFixed(4);
    if (onChange) onChange(s.scale / s.fit);
  }

  /** Keep part of the page in view: it may not leave the viewport by more than half. */
  function clamp() {
    const vw = viewport.clientWidth;
    const vh = viewport.clientHeight;
    s.x = Math.min(vw / 2, Math.max(vw / 2 - w * s.scale, s.x));
    s.y = Math.min(vh / 2, Math.max(vh / 2 - h * s.scale, s.y));
  }

  /** Zoom by `factor` keeping the point (px, py) of the viewport where it is (default: the centre). */
  function zoomBy(factor, px, py) {
    const cx = px === undefined ? viewport.clientWidth / 2 : px;
    const cy = py === undefined ? viewport.clientHeight / 2 : py;
    const next = Math.min(MAX_SCALE, Math.max(Math.min(MIN_SCALE, s.fit / 2), s.scale * factor));
    s.x = cx - (cx - s.x) * (next / s.scale);
    s.y = cy - (cy - s.y) * (next / s.scale);
    s.scale = next;
    clamp();
    apply();
  }

  function panBy(dx, dy) {
    s.x += dx;
    s.y += dy;
    clamp();
    apply();
  }

  /** Show `box` ([x0, y0, x1, y1] fractions; the whole page when null) as large as fits, centred. */
  function fit(box) {
    const b = box || [0, 0, 1, 1];
    const vw = viewport.clientWidth;
    const vh = viewport.clientHeight;
    const bw = Math.max(1, (b[2] - b[0]) * w);
    const bh = Math.max(1, (b[3] - b[1]) * h);
    s.scale = Math.min(MAX_SCALE, 0.94 * Math.min(vw / bw, vh / bh));
    s.x = vw / 2 - ((b[0] + b[2]) / 2) * w * s.scale;
    s.y = vh / 2 - ((b[1] + b[3]) / 2) * h * s.scale;
    s.fit = 0.94 * Math.min(vw / w, vh / h); // the whole page's scale: 100 % in the zoom label
    clamp();
    apply();
  }

  const pointers = new Map();
  let pinch = null;

  function local(e) {
    const r = viewport.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  viewport.addEventListener("wheel", (e) => {
    e.preventDefault();
    const [px, py] = local(e);
    zoomBy(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)), px, py);
  }, { passive: false });

  viewport.addEventListener("pointerdown", (e) => {
    viewport.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, local(e));
    viewport.classList.add("dragging");
  });
  viewport.addEventListener("pointermove", (e) => {
    if (!pointers.has(e.pointerId)) return;
    const prev = pointers.get(e.pointerId);
    const now = local(e);
    pointers.set(e.pointerId, now);
    if (pointers.size === 1) {
      panBy(now[0] - prev[0], now[1] - prev[1]);
      return;
    }
    const [a, b] = [...pointers.values()];
    const dist = Math.hypot(a[0] - b[0], a[1] - b[1]);
    if (pinch) zoomBy(dist / pinch, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
    pinch = dist || null;
  });
  function lift(e) {
    pointers.delete(e.pointerId);
    pinch = null;
    if (!pointers.size) viewport.classList.remove("dragging");
  }
  viewport.addEventListener("pointerup", lift);
  viewport.addEventListener("pointercancel", lift);
  viewport.addEventListener("dblclick", (e) => {
    const [px, py] = local(e);
    zoomBy(STEP * STEP, px, py);
  });

  // a rotated phone or a resized window: keep the page where it was, inside the new bounds
  const resized = new ResizeObserver(() => { clamp(); apply(); });
  resized.observe(viewport);

  const KEYS = {
    ArrowLeft: () => panBy(PAN, 0), ArrowRight: () => panBy(-PAN, 0),
    ArrowUp: () => panBy(0, PAN), ArrowDown: () => panBy(0, -PAN),
  };
  viewport.addEventListener("keydown", (e) => {
    if (!KEYS[e.key] || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    KEYS[e.key]();
  });

  return { fit, panBy, zoomIn: () => zoomBy(STEP), zoomOut: () => zoomBy(1 / STEP), state: () => ({ ...s }),
    stop: () => resized.disconnect() };
}
