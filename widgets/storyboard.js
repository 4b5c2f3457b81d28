// The storyboard: scene cards in song order. A card is rebuilt only when its scene changed, so
// typing in one card is never interrupted by news about another.

const VERDICTS = { approval: "approved", changes_requested: "asked for changes" };

/** Each reviewer's latest word on a scene: [{author, kind}] (approval or changes_requested). */
function signoffs(scene) {
  const latest = new Map();
  for (const c of scene.comments) if (VERDICTS[c.kind]) latest.set(c.author, c.kind);
  return [...latest].map(([author, kind]) => ({ author, kind }));
}

const STATE_NAMES = {
  draft: ["text to approve", "warn"],
  text_approved: ["waiting for a picture", ""],
  image_ready: ["picture to approve", "warn"],
  image_approved: ["picture approved", "ok"],
  clip_ready: ["clip to approve", "warn"],
  clip_approved: ["clip approved", "ok"],
};

function render({ model, el }) {
  const body = frame(model, el, "storyboard");
  const cards = new Map(); // scene id -> {key, el}
  const shown = new Map(); // scene id -> index of the image version shown
  const media = mediaStore(model, () => refreshMedia());
  const toolbar = h("div", { class: "studio-toolbar" });
  const grid = h("div", { class: "sb-grid", "data-testid": "storyboard" });
  body.append(toolbar, grid);

  function visible() {
    const section = model.get("section_filter");
    return model.get("scenes").filter((s) => !section || s.section === section);
  }

  const reviewing = () => model.get("role") === "reviewer";

  function paintToolbar() {
    const scenes = model.get("scenes");
    const section = model.get("section_filter");
    const filter = h(
      "select",
      {
        "data-testid": "section-filter",
        title: "show one section",
        onchange: (e) => {
          model.set("section_filter", e.target.value);
          model.save_changes();
        },
      },
      h("option", { value: "" }, "all sections"),
      model.get("sections").map((name) => h("option", { value: name, selected: name === section }, name)),
    );
    const ids = () => visible().map((s) => s.id);
    const title = h("span", { class: "studio-title" }, `Storyboard · ${model.get("project_name")} · ${scenes.length} scenes`);
    if (reviewing()) {
      const verdicts = scenes.flatMap(signoffs);
      const count = (kind) => verdicts.filter((v) => v.kind === kind).length;
      toolbar.replaceChildren(
        title,
        filter,
        h("span", { class: "studio-badge", "data-testid": "reviewer" }, `reviewing as ${model.get("viewer")}`),
        h("span", { class: "studio-badge ok", "data-testid": "approved-count" }, `${count("approval")} approved`),
        h("span", { class: "studio-badge warn", "data-testid": "changes-count" }, `${count("changes_requested")} changes asked`),
      );
      return;
    }
    toolbar.replaceChildren(
      title,
      filter,
      h("button", { "data-testid": "approve-all", title: "approve what waits for approval in the scenes shown", onclick: () => act(model, "approve_all", { scenes: ids() }) }, "Approve all shown"),
      h("button", { "data-testid": "generate-images", onclick: () => act(model, "generate", { what: "images", scenes: ids() }) }, "Paint shown"),
      h("button", { "data-testid": "generate-clips", onclick: () => act(model, "generate", { what: "clips", scenes: ids() }) }, "Make clips for shown"),
    );
  }

  function card(scene, generating) {
    const images = scene.images;
    let at = shown.get(scene.id);
    const chosenIndex = images.findIndex((t) => t.id === scene.image_take_id);
    if (at === undefined || at < 0 || at >= images.length) at = chosenIndex >= 0 ? chosenIndex : images.length - 1;
    shown.set(scene.id, at);
    const take = images[at];
    const clip = scene.clips.find((t) => t.id === scene.clip_take_id) || scene.clips[scene.clips.length - 1];
    const [stateName, stateTone] = STATE_NAMES[scene.state] || [scene.state, ""];

    const picture = h("div", { class: "sb-picture" });
    const img = h("img", { "data-testid": "thumb", alt: `scene ${scene.number}`, "data-media": take ? `thumb:${take.sha}` : null });
    const video = clip && clip.sha ? h("video", { "data-testid": "clip", muted: true, loop: true, playsinline: true, "data-media": `clip:${clip.sha}` }) : null;
    if (take) picture.append(img);
    else picture.append(h("div", { class: "sb-placeholder" }, generating ? "painting…" : "no picture yet"));
    if (video) {
      video.muted = true;
      picture.append(video);
      picture.addEventListener("mouseenter", () => { video.classList.add("sb-playing"); video.play().catch(() => {}); });
      picture.addEventListener("mouseleave", () => { video.classList.remove("sb-playing"); video.pause(); });
    }

    const step = (by) => {
      shown.set(scene.id, Math.min(images.length - 1, Math.max(0, at + by)));
      rebuild(scene.id);
    };
    const versions = images.length
      ? h(
          "div",
          { class: "sb-versions" },
          h("button", { "data-testid": "prev-version", disabled: at <= 0, onclick: () => step(-1), title: "older version" }, "‹"),
          h("span", { "data-testid": "version" }, `v${take.version} of ${images.length}`),
          h("button", { "data-testid": "next-version", disabled: at >= images.length - 1, onclick: () => step(1), title: "newer version" }, "›"),
          take.id === scene.image_take_id
            ? h("span", { class: "studio-badge ok", "data-testid": "chosen" }, "chosen")
            : reviewing()
            ? null
            : h("button", { "data-testid": "choose-image", onclick: () => act(model, "approve_image", { scene: scene.id, take: take.id }) }, "Choose"),
          take.stale ? h("span", { class: "studio-badge warn" }, "stale") : null,
        )
      : null;

    const field = (name, label, rows) =>
      reviewing()
        ? (scene[name] ? h("div", { class: "sb-field", "data-testid": name }, h("span", {}, label), scene[name]) : null)
        : h("label", { class: "sb-field" },
        h("span", {}, label),
        h("textarea", {
          "data-testid": name, rows,
          value: scene[name],
          onchange: (e) => act(model, "edit", { scene: scene.id, changes: { [name]: e.target.value } }),
        }),
      );

    const comment = h("input", { "data-testid": "comment-input", placeholder: reviewing() ? "what should change?…" : "comment…" });
    const next = [];
    if (reviewing()) {
      const verdict = (kind) => () => {
        act(model, "review", { scene: scene.id, verdict: kind, body: comment.value });
        comment.value = "";
      };
      next.push(h("button", { class: "studio-primary", "data-testid": "review-approve", onclick: verdict("approval") }, "Approve"));
      next.push(h("button", { "data-testid": "review-changes", title: "say what should change in the box below", onclick: verdict("changes_requested") }, "Request changes"));
    } else if (scene.state === "draft") next.push(h("button", { class: "studio-primary", "data-testid": "approve-text", onclick: () => act(model, "approve_text", { scene: scene.id }) }, "Approve text"));
    if (scene.state === "image_ready" && take) next.push(h("button", { class: "studio-primary", "data-testid": "approve-image", onclick: () => act(model, "approve_image", { scene: scene.id, take: take.id }) }, "Approve picture"));
    if (scene.state === "image_approved") next.push(h("button", { "data-testid": "make-clip", onclick: () => act(model, "generate", { what: "clips", scenes: [scene.id] }) }, "Make clip"));
    if (scene.state === "clip_ready" && clip) next.push(h("button", { class: "studio-primary", "data-testid": "approve-clip", onclick: () => act(model, "approve_clip", { scene: scene.id, take: clip.id }) }, "Approve clip"));
    if (!reviewing()) next.push(h("button", { "data-testid": "regenerate", title: "paint it again with a new seed; the old versions stay", onclick: () => act(model, "regenerate", { scene: scene.id }) }, "Regenerate"));

    const send = () => {
      if (!comment.value.trim()) return;
      act(model, "comment", { scene: scene.id, body: comment.value });
      comment.value = "";
    };
    comment.addEventListener("keydown", (e) => { if (e.key === "Enter") send(); });

    return h(
      "article",
      { class: "sb-card", "data-testid": "scene-card", "data-scene": scene.id, "data-number": scene.number, "data-state": scene.state },
      h("header", { class: "sb-head" },
        h("strong", {}, `${scene.number}`),
        h("span", { class: "sb-time" }, `${clock(scene.start)}–${clock(scene.end)}`),
        scene.section ? h("span", { class: "studio-badge" }, scene.section) : null,
        h("span", { class: `studio-badge ${stateTone}`, "data-testid": "state" }, stateName),
        scene.stale ? h("span", { class: "studio-badge warn", "data-testid": "stale", title: "the mood, a character or the scene changed since" }, "stale") : null,
        generating ? h("span", { class: "studio-badge", "data-testid": "generating" }, "working…") : null,
      ),
      h("div", { class: "sb-signoffs", "data-testid": "signoffs" },
        signoffs(scene).map((v) => h("span", { class: `studio-badge ${v.kind === "approval" ? "ok" : "warn"}`, "data-testid": "signoff" }, `${v.author} ${VERDICTS[v.kind]}`)),
      ),
      picture,
      versions,
      scene.lyric ? h("blockquote", { class: "sb-lyric" }, scene.lyric) : null,
      field("visual_intent", "shot", 2),
      field("prompt", "prompt", 3),
      h("div", { class: "sb-actions" }, next),
      h("div", { class: "sb-comments", "data-testid": "comments" },
        scene.comments.map((c) => h("div", { class: "sb-comment", "data-kind": c.kind }, h("b", {}, c.author), " ", VERDICTS[c.kind] ? `${VERDICTS[c.kind]}${c.body ? ": " : ""}` : "", c.body)),
        h("div", { class: "sb-comment-new" }, comment, h("button", { "data-testid": "comment-send", onclick: send }, "Comment")),
      ),
    );
  }

  function rebuild(id) {
    const scene = model.get("scenes").find((s) => s.id === id);
    const found = cards.get(id);
    if (!scene || !found) return;
    const next = card(scene, model.get("generating").includes(id));
    found.el.replaceWith(next);
    found.el = next;
    refreshMedia();
  }

  function paint() {
    paintToolbar();
    const generating = new Set(model.get("generating"));
    const scenes = visible();
    const keep = new Set(scenes.map((s) => s.id));
    for (const id of [...cards.keys()]) if (!keep.has(id)) cards.delete(id);
    const order = [];
    for (const scene of scenes) {
      const key = JSON.stringify(scene) + generating.has(scene.id) + (shown.get(scene.id) ?? "") + reviewing();
      let found = cards.get(scene.id);
      if (!found || found.key !== key) {
        const el = card(scene, generating.has(scene.id));
        if (found) found.el.replaceWith(el);
        found = { key, el };
        cards.set(scene.id, found);
      }
      order.push(found.el);
    }
    keepChildren(grid, order.length ? order : [h("div", { class: "studio-empty" }, "No scenes yet: ask the session for a storyboard.")]);
    refreshMedia();
  }

  function refreshMedia() {
    fillMedia(grid, media);
  }

  for (const name of ["scenes", "generating", "section_filter", "sections", "project_name", "role", "viewer"]) {
    model.on(`change:${name}`, paint);
  }
  paint();
  return () => media.dispose();
}

export default { render };
