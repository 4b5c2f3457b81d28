// The render monitor: jobs with progress, stage, speed and time left, a log tail, cancel and
// retry; renders that play in place and download.

const LIVE = new Set(["queued", "running"]);
const TONE = { succeeded: "ok", failed: "bad", cancelled: "warn", running: "", queued: "" };

function render({ model, el }) {
  const body = frame(model, el, "monitor");
  const playing = new Set(); // render ids whose player is open
  const media = mediaStore(model, () => paint());
  const jobsEl = h("div", { class: "mon-jobs", "data-testid": "jobs" });
  const rendersEl = h("div", { class: "mon-renders", "data-testid": "renders" });
  const title = h("span", { class: "studio-title" });
  body.append(h("div", { class: "studio-toolbar" }, title), jobsEl, rendersEl);

  // a job row's elements; what moves while the job runs is filled in by update()
  function jobRow(job) {
    const may = model.get("role") !== "reviewer"; // a reviewer's key cannot cancel or retry
    const live = LIVE.has(job.status);
    const row = h(
      "div",
      { class: "mon-job", "data-testid": "job", "data-job": job.id, "data-status": job.status },
      h("div", { class: "mon-job-head" },
        h("strong", {}, job.kind),
        job.project ? h("span", { class: "mon-project", "data-testid": "job-project" }, job.project) : null,
        h("span", { class: `studio-badge ${TONE[job.status] || ""}`, "data-testid": "job-status" }, job.status),
        job.stage ? h("span", { class: "mon-stage", "data-testid": "job-stage" }) : null,
        job.attempts > 1 ? h("span", { class: "studio-badge warn" }, `attempt ${job.attempts}`) : null,
        h("span", { class: "mon-spacer" }),
        live && may ? h("button", { "data-testid": "cancel", onclick: () => act(model, "cancel", { job: job.id }) }, "Cancel") : null,
        may && ["failed", "cancelled"].includes(job.status) ? h("button", { "data-testid": "retry", onclick: () => act(model, "retry", { job: job.id }) }, "Retry") : null,
      ),
      h("div", { class: "mon-bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 },
        h("div", { class: `mon-fill ${TONE[job.status] || ""}`, "data-testid": "progress" }),
      ),
      h("div", { class: "mon-message", "data-testid": "job-message" }),
      job.log.length > 1 ? h("details", { class: "mon-log" }, h("summary", {}, "log"), h("pre", { "data-testid": "log" })) : null,
    );
    update(row, job);
    return row;
  }

  // what decides a job row's elements; the row is rebuilt only when this changes
  function shape(job) {
    return JSON.stringify([job.status, job.kind, job.project, job.attempts, Boolean(job.stage), job.log.length > 1, model.get("role")]);
  }

  // what moves while a job runs, changed in place: a running job's row is the same nodes from
  // one progress event to the next, so a click on its Cancel is never lost to a repaint and an
  // open log stays open
  function update(row, job) {
    const pct = Math.round(job.progress * 100);
    row.querySelector(".mon-bar").setAttribute("aria-valuenow", pct);
    row.querySelector('[data-testid="progress"]').style.width = `${pct}%`;
    row.querySelector('[data-testid="job-message"]').textContent = job.error || job.message || (LIVE.has(job.status) ? "waiting…" : "");
    const stage = row.querySelector('[data-testid="job-stage"]');
    if (stage) stage.textContent = job.stage;
    const log = row.querySelector('[data-testid="log"]');
    if (log) log.textContent = job.log.join("\n");
  }

  function renderRow(r) {
    const open = playing.has(r.id);
    const url = open && r.sha ? media.url(r.sha, "video") : null;
    const what = `${r.aspect} ${r.resolution}p ${r.fps} fps ${r.container}` + (r.duration ? ` · ${clock(r.duration)}` : "");
    return h(
      "div",
      { class: "mon-render", "data-testid": "render", "data-render": r.id, "data-status": r.status },
      h("div", { class: "mon-job-head" },
        h("strong", {}, r.project || "render"),
        h("span", { class: `studio-badge ${TONE[r.status] || ""}` }, r.status),
        h("span", {}, what),
        h("span", { class: "mon-spacer" }),
        r.sha ? h("button", { "data-testid": "play", onclick: () => { open ? playing.delete(r.id) : playing.add(r.id); paint(); } }, open ? "Hide" : "Play") : null,
        url ? h("a", { "data-testid": "download", href: url, download: `${r.project || model.get("project_name")}-${r.id}.${r.container}` }, "Download") : null,
      ),
      open ? (url ? h("video", { "data-testid": "player", src: url, controls: true, class: "mon-player" }) : h("div", { class: "studio-empty" }, "loading the video…")) : null,
    );
  }

  function paint() {
    const jobs = model.get("jobs");
    const renders = model.get("renders");
    const live = jobs.filter((j) => LIVE.has(j.status)).length;
    title.textContent = `${model.get("project_name") ? `Jobs · ${model.get("project_name")}` : "Every project"} · ${live} running · ${renders.length} render(s)`;
    const known = new Map([...jobsEl.querySelectorAll("[data-job]")].map((n) => [n.getAttribute("data-job"), n]));
    const rows = jobs.map((job) => {
      const key = shape(job);
      const old = known.get(job.id);
      if (old && old.dataset.shape === key) {
        update(old, job);
        return old;
      }
      const made = jobRow(job);
      made.dataset.shape = key;
      return made;
    });
    keepChildren(jobsEl, rows.length ? rows : [h("div", { class: "studio-empty" }, "No jobs yet.")]);
    // keep an open player as it is: rebuilding it would restart the video
    const players = new Map([...rendersEl.querySelectorAll("[data-render]")].map((n) => [n.getAttribute("data-render"), n]));
    keepChildren(rendersEl, renders.map((r) => {
      const old = players.get(r.id);
      if (old && old.querySelector("video") && playing.has(r.id) && old.getAttribute("data-status") === r.status) return old;
      return renderRow(r);
    }));
  }

  for (const name of ["jobs", "renders", "project_name", "role"]) model.on(`change:${name}`, paint);
  paint();
  return () => media.dispose();
}

export default { render };
