// The mood picker: boards as cards; pick one, paint one again, more like this.

function render({ model, el }) {
  const body = frame(model, el, "moods");
  const media = mediaStore(model, () => refresh());
  const title = h("span", { class: "studio-title" });
  const working = h("span", { class: "studio-badge", "data-testid": "working" });
  const grid = h("div", { class: "mp-grid", "data-testid": "moods" });
  body.append(
    h("div", { class: "studio-toolbar" }, title, working, h("button", { "data-testid": "make-moods", onclick: () => act(model, "make", {}) }, "New boards")),
    grid,
  );

  function card(mood, chosen) {
    return h(
      "article",
      { class: `mp-card${chosen ? " chosen" : ""}`, "data-testid": "mood-card", "data-mood": mood.id, "data-chosen": chosen ? "yes" : "no" },
      h("div", { class: "mp-images" },
        mood.images.length
          ? mood.images.slice(0, 4).map((i) => h("img", { "data-testid": "mood-image", "data-media": `thumb:${i.sha}`, alt: mood.name }))
          : h("div", { class: "mp-blank" }, "no pictures yet"),
      ),
      h("header", { class: "mp-head" }, h("strong", {}, `${mood.number}. ${mood.name}`), chosen ? h("span", { class: "studio-badge ok", "data-testid": "chosen" }, "chosen") : null),
      h("div", { class: "mp-palette", "data-testid": "palette" }, mood.palette.map((c) => h("span", { class: "mp-swatch", title: c, style: { background: c } }))),
      h("div", { class: "mp-words" }, mood.keywords.slice(0, 8).join(" · ")),
      mood.description ? h("p", { class: "mp-description" }, mood.description) : null,
      h("div", { class: "mp-actions" },
        chosen ? null : h("button", { class: "studio-primary", "data-testid": "pick", onclick: () => act(model, "pick", { mood: mood.id }) }, "Pick"),
        h("button", { "data-testid": "repaint", onclick: () => act(model, "repaint", { mood: mood.id }) }, "Paint again"),
        h("button", { "data-testid": "more", onclick: () => act(model, "more", { mood: mood.id }) }, "More like this"),
      ),
    );
  }

  function refresh() {
    fillMedia(grid, media);
  }

  function paint() {
    const moods = model.get("moods");
    const chosen = model.get("chosen");
    title.textContent = `Moods · ${model.get("project_name")} · ${moods.length} boards`;
    working.textContent = model.get("working");
    working.hidden = !model.get("working");
    grid.replaceChildren(...(moods.length ? moods.map((m) => card(m, m.id === chosen)) : [h("div", { class: "studio-empty" }, "No mood boards yet: make some.")]));
    refresh();
  }

  for (const name of ["moods", "chosen", "working", "project_name"]) model.on(`change:${name}`, paint);
  paint();
  return () => media.dispose();
}

export default { render };
