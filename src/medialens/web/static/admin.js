// The admin page: list, create and delete apps through /v1/admin/apps with Bearer admin:<token>.
"use strict";

const adminBearer = () => "admin:" + Store.get("admin-token");

async function loadApps() {
  $("#error").textContent = "";
  try {
    const { apps } = await api("/v1/admin/apps", { bearer: adminBearer() });
    $("#admin-status").textContent = `signed in · ${apps.length} app${apps.length === 1 ? "" : "s"}`;
    const body = $("#apps tbody");
    body.replaceChildren(...apps.map((a) => el("tr", { "data-app": a.app_id },
      el("td", {}, el("code", {}, a.app_id)), el("td", {}, a.name),
      el("td", {}, new Date(a.created_at).toLocaleString()),
      el("td", {}, el("button", { class: "danger", onclick: () => removeApp(a.app_id) }, "Delete")))));
  } catch (err) {
    $("#admin-status").textContent = "not signed in";
    $("#error").textContent = err.message;
  }
}

async function removeApp(appId) {
  if (!confirm(`Delete app ${appId} and its jobs?`)) return;
  try { await api(`/v1/admin/apps/${appId}`, { method: "DELETE", bearer: adminBearer() }); }
  catch (err) { $("#error").textContent = err.message; }
  loadApps();
}

$("#admin-auth").addEventListener("submit", (e) => {
  e.preventDefault();
  Store.set("admin-token", $("#admin-token").value.trim());
  loadApps();
});

$("#create").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const app = await api("/v1/admin/apps", { method: "POST", json: { name: $("#app-name").value }, bearer: adminBearer() });
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

$("#admin-token").value = Store.get("admin-token");
if (Store.get("admin-token")) loadApps();
