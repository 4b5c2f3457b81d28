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
