/* 报纸档案问答 — building elements from archive text.
 *
 * Archive text is ALWAYS inserted as text: textContent / createTextNode, with <mark> elements built
 * around text nodes for highlights. Never innerHTML (the page's CSP forbids inline scripts anyway).
 */

/** Element with optional class and text (as a text node, never HTML). */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

/** Append `text` to `parent` with the given [start, end) ranges wrapped in <mark class=cls>. */
export function appendMarked(parent, text, ranges, cls) {
  let pos = 0;
  for (const [a, b] of ranges) {
    if (a > pos) parent.appendChild(document.createTextNode(text.slice(pos, a)));
    const m = el("mark", cls);
    m.appendChild(document.createTextNode(text.slice(a, b)));
    parent.appendChild(m);
    pos = b;
  }
  if (pos < text.length) parent.appendChild(document.createTextNode(text.slice(pos)));
  return parent;
}
