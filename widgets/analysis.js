// The song's map, editable: the grid shifted, the tempo set or tapped, the bar's one moved,
// sections moved and renamed. Every change goes to the engine, which keeps it beside what was
// detected; the map drawn is always the corrected one it sends back.

function render({ model, el }) {
  const body = frame(model, el, "analysis");
  const media = mediaStore(model, () => attach());
  const audio = h("audio", { preload: "auto", "data-testid": "audio" });
  const canvas = h("canvas", { class: "an-canvas", height: 96 });
  const playhead = h("div", { class: "an-playhead" });
  const map = h("div", { class: "an-map", "data-testid": "song-map" }, canvas, playhead);
  const facts = h("div", { class: "an-facts", "data-testid": "facts" });
  const bpm = h("input", { type: "number", min: 20, max: 400, step: 0.1, "data-testid": "tempo-input", class: "an-bpm" });
  let taps = [];
  const tapCount = h("span", { "data-testid": "tap-count" });
  const play = h("button", { "data-testid": "play" }, "▶ Play");
  const sections = h("div", { class: "an-sections", "data-testid": "sections" });
  const keys = h("div", { class: "an-controls", tabindex: 0, "data-lm-suppress-shortcuts": "true" },
    play,
    h("label", {}, "Tempo ", bpm, " BPM "),
    h("button", { "data-testid": "tempo-set", onclick: () => act(model, "tempo", { bpm: parseFloat(bpm.value) }) }, "Set"),
    h("button", { "data-testid": "tempo-detected", title: "back to the detected tempo", onclick: () => act(model, "tempo", { bpm: null }) }, "Detected"),
    h("span", { class: "an-sep" }),
    h("button", { "data-testid": "tap", title: "tap along while it plays (or press T)", onclick: () => tap() }, "Tap"), tapCount,
    h("button", { "data-testid": "use-taps", onclick: () => { act(model, "taps", { taps }); taps = []; paintTaps(); } }, "Use taps"),
    h("span", { class: "an-sep" }),
    "Grid ",
    [-0.05, -0.01, 0.01, 0.05].map((s) => h("button", { "data-testid": `shift-${s > 0 ? "+" : ""}${Math.round(s * 1000)}`, onclick: () => act(model, "shift", { seconds: s }) }, `${s > 0 ? "+" : "−"}${Math.abs(Math.round(s * 1000))} ms`)),
    h("span", { class: "an-sep" }),
    "Bar's one ",
    h("button", { "data-testid": "downbeat-earlier", onclick: () => act(model, "downbeat", { beats: -1 }) }, "◀"),
    h("button", { "data-testid": "downbeat-later", onclick: () => act(model, "downbeat", { beats: 1 }) }, "▶"),
    h("span", { class: "an-sep" }),
    h("button", { "data-testid": "reset", title: "forget every correction", onclick: () => act(model, "reset") }, "Reset all"),
  );
  keys.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.key === "t" || e.key === "T") tap();
    else if (e.key === " ") { e.preventDefault(); toggle(); }
  });
  body.append(facts, map, keys, sections, audio);

  function attach() {
    const url = media.url(model.get("audio"), "audio");
    if (url && audio.getAttribute("src") !== url) audio.setAttribute("src", url);
  }
  function toggle() { audio.paused ? audio.play().catch(() => {}) : audio.pause(); }
  function tap() { if (!audio.paused) { taps.push(audio.currentTime); paintTaps(); } }
  function paintTaps() { tapCount.textContent = taps.length ? `${taps.length} taps` : ""; }
  play.addEventListener("click", toggle);
  audio.addEventListener("play", () => { play.textContent = "❚❚ Pause"; requestAnimationFrame(tick); });
  audio.addEventListener("pause", () => { play.textContent = "▶ Play"; });
  const pps = () => (map.clientWidth || 800) / Math.max(1, model.get("duration"));
  function tick() {
    playhead.style.transform = `translateX(${audio.currentTime * pps()}px)`;
    if (!audio.paused) requestAnimationFrame(tick);
  }
  canvas.addEventListener("pointerdown", (e) => {
    const box = map.getBoundingClientRect();
    audio.currentTime = (e.clientX - box.left) / pps();
    tick();
  });

  function paintSections() {
    const edits = new Map((model.get("corrections").sections || []).map((s) => [s.at, s]));
    const shown = model.get("sections");
    sections.replaceChildren(
      h("div", { class: "an-row an-head" }, h("span", {}, "section"), h("span", {}, "starts at (s)"), h("span", {}, "")),
      ...model.get("detected_sections").map((d, i) => {
        const now = shown[i] || d;
        const label = h("input", { "data-testid": "section-label", value: now.label });
        const start = h("input", { "data-testid": "section-start", type: "number", step: 0.01, min: 0, value: now.start.toFixed(2), disabled: i === 0 });
        const apply = () => act(model, "section", { at: d.start, label: label.value, move_to: i === 0 ? null : parseFloat(start.value) });
        label.addEventListener("change", apply);
        start.addEventListener("change", apply);
        return h("div", { class: "an-row", "data-testid": "section-row", "data-at": d.start }, label, start,
          edits.has(d.start) ? h("span", { class: "studio-badge warn" }, `was ${d.label} at ${d.start.toFixed(2)}`) : h("span", {}));
      }),
    );
  }

  function paint() {
    const c = model.get("corrections");
    const changed = c.tempo || c.offset || c.downbeat_shift || (c.taps || []).length || (c.sections || []).length;
    facts.replaceChildren(
      h("strong", {}, `Song map · ${model.get("project_name")}`),
      ` · ${model.get("tempo").toFixed(1)} BPM (detected ${model.get("detected_tempo").toFixed(1)}) · ${model.get("meter")}/4 · ${clock(model.get("duration"))}`,
      model.get("key") ? ` · ${model.get("key")}` : "",
      c.offset ? h("span", { class: "studio-badge warn", "data-testid": "offset" }, `grid ${c.offset > 0 ? "+" : ""}${Math.round(c.offset * 1000)} ms`) : null,
      changed ? h("span", { class: "studio-badge warn", "data-testid": "corrected" }, "corrected") : h("span", { class: "studio-badge" }, "as detected"),
    );
    if (document.activeElement !== bpm) bpm.value = model.get("tempo").toFixed(1);
    drawSongMap(canvas, el, model, 0, map.clientWidth || 800, pps());
    paintSections();
    attach();
  }

  for (const name of ["beats", "downbeats", "sections", "energy", "waveform", "tempo", "meter", "corrections", "detected_sections", "duration", "project_name"]) model.on(`change:${name}`, paint);
  model.on("change:audio", attach);
  new ResizeObserver(() => paint()).observe(map);
  paint();
  return () => { audio.pause(); media.dispose(); };
}

export default { render };
