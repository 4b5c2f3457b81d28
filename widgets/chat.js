// The chat session: messages, the answer being worked out, tool cards, suggestion chips, stop.

const TOOL_NAMES = {
  write_brief: "Brief", propose_concepts: "Concepts", make_moods: "Moods",
  make_characters: "Characters", build_storyboard: "Storyboard", revise_scenes: "Scenes revised",
  retime: "Timing", make_everything: "Takes", estimate_cost: "Cost estimate", render: "Render",
};

function render({ model, el }) {
  const body = frame(model, el, "chat");
  const log = h("div", { class: "chat-log", "data-testid": "messages" });
  const status = h("div", { class: "chat-status", "data-testid": "working" });
  const chips = h("div", { class: "chat-chips", "data-testid": "suggestions" });
  const input = h("textarea", { class: "chat-input", "data-testid": "message-input", rows: 2, placeholder: "Tell the studio what you want… (Enter sends, Shift+Enter for a new line)" });
  const send = h("button", { class: "studio-primary", "data-testid": "send" }, "Send");
  const stop = h("button", { "data-testid": "stop", title: "stop answering" }, "Stop");
  const revealed = new Set(); // assistant turns already shown in full
  let first = true;

  const say = (text) => {
    if (!text.trim()) return;
    act(model, "say", { text });
    input.value = "";
  };
  send.addEventListener("click", () => say(input.value));
  stop.addEventListener("click", () => act(model, "stop"));
  input.addEventListener("keydown", (e) => {
    e.stopPropagation(); // JupyterLab's shortcuts must not eat the typing
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      say(input.value);
    }
  });
  body.append(log, status, chips, h("div", { class: "chat-compose" }, input, send, stop));

  function toolCard(tool) {
    const facts = Object.entries(tool.facts).map(([k, v]) => h("span", { class: "studio-badge" }, `${k.replace(/_/g, " ")}: ${v}`));
    return h(
      "div",
      { class: `chat-tool ${tool.status}`, "data-testid": "tool-card", "data-tool": tool.name },
      h("div", { class: "chat-tool-head" },
        h("strong", {}, TOOL_NAMES[tool.name] || tool.name),
        h("span", { class: `studio-badge ${tool.status === "failed" ? "bad" : tool.status === "queued" ? "" : "ok"}` }, tool.status),
      ),
      tool.summary ? h("div", {}, tool.summary) : null,
      tool.error ? h("div", { class: "chat-tool-error" }, tool.error) : null,
      facts.length ? h("div", { class: "chat-facts" }, facts) : null,
    );
  }

  function bubble(message) {
    const text = h("div", { class: "chat-text" });
    const node = h("div", { class: `chat-msg ${message.role}`, "data-testid": "message", "data-role": message.role }, text, message.tools.map(toolCard));
    // a new answer is typed out as it arrives; history is shown at once
    if (message.role === "assistant" && !first && !revealed.has(message.id)) {
      const words = message.text.split(/(\s+)/);
      let i = 0;
      const step = () => {
        i = Math.min(words.length, i + 3);
        text.textContent = words.slice(0, i).join("");
        if (i < words.length) requestAnimationFrame(step);
      };
      step();
    } else {
      text.textContent = message.text;
    }
    revealed.add(message.id);
    return node;
  }

  function paint() {
    const messages = model.get("messages");
    const shown = new Map([...log.children].map((n) => [n.getAttribute("data-id"), n]));
    log.replaceChildren(
      ...messages.map((m) => {
        const found = shown.get(m.id);
        if (found) return found;
        const made = bubble(m);
        made.setAttribute("data-id", m.id);
        return made;
      }),
    );
    if (!messages.length) log.append(h("div", { class: "studio-empty" }, "Say what the video should be: a brief in a line is enough."));
    first = false;
    const working = model.get("working");
    status.replaceChildren();
    if (working && working.job) {
      const what = working.stage === "tool" ? `working: ${working.message}` : working.stage === "thinking" ? "thinking…" : working.message || "on it…";
      status.append(h("span", { class: "chat-dots" }), what);
    }
    stop.hidden = !(working && working.job);
    chips.replaceChildren(...model.get("suggestions").map((s) => h("button", { class: "chat-chip", "data-testid": "chip", onclick: () => say(s) }, s)));
    log.scrollTop = log.scrollHeight;
  }

  for (const name of ["messages", "working", "suggestions"]) model.on(`change:${name}`, paint);
  paint();
}

export default { render };
