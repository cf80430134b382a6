// The admin page: every protocol's credentials through /v1/admin/... with Bearer admin:<token>: apps (PAI and the
// native API), VOD AccessKeys, video-index API keys and Model Hub services. A secret is shown once, when made.
"use strict";

const adminBearer = () => "admin:" + Store.get("admin-token");
const admin = (path, opts = {}) => api(path, { bearer: adminBearer(), ...opts });
const when = (iso) => new Date(iso).toLocaleString();

function failed(section, err) { $(".error", section).textContent = err.message; }

// A secret in a notice box: shown this once, with a copy of what to keep.
function showSecret(section, lines) {
  const box = $(".secret", section);
  box.hidden = false;
  box.replaceChildren(el("p", {}, "Created. Keep this now, it is not shown again:"),
    ...lines.map(([label, value]) => el("p", {}, el("b", {}, label + " "), el("code", { class: "secret-value", "data-label": label }, value))));
}

function deleteButton(label, question, onYes) {
  return el("button", { class: "danger", onclick: async () => { if (confirm(question)) await onYes(); } }, label);
}

// --- apps ------------------------------------------------------------------------------------------------------
async function loadApps() {
  $("#error").textContent = "";
  const { apps } = await admin("/v1/admin/apps");
  $("#admin-status").textContent = `signed in · ${apps.length} app${apps.length === 1 ? "" : "s"}`;
  $("#apps tbody").replaceChildren(...apps.map((a) => el("tr", { "data-app": a.app_id },
    el("td", {}, el("code", {}, a.app_id)), el("td", {}, a.name), el("td", {}, when(a.created_at)),
    el("td", {}, deleteButton("Delete", `Delete app ${a.app_id} and its jobs?`, async () => {
      try { await admin(`/v1/admin/apps/${a.app_id}`, { method: "DELETE" }); } catch (err) { $("#error").textContent = err.message; }
      loadApps();
    })))));
}

$("#create").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const app = await admin("/v1/admin/apps", { method: "POST", json: { name: $("#app-name").value } });
    const cred = `${app.app_id}:${app.token}`;
    const box = $("#new-credentials");
    box.hidden = false;
    box.replaceChildren(
      el("p", {}, "Created. The token is shown this once:"),
      el("code", { id: "new-credential" }, cred),
      el("button", { id: "use-credentials", onclick: () => { Store.set("credentials", cred); location.href = "/"; } },
        "Use it in the playground"));
    $("#app-name").value = "";
    loadApps();
  } catch (err) { $("#error").textContent = err.message; }
});

// --- VOD AccessKeys --------------------------------------------------------------------------------------------
const vod = $("#vod-keys");

async function loadKeys() {
  const { keys } = await admin("/v1/admin/keys");
  $("#keys tbody").replaceChildren(...keys.map((k) => el("tr", { "data-key": k.access_key_id },
    el("td", {}, el("code", {}, k.access_key_id)), el("td", {}, el("code", {}, k.account)), el("td", {}, when(k.created_at)),
    el("td", {},
      el("button", { class: "rotate", onclick: () => keyAction(`/v1/admin/keys/${k.access_key_id}/rotate`) }, "Rotate"), " ",
      deleteButton("Delete", `Delete AccessKey ${k.access_key_id}? Requests signed with it are refused.`, async () => {
        try { await admin(`/v1/admin/keys/${k.access_key_id}`, { method: "DELETE" }); } catch (err) { failed(vod, err); }
        loadKeys();
      })))));
}

async function keyAction(path, json) {
  $(".error", vod).textContent = "";
  try {
    const k = await admin(path, { method: "POST", json: json || {} });
    showSecret(vod, [["AccessKeyId", k.access_key_id], ["AccessKeySecret", k.access_key_secret], ["account", k.account]]);
  } catch (err) { failed(vod, err); }
  loadKeys();
}

$("#create-key").addEventListener("submit", (e) => {
  e.preventDefault();
  const account = $("#key-account").value.trim();
  keyAction("/v1/admin/keys", account ? { account } : {});
  $("#key-account").value = "";
});

// --- video-index API keys --------------------------------------------------------------------------------------
const tl = $("#api-keys");

async function loadApiKeys() {
  const { api_keys: rows } = await admin("/v1/admin/apikeys");
  $("#apikeys tbody").replaceChildren(...rows.map((k) => el("tr", { "data-prefix": k.prefix },
    el("td", {}, el("code", {}, k.prefix + "…")), el("td", {}, when(k.created_at)),
    el("td", {}, deleteButton("Delete", `Delete API key ${k.prefix}… with its indexes?`, async () => {
      try { await admin(`/v1/admin/apikeys/${k.prefix}`, { method: "DELETE" }); } catch (err) { failed(tl, err); }
      loadApiKeys();
    })))));
}

$("#create-apikey").addEventListener("submit", async (e) => {
  e.preventDefault();
  $(".error", tl).textContent = "";
  try {
    const k = await admin("/v1/admin/apikeys", { method: "POST" });
    showSecret(tl, [["x-api-key", k.api_key]]);
  } catch (err) { failed(tl, err); }
  loadApiKeys();
});

// --- Model Hub services ----------------------------------------------------------------------------------------
const hub = $("#services");

async function loadServices() {
  const [{ services }, { models }] = await Promise.all([admin("/v1/admin/services"), admin("/v1/admin/service-models")]);
  const select = $("#service-model");
  const chosen = select.value;
  select.replaceChildren(...models.map((m) => el("option", { value: m.model, disabled: !m.deployable, title: m.hint || m.description },
    m.deployable ? m.model : `${m.model} (not installed)`)));
  if (chosen) select.value = chosen;
  $("#service-list tbody").replaceChildren(...services.map((v) => el("tr", { "data-service": v.name },
    el("td", {}, el("code", {}, v.name)), el("td", {}, v.model),
    el("td", { title: v.hint || v.description }, v.deployed ? "yes" : "no: " + (v.hint || "")), el("td", {}, when(v.created_at)),
    el("td", {},
      el("button", { class: "rotate", onclick: () => serviceAction(`/v1/admin/services/${v.name}/rotate`) }, "Rotate token"), " ",
      deleteButton("Undeploy", `Undeploy ${v.name}? Its token stops working.`, async () => {
        try { await admin(`/v1/admin/services/${v.name}`, { method: "DELETE" }); } catch (err) { failed(hub, err); }
        loadServices();
      })))));
}

async function serviceAction(path, json) {
  $(".error", hub).textContent = "";
  try {
    const v = await admin(path, { method: "POST", json: json || {} });
    showSecret(hub, [["service", v.name], ["token", v.token], ["URL", `${location.origin}/api/predict/${v.name}`]]);
  } catch (err) { failed(hub, err); }
  loadServices();
}

$("#deploy").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("#service-name").value.trim();
  serviceAction("/v1/admin/services", { model: $("#service-model").value, ...(name ? { name } : {}) });
  $("#service-name").value = "";
});

// --- signing in ------------------------------------------------------------------------------------------------
async function loadAll() {
  try {
    await loadApps();
  } catch (err) {
    $("#admin-status").textContent = "not signed in";
    $("#error").textContent = err.message;
    return;
  }
  for (const [section, load] of [[vod, loadKeys], [tl, loadApiKeys], [hub, loadServices]]) {
    load().catch((err) => failed(section, err));
  }
}

$("#admin-auth").addEventListener("submit", (e) => {
  e.preventDefault();
  Store.set("admin-token", $("#admin-token").value.trim());
  loadAll();
});

$("#admin-token").value = Store.get("admin-token");
if (Store.get("admin-token")) loadAll();
