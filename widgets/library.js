// The library: every project's characters, moods, pictures, clips, music and renders; search;
// a picture picked as a character's reference; an image uploaded as one.

const KIND_NAMES = { "": "everything", character: "characters", mood: "moods", image: "pictures", clip: "clips", audio: "music", render: "renders" };
const PREVIEW = { image: "thumb", mood: "thumb", character: "thumb", clip: "clip", audio: "audio", render: "video" };

function render({ model, el }) {
  const body = frame(model, el, "library");
  const opened = new Set(); // items whose media was asked for (clips, music, renders)
  const media = mediaStore(model, () => refresh());
  const search = h("input", { type: "search", "data-testid": "search", placeholder: "search names, prompts, projects…" });
  const kind = h("select", { "data-testid": "kind" }, Object.entries(KIND_NAMES).map(([k, v]) => h("option", { value: k }, v)));
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { model.set("query", search.value); model.save_changes(); }, 250);
  });
  search.addEventListener("keydown", (e) => e.stopPropagation());
  kind.addEventListener("change", () => { model.set("kind", kind.value); model.save_changes(); });
  const count = h("span", { class: "lib-count", "data-testid": "count" });
  const upload = h("div", { class: "lib-upload", "data-testid": "upload" });
  const grid = h("div", { class: "lib-grid", "data-testid": "items" });
  body.append(h("div", { class: "studio-toolbar" }, h("span", { class: "studio-title" }, "Library"), search, kind, count), upload, grid);

  function characterSelect(testid, withNew) {
    return h("select", { "data-testid": testid },
      withNew ? h("option", { value: "" }, "a new character or product…") : null,
      model.get("characters").map((c) => h("option", { value: c.id }, c.name)));
  }

  function paintUpload() {
    upload.replaceChildren();
    if (!model.get("project_id")) return;
    const file = h("input", { type: "file", accept: "image/png,image/jpeg,image/webp", "data-testid": "upload-file" });
    const who = characterSelect("upload-character", true);
    const name = h("input", { "data-testid": "upload-name", placeholder: "name (for a new one)" });
    name.addEventListener("keydown", (e) => e.stopPropagation());
    const send = h("button", { class: "studio-primary", "data-testid": "upload-send", onclick: async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      const data = await chosen.arrayBuffer();
      model.send({ action: "upload", character: who.value, name: name.value }, undefined, [data]);
      file.value = "";
    } }, "Upload reference");
    upload.append(h("strong", {}, `References for ${model.get("project_name")}: `), file, who, name, send);
  }

  function itemCard(item) {
    const kindOf = PREVIEW[item.kind];
    const key = `${kindOf}:${item.sha256}`;
    let look;
    if (kindOf === "thumb") look = h("img", { class: "lib-look", "data-media": key, alt: item.name });
    else if (opened.has(item.id)) look = kindOf === "audio"
      ? h("audio", { class: "lib-look", controls: true, "data-media": key })
      : h("video", { class: "lib-look", controls: true, muted: kindOf === "clip", "data-media": key });
    else look = h("button", { class: "lib-look lib-open", "data-testid": "open", onclick: () => { opened.add(item.id); paint(); } }, kindOf === "audio" ? "♪ listen" : "▶ play");
    const pick = model.get("project_id") && ["image", "mood", "character"].includes(item.kind) && item.sha256 && model.get("characters").length
      ? h("div", { class: "lib-pick" }, characterSelect("pick-character", false),
          h("button", { "data-testid": "pick", title: "add this picture to the character's references", onclick: (e) => {
            const select = e.target.parentElement.querySelector("select");
            act(model, "pick", { item: item.id, character: select.value });
          } }, "Use as reference"))
      : null;
    return h("article", { class: "lib-item", "data-testid": "item", "data-kind": item.kind, "data-item": item.id },
      look,
      h("div", { class: "lib-name" }, h("strong", {}, item.name), " ", h("span", { class: "studio-badge" }, KIND_NAMES[item.kind] || item.kind)),
      h("div", { class: "lib-project" }, item.project_name),
      item.palette ? h("div", { class: "mp-palette" }, item.palette.slice(0, 6).map((c) => h("span", { class: "lib-swatch", style: { background: c } }))) : null,
      item.references ? h("div", { class: "lib-project", "data-testid": "references" }, `${item.references.length} reference${item.references.length === 1 ? "" : "s"}`) : null,
      pick,
    );
  }

  function refresh() {
    fillMedia(grid, media);
  }

  function paint() {
    const items = model.get("items");
    if (document.activeElement !== search) search.value = model.get("query");
    kind.value = model.get("kind");
    count.textContent = `${items.length} item${items.length === 1 ? "" : "s"}`;
    grid.replaceChildren(...(items.length ? items.map(itemCard) : [h("div", { class: "studio-empty" }, "Nothing here yet.")]));
    refresh();
  }

  for (const name of ["items", "query", "kind"]) model.on(`change:${name}`, paint);
  model.on("change:characters", () => { paintUpload(); paint(); });
  paintUpload();
  paint();
  return () => media.dispose();
}

export default { render };
