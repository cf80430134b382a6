// What both pages share: the stored credentials and calls to the native API with its error shape.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const Store = {
  get(name) { return localStorage.getItem("medialens." + name) || ""; },
  set(name, value) { localStorage.setItem("medialens." + name, value); },
};

class ApiError extends Error {
  constructor(status, code, message) { super(`${code}: ${message}`); this.status = status; this.code = code; }
}

async function api(path, { method = "GET", json, form, bearer = Store.get("credentials") } = {}) {
  const headers = { Authorization: "Bearer " + bearer };
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form !== undefined) body = form;
  const r = await fetch(path, { method, headers, body });
  if (r.status === 204) return null;
  const text = await r.text();
  let data;
  try { data = JSON.parse(text); } catch { data = null; }
  if (!r.ok) {
    const err = data && data.error ? data.error : { code: "http_" + r.status, message: text.slice(0, 200) };
    throw new ApiError(r.status, err.code, err.message);
  }
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}
