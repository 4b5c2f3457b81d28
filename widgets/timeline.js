// The timeline: waveform, beat grid, sections and energy drawn on one canvas (only the part in
// view, so any zoom is cheap), clips as thumbnail blocks, cuts dragged onto the beats, clips
// dragged to reorder, a transition picker at each cut, a playhead that plays the song with the
// picture under it, zoom and scroll, and keys of its own (JupyterLab does not see them).

function render({ model, el }) {
  const body = frame(model, el, "timeline");
  let pps = 40; // pixels per second
  let selected = null; // clip id
  let drag = null;
  const media = mediaStore(model, () => { paintClips(); attachAudio(); showTime(); });

  const audio = h("audio", { preload: "auto", "data-testid": "audio" });
  const time = h("span", { class: "tl-time", "data-testid": "time" }, "0:00.0");
  const play = h("button", { "data-testid": "play", title: "play / pause (space)" }, "▶");
  const bar = h("div", { class: "studio-toolbar" },
    h("span", { class: "studio-title", "data-testid": "title" }),
    play, time,
    h("button", { "data-testid": "zoom-out", title: "zoom out (-)", onclick: () => zoom(1 / 1.5) }, "−"),
    h("button", { "data-testid": "zoom-in", title: "zoom in (+)", onclick: () => zoom(1.5) }, "+"),
    h("button", { "data-testid": "split", title: "split the clip at the playhead (on the nearest beat)", onclick: () => act(model, "split", { at: position }) }, "Split"),
    h("button", { "data-testid": "undo", title: "undo (Ctrl+Z)", onclick: () => act(model, "undo") }, "Undo"),
    h("button", { "data-testid": "redo", title: "redo (Ctrl+Shift+Z)", onclick: () => act(model, "redo") }, "Redo"),
    h("button", { "data-testid": "build", title: "lay the clips out again from the storyboard (keeps your edits)", onclick: () => act(model, "build") }, "Rebuild"),
  );
  const preview = h("img", { class: "tl-preview", "data-testid": "preview", alt: "" });
  const canvas = h("canvas", { class: "tl-canvas", height: 96 });
  const track = h("div", { class: "tl-track", "data-testid": "track" });
  const playhead = h("div", { class: "tl-playhead", "data-testid": "playhead" });
  const ghost = h("div", { class: "tl-ghost", hidden: true });
  const lane = h("div", { class: "tl-lane" }, canvas, track, playhead, ghost);
  const scroller = h("div", { class: "tl-scroll", "data-testid": "timeline", tabindex: 0, "data-lm-suppress-shortcuts": "true" }, lane);
  const panel = h("div", { class: "tl-panel", "data-testid": "panel" });
  const empty = h("div", { class: "studio-empty" }, "No timeline yet. ", h("button", { class: "studio-primary", "data-testid": "build-first", onclick: () => act(model, "build") }, "Build it from the storyboard"));
  body.append(bar, h("div", { class: "tl-main" }, preview, h("div", { class: "tl-side" }, scroller, panel)), empty, audio);

  const x = (t) => t * pps;
  const at = (px) => px / pps;
  const clips = () => model.get("clips");

  function nearest(grid, t) {
    let best = t, gap = Infinity;
    for (const g of grid) { const d = Math.abs(g - t); if (d < gap) { gap = d; best = g; } if (g > t + gap) break; }
    return best;
  }

  // ---- drawing -------------------------------------------------------------------------------

  function paintCanvas() {
    drawSongMap(canvas, el, model, scroller.scrollLeft, scroller.clientWidth || 800, pps);
  }

  function paintClips() {
    const list = clips();
    const width = x(model.get("duration"));
    lane.style.width = `${width}px`;
    track.replaceChildren();
    list.forEach((c, i) => {
      const url = media.url(c.thumb, "thumb");
      const block = h("div", {
        class: `tl-clip${c.id === selected ? " selected" : ""}`, "data-testid": "clip", "data-clip": c.id, "data-number": c.number,
        title: `clip ${c.number}: ${clock(c.start)}–${clock(c.end)}`,
        style: { left: `${x(c.start)}px`, width: `${x(c.end - c.start)}px`, backgroundImage: url ? `url(${url})` : "none" },
        onpointerdown: (e) => startMove(e, c),
      }, h("span", { class: "tl-number" }, c.number));
      track.append(block);
      if (i > 0) {
        const t = c.transition.kind;
        track.append(
          h("div", { class: "tl-cut", "data-testid": "cut", "data-index": i, style: { left: `${x(c.start) - 4}px` }, title: "drag to move the cut (snaps to beats; Shift: bars; Alt: free)", onpointerdown: (e) => startCut(e, i) }),
          h("button", { class: `tl-transition${t === "cut" ? "" : " soft"}`, "data-testid": "transition", "data-clip": c.id, style: { left: `${x(c.start) - 9}px` }, title: `transition: ${t}`, onclick: () => pick(c) }, t === "cut" ? "|" : "◆"),
        );
      }
    });
    paintPanel();
  }

  function paintPanel() {
    const c = clips().find((k) => k.id === selected);
    panel.replaceChildren();
    if (!c) { panel.append(h("span", { class: "tl-hint" }, "Click a clip to select it; drag a cut to move it onto a beat; drag a clip to reorder.")); return; }
    panel.append(
      h("strong", {}, `Clip ${c.number}`), ` ${clock(c.start)}–${clock(c.end)} · in ${c.in_point.toFixed(2)} s · `,
      h("button", { "data-testid": "slip-earlier", title: "show the picture one beat earlier", onclick: () => act(model, "slip", { clip: c.id, beats: -1 }) }, "◀ slip"),
      h("button", { "data-testid": "slip-later", title: "show the picture one beat later", onclick: () => act(model, "slip", { clip: c.id, beats: 1 }) }, "slip ▶"),
    );
  }

  function pick(c) {
    const kinds = model.get("transitions");
    const kind = h("select", { "data-testid": "transition-kind" }, kinds.map((k) => h("option", { value: k, selected: k === c.transition.kind }, k.replace(/_/g, " "))));
    const length = h("input", { "data-testid": "transition-length", type: "number", min: 0, max: 4, step: 0.25, value: c.transition.duration || 0.5 });
    panel.replaceChildren(
      h("strong", {}, `Into clip ${c.number}: `), kind, " ", length, " s ",
      h("button", { class: "studio-primary", "data-testid": "transition-apply", onclick: () => act(model, "transition", { clip: c.id, kind: kind.value, duration: parseFloat(length.value) }) }, "Apply"),
      h("button", { onclick: paintPanel }, "Close"),
    );
  }

  // ---- dragging ------------------------------------------------------------------------------

  function laneTime(e) {
    const box = lane.getBoundingClientRect();
    return Math.max(0, Math.min(model.get("duration"), at(e.clientX - box.left)));
  }

  function startCut(e, index) {
    e.preventDefault();
    e.stopPropagation();
    scroller.focus();
    drag = { kind: "cut", index, to: null };
    e.target.setPointerCapture(e.pointerId);
    const move = (ev) => {
      const t = laneTime(ev);
      const grid = ev.altKey ? null : ev.shiftKey ? model.get("downbeats") : model.get("beats");
      drag.to = grid ? nearest(grid, t) : t;
      drag.snap = ev.altKey ? "none" : ev.shiftKey ? "downbeat" : "beat";
      ghost.hidden = false;
      ghost.style.transform = `translateX(${x(drag.to)}px)`;
    };
    const up = (ev) => {
      e.target.removeEventListener("pointermove", move);
      e.target.removeEventListener("pointerup", up);
      ghost.hidden = true;
      if (drag && drag.to !== null) act(model, "move_cut", { index, to: drag.to, snap: drag.snap });
      drag = null;
    };
    e.target.addEventListener("pointermove", move);
    e.target.addEventListener("pointerup", up);
  }

  function startMove(e, c) {
    scroller.focus();
    const startX = e.clientX;
    const block = e.currentTarget;
    let moved = false;
    block.setPointerCapture(e.pointerId);
    const move = (ev) => {
      const dx = ev.clientX - startX;
      if (Math.abs(dx) > 6) moved = true;
      if (moved) { block.classList.add("dragging"); block.style.transform = `translateX(${dx}px)`; }
    };
    const up = (ev) => {
      block.removeEventListener("pointermove", move);
      block.removeEventListener("pointerup", up);
      block.classList.remove("dragging");
      block.style.transform = "";
      if (!moved) { selected = c.id; seek(c.start); paintClips(); return; }
      const t = laneTime(ev);
      const target = clips().findIndex((k) => t >= k.start && t < k.end);
      if (target >= 0 && target !== c.number - 1) act(model, "reorder", { clip: c.id, index: target });
    };
    block.addEventListener("pointermove", move);
    block.addEventListener("pointerup", up);
  }

  // ---- playing -------------------------------------------------------------------------------

  function attachAudio() {
    const url = media.url(model.get("audio"), "audio");
    if (url && audio.getAttribute("src") !== url) audio.setAttribute("src", url);
  }

  let position = 0; // the playhead, in song seconds (the audio may not be loaded yet)

  function seek(t) {
    position = Math.max(0, Math.min(model.get("duration"), t));
    if (audio.readyState > 0) audio.currentTime = position;
    showTime();
  }

  function showTime() {
    if (!audio.paused) position = audio.currentTime;
    const t = position;
    playhead.style.transform = `translateX(${x(t)}px)`;
    time.textContent = clock(t);
    const c = clips().find((k) => t >= k.start && t < k.end) || clips()[clips().length - 1];
    const url = c ? media.url(c.thumb, "thumb") : null;
    if (url && preview.getAttribute("src") !== url) preview.setAttribute("src", url);
    preview.setAttribute("data-clip", c ? c.id : "");
  }

  function toggle() {
    if (audio.paused) {
      if (Math.abs(audio.currentTime - position) > 0.05) audio.currentTime = position;
      audio.play().catch(() => {});
    } else audio.pause();
  }

  let frameRequest = null;
  const tick = () => {
    showTime();
    const px = x(position);
    if (px > scroller.scrollLeft + scroller.clientWidth - 40) scroller.scrollLeft = px - 40;
    frameRequest = audio.paused ? null : requestAnimationFrame(tick);
  };
  audio.addEventListener("play", () => { play.textContent = "❚❚"; if (!frameRequest) frameRequest = requestAnimationFrame(tick); });
  audio.addEventListener("pause", () => { play.textContent = "▶"; showTime(); });
  play.addEventListener("click", toggle);
  canvas.addEventListener("pointerdown", (e) => seek(laneTime(e)));

  function zoom(by) {
    const centre = at(scroller.scrollLeft + scroller.clientWidth / 2);
    pps = Math.max(2, Math.min(800, pps * by));
    paintClips();
    scroller.scrollLeft = x(centre) - scroller.clientWidth / 2;
    paintCanvas();
    showTime();
  }

  scroller.addEventListener("scroll", paintCanvas);
  scroller.addEventListener("wheel", (e) => {
    if (!e.ctrlKey && !e.metaKey) return;
    e.preventDefault();
    zoom(e.deltaY < 0 ? 1.25 : 0.8);
  }, { passive: false });
  scroller.addEventListener("keydown", (e) => {
    e.stopPropagation(); // the timeline's keys are its own, not JupyterLab's
    const mod = e.ctrlKey || e.metaKey;
    const grid = e.shiftKey ? model.get("downbeats") : model.get("beats");
    if (e.key === " ") { e.preventDefault(); toggle(); }
    else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      const t = position;
      const next = e.key === "ArrowRight" ? grid.find((b) => b > t + 1e-3) : [...grid].reverse().find((b) => b < t - 1e-3);
      if (next !== undefined) seek(next);
    } else if (mod && (e.key === "z" || e.key === "Z")) { e.preventDefault(); act(model, e.shiftKey ? "redo" : "undo"); }
    else if (mod && e.key === "y") { e.preventDefault(); act(model, "redo"); }
    else if (e.key === "+" || e.key === "=") zoom(1.5);
    else if (e.key === "-") zoom(1 / 1.5);
  });

  function paint() {
    const built = model.get("built");
    bar.hidden = !built;
    empty.hidden = built;
    body.querySelector(".tl-main").hidden = !built;
    bar.querySelector('[data-testid="title"]').textContent = `Timeline · ${model.get("project_name")} · ${clips().length} clips · ${clock(model.get("duration"))}`;
    bar.querySelector('[data-testid="undo"]').disabled = !model.get("can_undo");
    bar.querySelector('[data-testid="redo"]').disabled = !model.get("can_redo");
    if (built && !pps_set && scroller.clientWidth) { pps = Math.max(4, scroller.clientWidth / Math.max(1, model.get("duration"))); pps_set = true; }
    paintClips();
    paintCanvas();
    attachAudio();
    showTime();
  }
  let pps_set = false;

  for (const name of ["clips", "built", "duration", "beats", "sections", "energy", "waveform", "can_undo", "can_redo", "project_name"]) model.on(`change:${name}`, paint);
  model.on("change:audio", attachAudio);
  new ResizeObserver(() => { if (!pps_set) paint(); else paintCanvas(); }).observe(scroller);
  paint();
  return () => { audio.pause(); media.dispose(); };
}

export default { render };
