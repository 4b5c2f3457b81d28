// What every studio widget's front end shares. Each widget's module is this file followed by
// its own, so these helpers are plain functions in the module's scope (no imports: anywidget
// loads a module from one string).

/** An element: h("div", {class: "x", "data-testid": "y", onclick: f}, child, "text", ...). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "style" && typeof value === "object") {
      Object.assign(el.style, value);
    } else if (key === "value") {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Send an action to the widget's Python side. */
function act(model, action, args) {
  model.send({ action, ...(args || {}) });
}

/** Seconds as m:ss.s */
function clock(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(1).padStart(4, "0")}`;
}

/** The studio frame around a widget: a body, a busy mark and the error line under it. */
function frame(model, el, name) {
  el.classList.add("studio-widget", `studio-${name}`);
  // the widget's model, for tests and the browser's console: what any script on the page can
  // reach anyway, so the Python side and the engine check every message as if forged
  el.studioModel = model;
  const body = h("div", { class: "studio-body" });
  const busy = h("div", { class: "studio-busy", "data-testid": "busy", title: "working" });
  const error = h("div", { class: "studio-error", "data-testid": "error", role: "alert" });
  el.replaceChildren(busy, body, error);
  const paint = () => {
    busy.hidden = !model.get("busy");
    const message = model.get("error");
    error.replaceChildren();
    error.hidden = !message;
    if (message) {
      error.append(
        h("span", {}, message),
        h("button", { class: "studio-link", onclick: () => act(model, "dismiss") }, "dismiss"),
      );
    }
  };
  model.on("change:busy", paint);
  model.on("change:error", paint);
  paint();
  return body;
}

/**
 * Pictures and clips by sha256, fetched through the widget channel as binary buffers and kept
 * as object URLs. `url(sha, kind)` answers at once (null until it arrives, then `onArrive`
 * runs); requests made together go in one message.
 */
function mediaStore(model, onArrive) {
  const urls = new Map();
  const asked = new Set();
  let queue = [];
  let timer = null;
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.type !== "media") return;
    msg.items.forEach((item, i) => {
      const blob = new Blob([buffers[i]], { type: item.type });
      urls.set(`${item.kind}:${item.sha}`, URL.createObjectURL(blob));
    });
    onArrive();
  });
  const flush = () => {
    timer = null;
    const items = queue;
    queue = [];
    for (let i = 0; i < items.length; i += 100) {
      act(model, "media", { items: items.slice(i, i + 100) });
    }
  };
  return {
    url(sha, kind) {
      if (!sha) return null;
      const key = `${kind}:${sha}`;
      const found = urls.get(key);
      if (found) return found;
      if (!asked.has(key)) {
        asked.add(key);
        queue.push({ sha, kind });
        if (timer === null) timer = setTimeout(flush, 0);
      }
      return null;
    },
    dispose() {
      for (const url of urls.values()) URL.revokeObjectURL(url);
      urls.clear();
    },
  };
}

const SECTION_COLOURS = ["#5c6bc0", "#26a69a", "#ef5350", "#ab47bc", "#ffa726", "#8d6e63", "#42a5f5"];

/**
 * The song's map on a canvas 96 px high: section bands, the waveform, the energy curve and the
 * beat grid (downbeats stronger), for the stretch of the song from `left` px, `width` px wide,
 * at `pps` pixels a second. Only what is in view is drawn, so any zoom costs the same.
 */
function drawSongMap(canvas, el, model, left, width, pps) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(96 * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.left = `${left}px`;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  const style = getComputedStyle(el);
  const fg = style.getPropertyValue("--studio-fg").trim() || "#222";
  const dim = style.getPropertyValue("--studio-fg-dim").trim() || "#888";
  const accent = style.getPropertyValue("--studio-accent").trim() || "#1976d2";
  const from = left / pps, to = (left + width) / pps;
  const sx = (t) => t * pps - left;
  g.clearRect(0, 0, width, 96);
  model.get("sections").forEach((s, i) => {
    if (s.end < from || s.start > to) return;
    g.fillStyle = SECTION_COLOURS[i % SECTION_COLOURS.length] + "33";
    g.fillRect(sx(s.start), 0, (s.end - s.start) * pps, 96);
    g.fillStyle = dim;
    g.font = "11px sans-serif";
    g.fillText(s.label, sx(s.start) + 4, 12);
  });
  const wave = model.get("waveform");
  if (wave.values && wave.values.length) {
    g.fillStyle = dim;
    const first = Math.max(0, Math.floor(from / wave.hop)), last = Math.min(wave.values.length, Math.ceil(to / wave.hop));
    const w = Math.max(1, wave.hop * pps - 0.5);
    for (let i = first; i < last; i++) {
      const v = wave.values[i] * 34;
      g.fillRect(sx(i * wave.hop), 58 - v, w, 2 * v);
    }
  }
  const energy = model.get("energy");
  if (energy.values && energy.values.length) {
    g.strokeStyle = accent;
    g.lineWidth = 1.5;
    g.beginPath();
    const first = Math.max(0, Math.floor(from / energy.hop) - 1), last = Math.min(energy.values.length, Math.ceil(to / energy.hop) + 1);
    for (let i = first; i < last; i++) {
      const px = sx(i * energy.hop), py = 92 - energy.values[i] * 70;
      i === first ? g.moveTo(px, py) : g.lineTo(px, py);
    }
    g.stroke();
  }
  const down = new Set(model.get("downbeats").map((t) => t.toFixed(3)));
  for (const b of model.get("beats")) {
    if (b < from || b > to) continue;
    const strong = down.has(b.toFixed(3));
    g.fillStyle = strong ? fg : dim;
    g.globalAlpha = strong ? 0.7 : 0.3;
    g.fillRect(Math.round(sx(b)), strong ? 16 : 70, strong ? 1.5 : 1, strong ? 80 : 26);
  }
  g.globalAlpha = 1;
}

/** Point every `[data-media="kind:sha"]` element under `root` at its media once it arrived. */
function fillMedia(root, media) {
  for (const node of root.querySelectorAll("[data-media]")) {
    const [kind, sha] = node.getAttribute("data-media").split(":");
    const url = media.url(sha, kind);
    if (url && node.getAttribute("src") !== url) node.setAttribute("src", url);
  }
}

/** Make `parent`'s children exactly `nodes`, in order, touching the DOM only where they differ
 * (a node moved out and back in loses a click that was on its way to it). */
function keepChildren(parent, nodes) {
  const now = parent.children;
  if (now.length === nodes.length && nodes.every((n, i) => now[i] === n)) return;
  parent.replaceChildren(...nodes);
}
