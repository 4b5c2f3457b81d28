// The Studio app's header: the five steps, each with where it stands; a click opens its tab.

function render({ model, el }) {
  const body = frame(model, el, "studio");
  const row = h("ol", { class: "st-steps", "data-testid": "steps" });
  body.append(h("div", { class: "studio-title st-title" }), row);
  function paint() {
    body.querySelector(".st-title").textContent = `Studio · ${model.get("project_name")}`;
    const current = model.get("current");
    row.replaceChildren(...model.get("steps").map((s, i) =>
      h("li", { class: `st-step${s.done ? " done" : ""}${i === current ? " current" : ""}`, "data-testid": "step", "data-step": s.name, "data-done": s.done ? "yes" : "no", onclick: () => act(model, "open", { step: i }) },
        h("span", { class: "st-mark" }, s.done ? "✓" : String(i + 1)),
        h("span", { class: "st-name" }, s.name),
        h("span", { class: "st-say" }, s.say)),
    ));
  }
  for (const name of ["steps", "current", "project_name"]) model.on(`change:${name}`, paint);
  paint();
}

export default { render };
