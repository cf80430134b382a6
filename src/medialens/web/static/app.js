// The playground: pick media and tasks, run them through the native API, draw what comes back.
// Image tasks answer at once (POST /v1/analyze/{task}); video tasks run as jobs (POST /v1/jobs) whose progress is
// followed live over server-sent events (GET /v1/jobs/{id}/events, read with fetch so the auth header goes along).
"use strict";

const IMAGE_EXT = /\.(jpe?g|png|bmp|webp|gif|tiff?)(\?|$)/i;
const VIDEO_EXT = /\.(mp4|mkv|avi|mov|webm|m4v|mpe?g|flv|wmv|ts)(\?|$)/i;
const AUDIO_EXT = /\.(wav|flac|ogg|mp3|m4a|opus|aac)(\?|$)/i;
const DEFAULT_TASKS = new Set(["image_quality", "image_tags", "face_attributes", "video_quality", "video_classify", "transcribe"]);

const state = { tasks: [], file: null, url: "", kind: null, objectUrl: null, started: 0 };

// --- connecting --------------------------------------------------------------------------------------------------
async function connect() {
  $("#error").textContent = "";
  try {
    const { tasks } = await api("/v1/tasks");
    state.tasks = tasks;
    $("#auth-status").textContent = `connected · ${tasks.length} tasks`;
    $("#auth-status").className = "ok";
  } catch (err) {
    state.tasks = [];
    $("#auth-status").textContent = err.status === 401 ? "wrong or missing AppId:Token" : err.message;
    $("#auth-status").className = "error";
  }
  renderTaskChoices();
}

$("#auth").addEventListener("submit", (e) => {
  e.preventDefault();
  Store.set("credentials", $("#credentials").value.trim());
  connect();
});

// --- choosing media ----------------------------------------------------------------------------------------------
function kindOf(name, mime = "") {
  if (mime.startsWith("video/") || VIDEO_EXT.test(name)) return "video";
  if (mime.startsWith("audio/") || AUDIO_EXT.test(name)) return "audio";
  if (mime.startsWith("image/") || IMAGE_EXT.test(name)) return "image";
  return "image";
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  state.url = "";
  $("#url").value = "";
  state.kind = kindOf(file.name, file.type);
  if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
  state.objectUrl = URL.createObjectURL(file);
  $("#media-info").textContent = `${file.name} · ${state.kind} · ${(file.size / 1024).toFixed(0)} KB`;
  showMedia(state.objectUrl);
}

function chooseUrl(url) {
  state.file = null;
  state.url = url.trim();
  state.kind = state.url ? kindOf(state.url) : null;
  $("#media-info").textContent = state.url ? `${state.kind} by URL` : "";
  if (state.url) showMedia(state.url);
}

const drop = $("#drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  chooseFile(e.dataTransfer.files[0]);
});
$("#file").addEventListener("change", (e) => chooseFile(e.target.files[0]));
$("#url").addEventListener("change", (e) => chooseUrl(e.target.value));

function showMedia(src) {
  const frame = $("#frame");
  frame.classList.remove("empty");
  let media;
  if (state.kind === "video") media = el("video", { id: "player", src, controls: true, muted: true });
  else if (state.kind === "audio") media = el("audio", { id: "player", src, controls: true });
  else media = el("img", { id: "preview", src, alt: "the image analysed" });
  frame.replaceChildren(el("div", { class: "holder" }, media, el("div", { id: "overlay", class: "overlay" })));
  $("#timeline").hidden = true;
  $("#timeline").replaceChildren();
  $("#transcript").hidden = true;
  $("#transcript").replaceChildren();
  $("#results").replaceChildren();
  $("#progress").replaceChildren();
  renderTaskChoices();
}

function renderTaskChoices() {
  const box = $("#tasks");
  if (!state.tasks.length) { box.replaceChildren(el("p", { class: "muted" }, "Connect to list the tasks.")); updateRun(); return; }
  const kind = state.kind || "image";
  // A video's sound track goes to the audio tasks too (transcription).
  const fitting = state.tasks.filter((t) => t.media_kind === kind || (kind === "video" && t.media_kind === "audio"));
  if (!fitting.length) {
    box.replaceChildren(el("p", { class: "muted" }, `No ${kind} tasks on this server yet.`));
  } else {
    box.replaceChildren(...fitting.map((t) => el("label", { class: "task" + (t.available ? "" : " off") },
      el("input", { type: "checkbox", value: t.name, checked: t.available && DEFAULT_TASKS.has(t.name) && t.media_kind === kind,
        disabled: !t.available, "data-task": t.name, onchange: updateRun }),
      el("span", {}, t.name), el("small", { class: "muted" }, t.available ? t.summary : "models not installed"))));
  }
  updateRun();
}

function chosenTasks() { return $$("#tasks input:checked").map((i) => i.value); }
function updateRun() { $("#run").disabled = !(state.file || state.url) || !chosenTasks().length; }

// --- running -----------------------------------------------------------------------------------------------------
$("#run").addEventListener("click", async () => {
  $("#error").textContent = "";
  $("#results").replaceChildren();
  $("#overlay").replaceChildren();
  $("#progress").replaceChildren();
  $("#timeline").replaceChildren();
  $("#timeline").hidden = true;
  $("#transcript").replaceChildren();
  $("#transcript").hidden = true;
  $("#run").disabled = true;
  state.started = performance.now();
  state.mediaId = null;
  const tasks = chosenTasks();
  const jobs = tasks.filter((t) => (state.tasks.find((x) => x.name === t) || {}).media_kind !== "image");
  if (state.file && jobs.length > 1) {  // one upload (POST /v1/media) for every job, removed when they are done
    try {
      const form = new FormData();
      form.append("file", state.file, state.file.name);
      state.mediaId = (await api("/v1/media", { method: "POST", form })).id;
    } catch (err) { $("#error").textContent = err.message; }
  }
  await Promise.allSettled(tasks.map((task) => runTask(task)));
  if (state.mediaId) api(`/v1/media/${state.mediaId}`, { method: "DELETE" }).catch(() => {});
  updateRun();
  document.body.dataset.done = "true";
});

function mediaBody(task) {
  if (state.file) {
    const form = new FormData();
    form.append("file", state.file, state.file.name);
    return { form };
  }
  return { json: { url: state.url } };
}

async function runTask(task) {
  document.body.dataset.done = "false";
  const spec = state.tasks.find((t) => t.name === task);
  const card = el("article", { class: "card running", "data-task": task },
    el("h3", {}, task, el("small", { class: "muted" }, " · " + (spec ? spec.summary : ""))),
    el("div", { class: "status muted" }, "running…"), el("progress", { class: "meter", max: 100 }), el("div", { class: "body" }));
  $("#results").append(card);
  try {
    let result;
    if (spec && spec.media_kind === "image") {
      result = (await api(`/v1/analyze/${task}`, { method: "POST", ...mediaBody(task) })).result;
    } else {
      const body = state.mediaId ? { json: { media: state.mediaId } } : mediaBody(task);
      if (body.form) body.form.append("task", task);
      else body.json.task = task;
      const accepted = await api("/v1/jobs", { method: "POST", ...body });
      logProgress(task, { state: 0, state_name: "queued", message: `job ${accepted.id}` });
      const job = await follow(accepted.id, (j) => {
        logProgress(task, j);
        $(".status", card).textContent = `${j.state_name}${j.message ? " · " + j.message : ""}`;
        const pct = /(\d+)%/.exec(j.message || "");
        if (pct) $("progress", card).value = +pct[1];  // live from the job's events
      });
      if (job.state !== 2) throw new Error(`job ${job.id} failed: ${job.message}`);
      result = job.result;
    }
    card.classList.remove("running");
    card.classList.add("done");
    $("progress", card).remove();
    $(".status", card).textContent = `done in ${((performance.now() - state.started) / 1000).toFixed(1)} s`;
    draw(task, result, $(".body", card));
  } catch (err) {
    card.classList.remove("running");
    card.classList.add("failed");
    if ($("progress", card)) $("progress", card).remove();
    $(".status", card).textContent = err.message;
    $(".status", card).className = "status error";
  }
}

async function follow(jobId, onJob) {
  const r = await fetch(`/v1/jobs/${jobId}/events`, { headers: { Authorization: "Bearer " + Store.get("credentials") } });
  let last = null;
  if (r.ok && r.body) {
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const chunk = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const data = chunk.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        if (!data) continue;
        last = JSON.parse(data);
        onJob(last);
        if (last.state >= 2) return last;
      }
    }
  }
  for (;;) {  // the stream broke off (or a proxy buffered it): poll
    last = await api(`/v1/jobs/${jobId}`);
    onJob(last);
    if (last.state >= 2) return last;
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

function logProgress(task, job) {
  const t = ((performance.now() - state.started) / 1000).toFixed(1);
  $("#progress").append(el("li", { class: "event", "data-state": String(job.state) },
    el("time", {}, `${t}s`), el("b", {}, task), ` ${job.state_name}`, job.message ? ` · ${job.message}` : ""));
}

// --- drawing -----------------------------------------------------------------------------------------------------
const isLabels = (v) => Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === "object" && "name" in x);

function draw(task, result, body) {
  if (result.faces) drawFaces(result.faces, body);
  if (result.regions) drawRegions(result.regions);
  if (typeof result.score === "number" && /quality/.test(task)) body.append(gauge(result.score));
  for (const key of ["classes", "tags"]) if (isLabels(result[key])) body.append(labelBars(key, result[key]));
  if (typeof result.image === "string" && result.image.length > 100) {
    body.append(el("img", { class: "output", src: "data:image/jpeg;base64," + result.image, alt: task + " output" }));
  }
  if (state.kind === "video" || state.kind === "audio") { drawTimeline(task, result); drawTranscript(task, result); }
  const scalars = Object.entries(result).filter(([, v]) => v !== null && typeof v !== "object" && !(typeof v === "string" && v.length > 100));
  if (scalars.length) {
    body.append(el("table", { class: "kv" }, scalars.map(([k, v]) =>
      el("tr", {}, el("th", {}, k), el("td", {}, typeof v === "number" ? String(+v.toFixed(4)) : String(v))))));
  }
  body.append(el("details", {}, el("summary", {}, "JSON"),
    el("pre", {}, JSON.stringify(result, (k, v) => (k === "embedding" && Array.isArray(v) ? `[${v.length} numbers]` : k === "image" && typeof v === "string" && v.length > 100 ? "[base64 image]" : v), 2))));
}

function naturalSize() {
  const img = $("#preview");
  return img ? [img.naturalWidth || 1, img.naturalHeight || 1] : [1, 1];
}

function box([x0, y0, x1, y1], cls, label) {
  const [w, h] = naturalSize();
  const style = `left:${(100 * x0) / w}%;top:${(100 * y0) / h}%;width:${(100 * (x1 - x0)) / w}%;height:${(100 * (y1 - y0)) / h}%`;
  $("#overlay").append(el("div", { class: "box " + cls, style, title: label }, el("span", { class: "label" }, label)));
}

const top1 = (probs) => (probs ? Object.entries(probs).sort((a, b) => b[1] - a[1])[0] : null);

function drawFaces(faces, body) {
  if (!faces.length) { body.append(el("p", { class: "muted" }, "No face found (faces ≥ 100×100 px).")); return; }
  faces.forEach((f, i) => {
    const shape = top1(f.face_shape), hair = top1(f.hair_color);
    const bits = [`face ${i + 1}`, shape && shape[0], hair && `${hair[0]} hair`].filter(Boolean);
    box(f.bbox, "face", bits.join(" · "));
    const rows = [["score", f.face_score.toFixed(3)]];
    for (const group of ["face_shape", "hair_color", "male_hair_style"]) {
      const best = top1(f[group]);
      if (best) rows.push([group.replace(/_/g, " "), `${best[0]} (${best[1].toFixed(2)})`]);
    }
    body.append(el("div", { class: "face" }, el("h4", {}, `Face ${i + 1}`),
      el("table", { class: "kv" }, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))));
  });
}

function drawRegions(regions) {
  for (const r of regions) box(r.box, "text", r.text || "text");
}

function labelBars(key, labels) {
  return el("div", { class: "labels", "data-key": key }, el("h4", {}, key),
    labels.map((l) => el("div", { class: "tag", "data-name": l.name, title: l.zh || l.name },
      el("span", { class: "name" }, l.name),
      el("span", { class: "bar" }, el("i", { style: `width:${Math.max(1, Math.min(100, l.score * 100))}%` })),
      el("span", { class: "score" }, l.score.toFixed(2)))));
}

function gauge(score) {
  const s = Math.max(0, Math.min(100, score));
  const angle = Math.PI * (1 - s / 100);
  const x = 60 + 50 * Math.cos(angle), y = 60 - 50 * Math.sin(angle);
  const hue = Math.round((s / 100) * 120);
  const svg = `<svg viewBox="0 0 120 70" class="gauge" data-score="${s.toFixed(2)}" role="img" aria-label="quality ${s.toFixed(1)} of 100">
    <path d="M10 60 A50 50 0 0 1 110 60" fill="none" stroke="#e5e7eb" stroke-width="10" stroke-linecap="round"/>
    <path d="M10 60 A50 50 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}" fill="none" stroke="hsl(${hue} 70% 45%)" stroke-width="10" stroke-linecap="round"/>
    <text x="60" y="58" text-anchor="middle" font-size="20" font-weight="700">${s.toFixed(1)}</text>
    <text x="60" y="69" text-anchor="middle" font-size="7" fill="#6b7280">quality / 100</text></svg>`;
  const wrap = el("div", { class: "gauge-wrap" });
  wrap.innerHTML = svg;
  return wrap;
}

// The timeline under the player: one lane per timed list a result holds (clips, speech, on-screen text, tag
// occurrences), and the whole-media answers (categories, tags, quality) as full-width bars. Clicking seeks.
const fmt = (t) => `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, "0")}`;

function seek(t) {
  const player = $("#player");
  if (player && player.currentTime !== undefined) { player.currentTime = t; }
}

function timedLanes(result) {
  const lanes = [];
  const spans = (xs) => Array.isArray(xs) && xs.length > 0 && xs.every((x) => x && typeof x.start === "number" && typeof x.end === "number");
  for (const [key, value] of Object.entries(result)) {
    if (spans(value)) {
      const speech = key === "transcript" || (key === "segments" && value.every((x) => typeof x.text === "string"));
      const kind = speech ? "speech" : key === "segments" ? "clips" : key === "text_in_video" ? "text" : key;
      lanes.push({ kind, key, entries: value.map((x, i) => ({
        start: x.start, end: x.end,
        label: typeof x.text === "string" ? x.text
          : Array.isArray(x.classes) && x.classes.length ? `${x.classes[0][0] || x.classes[0].name} (${fmt(x.start)})`
          : `clip ${i + 1}`,
      })) });
    } else if (Array.isArray(value) && value.length && value.every((x) => x && Array.isArray(x.times))) {
      lanes.push({ kind: "points", key, entries: value.flatMap((x) => x.times.map((t) => ({ start: t, end: t, label: x.tag || x.name || key }))) });
    }
  }
  if (typeof result.start_s === "number" && typeof result.duration_s === "number" && typeof result.key === "string") {
    const end = result.start_s + result.duration_s;  // a highlight clip (video_highlight): its window in the source
    lanes.push({ kind: "highlight", key: "highlight", entries: [{ start: result.start_s, end, label: `highlight ${fmt(result.start_s)}–${fmt(end)}` }] });
  }
  return lanes;
}

function drawTimeline(task, result) {
  const line = $("#timeline");
  const player = $("#player");
  const duration = result.source_duration_s || result.duration_s || result.duration || (player && player.duration) || 0;
  const lanes = timedLanes(result);
  const whole = [];
  for (const key of ["classes", "tags"]) if (isLabels(result[key])) for (const l of result[key].slice(0, 5)) whole.push([key, l.name, l.score]);
  if (typeof result.score === "number") whole.push(["quality", `quality ${result.score.toFixed(1)}`, result.score / 100]);
  if (!lanes.length && !whole.length) return;
  line.hidden = false;
  if (!$(".scale", line)) {
    line.prepend(el("div", { class: "scale", "data-duration": String(duration) },
      el("span", {}, "0:00"), el("span", {}, duration ? fmt(duration / 2) : ""), el("span", {}, duration ? fmt(duration) : "")));
  }
  const pos = (t) => (duration ? Math.max(0, Math.min(100, (100 * t) / duration)) : 0);
  for (const lane of lanes) {
    const row = el("div", { class: "track", "data-task": task, "data-kind": lane.kind }, el("span", { class: "track-name" }, `${task} · ${lane.kind}`));
    const strip = el("div", { class: "lane", style: "height:22px" });
    for (const e of lane.entries) {
      const width = lane.kind === "points" ? 0.8 : Math.max(0.8, pos(e.end) - pos(e.start));
      strip.append(el("span", { class: `entry ${lane.kind}`, "data-start": String(e.start), "data-end": String(e.end),
        title: `${fmt(e.start)}–${fmt(e.end)} · ${e.label}`, style: `left:${pos(e.start)}%;width:${width}%`,
        onclick: () => seek(e.start) }, lane.kind === "points" ? "" : e.label));
    }
    strip.append(el("i", { class: "playhead" }));
    row.append(strip);
    line.append(row);
  }
  if (whole.length) {
    const row = el("div", { class: "track", "data-task": task, "data-kind": "whole" }, el("span", { class: "track-name" }, task));
    const strip = el("div", { class: "lane" });
    whole.forEach(([key, name, score], i) => {
      strip.append(el("span", { class: `entry ${key}`, title: `${name} (${(score * 100).toFixed(0)}%) · the whole ${state.kind}`,
        style: `left:0;width:100%;top:${i * 22}px;opacity:${0.45 + 0.55 * Math.min(1, score)}`, onclick: () => seek(0) }, name));
    });
    strip.style.height = `${whole.length * 22}px`;
    strip.append(el("i", { class: "playhead" }));
    row.append(strip);
    line.append(row);
  }
  followPlayhead(duration);
}

function followPlayhead(duration) {
  const player = $("#player");
  if (!player || player.dataset.followed) return;
  player.dataset.followed = "1";
  player.addEventListener("timeupdate", () => {
    const d = duration || player.duration || 1;
    for (const head of $$("#timeline .playhead")) head.style.left = `${Math.min(100, (100 * player.currentTime) / d)}%`;
    for (const line of $$("#transcript li")) {
      line.classList.toggle("now", player.currentTime >= +line.dataset.start && player.currentTime < +line.dataset.end);
    }
  });
}

// The transcript under the player: every speech lane's lines with their times; a click plays from there.
function drawTranscript(task, result) {
  const speech = timedLanes(result).filter((l) => l.kind === "speech");
  if (!speech.length) return;
  const box = $("#transcript");
  box.hidden = false;
  for (const lane of speech) {
    box.append(el("h4", {}, `Transcript · ${task}${result.language ? " · " + result.language : ""}`),
      el("ol", { "data-task": task }, lane.entries.map((e) => el("li", { "data-start": String(e.start), "data-end": String(e.end),
        onclick: () => { seek(e.start); const p = $("#player"); if (p && p.play) p.play().catch(() => {}); } },
        el("time", {}, fmt(e.start)), " ", e.label))));
  }
}

// --- start -------------------------------------------------------------------------------------------------------
$("#credentials").value = Store.get("credentials");
if (Store.get("credentials")) connect();
