// images-emulator dashboard: the journal, newest first, polled every second, with the images each
// request returned. Plain JS, no build step. Live, it talks to the server with relative same-origin
// fetches (a browser re-sends Basic credentials); as a CI artifact it reads window.EMULATOR_STATIC.
"use strict";

const STATIC = window.EMULATOR_STATIC || null;
const POLL_MS = 1000;
const NEWEST = 500; // entries polled (the journal keeps up to --journal-size)
const IMAGE_PATH = /\/images\/(generations|edits|variations)$/; // /v1/... and Azure's /openai/...
const FETCHES = 4; // exhibits fetched at once (newest first): a long journal does not flood the server
const state = {
  entries: [], exhibits: new Map(), pending: new Set(), queue: [], fetching: 0, selected: null, signature: "",
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const message = data && data.error ? data.error.message : response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  return data;
}

// --- the journal ---------------------------------------------------------------------------------

function statusClass(entry) {
  if (entry.status === null || entry.status === undefined) return "pending";
  return String(entry.status)[0];
}

function hasImages(entry) {
  return entry.status === 200 && entry.method === "POST" && IMAGE_PATH.test(entry.path);
}

function errorText(entry) {
  const parts = [];
  if (entry.error && entry.error.code) parts.push(entry.error.code);
  if (entry.error && entry.error.param) parts.push(`param ${entry.error.param}`);
  if (entry.fault) parts.push(`fault ${entry.fault}`);
  return parts.join(" · ");
}

function filtered() {
  const session = document.getElementById("filter-session").value;
  const status = document.getElementById("filter-status").value;
  const model = document.getElementById("filter-model").value;
  return state.entries.filter((e) =>
    (!session || e.session === session) && (!status || statusClass(e) === status) && (!model || e.model === model));
}

function fillSelect(id, values) {
  const select = document.getElementById(id);
  const current = select.value;
  const known = new Set([...select.options].map((o) => o.value));
  for (const value of [...values].sort()) {
    if (!known.has(value)) select.append(el("option", { value }, value));
  }
  select.value = current;
}

function thumbnails(entry) {
  const exhibit = state.exhibits.get(entry.id);
  if (!hasImages(entry)) return null;
  if (!exhibit) return STATIC ? null : el("span", { class: "muted", title: "loading" }, "…");
  if (exhibit.missing) return el("span", { class: "muted", title: exhibit.missing }, "not kept");
  const returned = exhibit.pictures.filter((p) => p.role !== "upload");
  return el("span", { class: "strip" }, returned.map((p) =>
    el("img", { class: p.role === "partial" ? "thumb partial" : "thumb", src: p.thumbnail, loading: "lazy",
      alt: `${p.role} image ${p.index}` + (p.partial !== null ? ` (partial ${p.partial})` : ""),
      title: p.role === "partial" ? `partial ${p.partial} of image ${p.index}` : `image ${p.index}` })));
}

function row(entry) {
  const time = (entry.received_at || "").replace("T", " ").replace("Z", "").slice(11, 23);
  const status = entry.status === null ? "…" : entry.status;
  return el("tr", {
    class: `entry status-${statusClass(entry)}` + (state.selected === entry.id ? " selected" : ""),
    "data-id": entry.id, onclick: () => select(entry.id),
  },
  el("td", { class: "time", title: entry.received_at }, time),
  el("td", { class: "method" }, entry.method),
  el("td", { class: "path" }, entry.path),
  el("td", { class: "model" }, entry.model || ""),
  el("td", { class: "status" }, status),
  el("td", { class: "error" }, errorText(entry)),
  el("td", { class: "session" }, entry.session || ""),
  el("td", { class: "ms" }, entry.duration_ms === null ? "" : Math.round(entry.duration_ms)),
  el("td", { class: "images" }, thumbnails(entry)));
}

function render() {
  fillSelect("filter-session", new Set(state.entries.map((e) => e.session).filter(Boolean)));
  fillSelect("filter-model", new Set(state.entries.map((e) => e.model).filter(Boolean)));
  const shown = filtered().slice().reverse();
  document.getElementById("entries").replaceChildren(...shown.map(row));
  document.getElementById("count").textContent = `${shown.length} of ${state.entries.length} requests`;
  if (state.selected) renderDetail();
}

function wantExhibit(entry, first = false) {
  if (STATIC || state.exhibits.has(entry.id)) return;
  const queued = state.queue.indexOf(entry.id);
  if (first && queued > 0) state.queue.unshift(...state.queue.splice(queued, 1));
  if (state.pending.has(entry.id)) return;
  state.pending.add(entry.id);
  if (first) state.queue.unshift(entry.id);
  else state.queue.push(entry.id);
  queueMicrotask(fetchExhibits);  // once the caller has queued all it wants: the first in line go first
}

function fetchExhibits() {
  while (state.fetching < FETCHES && state.queue.length) {
    const id = state.queue.shift();
    state.fetching += 1;
    loadExhibit(id).finally(() => { state.fetching -= 1; fetchExhibits(); });
  }
}

async function loadExhibit(id) {
  try {
    state.exhibits.set(id, await api("GET", `/__emulator/requests/${encodeURIComponent(id)}/exhibit`));
  } catch (error) {
    state.exhibits.set(id, { missing: String(error.message || error), pictures: [] });
  } finally {
    state.pending.delete(id);
  }
  // Only what shows this exhibit: re-rendering the whole table per exhibit is quadratic in a long journal.
  const entry = state.entries.find((e) => e.id === id);
  const cell = document.querySelector(`tr.entry[data-id="${CSS.escape(id)}"] td.images`);
  if (entry && cell) cell.replaceChildren(...[thumbnails(entry)].filter((part) => part !== null));
  if (state.selected === id) renderDetail();
}

async function poll() {
  const live = document.getElementById("live");
  try {
    const page = await api("GET", `/__emulator/requests?limit=${NEWEST}`);
    state.entries = page.data;
    live.className = "live up";
    const signature = state.entries.map((e) => `${e.id}:${e.status}`).join(",");
    if (signature !== state.signature) {
      state.signature = signature;
      // Each to the front, oldest first: the newest come first, ahead of an older backlog.
      state.entries.filter(hasImages).forEach((entry) => wantExhibit(entry, true));
      render();  // after: the open entry's own goes to the front last
    }
  } catch (error) {
    live.className = "live down";
    live.title = String(error.message || error);
  }
}

// --- one entry -----------------------------------------------------------------------------------

function select(id) {
  state.selected = state.selected === id ? null : id;
  render();
  if (!state.selected) document.getElementById("detail").hidden = true;
}

function pre(value) {
  return el("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

function pictureLinks(pictures) {
  return el("div", { class: "pictures" }, pictures.map((p) =>
    el("a", { href: p.image, target: "_blank", rel: "noopener" },
      el("img", { class: "thumb large", src: p.thumbnail, alt: `${p.role} ${p.index}` }),
      el("small", {}, `${p.role} ${p.index}${p.partial !== null ? "." + p.partial : ""} · ${p.media_type}`))));
}

function renderDetail() {
  const entry = state.entries.find((e) => e.id === state.selected);
  const detail = document.getElementById("detail");
  if (!entry) { detail.hidden = true; return; }
  const exhibit = state.exhibits.get(entry.id);
  if (!exhibit && hasImages(entry)) wantExhibit(entry, true);  // the one looked at goes first
  const uploads = exhibit && exhibit.pictures ? exhibit.pictures.filter((p) => p.role === "upload") : [];
  const returned = exhibit && exhibit.pictures ? exhibit.pictures.filter((p) => p.role !== "upload") : [];
  const parts = [
    el("h2", {}, `${entry.method} ${entry.path}`),
    el("p", { class: "muted" }, `${entry.id} · ${entry.received_at} · status ${entry.status ?? "…"}` +
      (entry.session ? ` · session ${entry.session}` : "")),
    el("h3", {}, "Request body"),
    uploads.length ? pictureLinks(uploads) : null,
    pre(entry.body),
    el("h3", {}, "Response"),
    returned.length ? pictureLinks(returned) : null,
    exhibit && exhibit.response !== undefined ? pre(exhibit.response) :
      entry.error ? pre({ error: entry.error }) :
        el("p", { class: "muted" }, state.pending.has(entry.id) ? "(loading…)" : "(not kept)"),
    el("h3", {}, "Request headers"),
    pre(entry.headers)];
  detail.replaceChildren(...parts.filter((part) => part !== null));
  detail.hidden = false;
}

// --- controls --------------------------------------------------------------------------------------

function sessionQuery(session) {
  return session ? `?session=${encodeURIComponent(session)}` : "";
}

async function loadFaults() {
  const page = await api("GET", "/__emulator/faults");
  const kind = document.getElementById("fault-kind");
  if (!kind.options.length) {
    for (const [name, description] of Object.entries(page.kinds)) {
      kind.append(el("option", { value: name, title: description }, name));
    }
  }
  document.getElementById("faults").replaceChildren(
    page.data.length ? `${page.data.length} scheduled: ` : "no faults scheduled",
    ...page.data.map((rule) => el("span", { class: "rule" },
      `${rule.fault} ×${rule.remaining ?? rule.times}` + (rule.session ? ` (${rule.session})` : ""))));
}

async function addFault(event) {
  event.preventDefault();
  const value = (id) => document.getElementById(id).value.trim();
  const match = {};
  if (value("fault-path")) match.path = value("fault-path");
  if (value("fault-model")) match.model = value("fault-model");
  if (value("fault-prompt")) match.prompt_contains = value("fault-prompt");
  const body = { fault: value("fault-kind"), times: Number(value("fault-times") || 1), match };
  const message = document.getElementById("fault-message");
  try {
    const rule = await api("POST", `/__emulator/faults${sessionQuery(value("fault-session"))}`, body);
    message.textContent = `scheduled ${rule.fault} (${rule.id})`;
    message.className = "ok";
  } catch (error) {
    message.textContent = String(error.message || error);
    message.className = "bad";
  }
  await loadFaults();
}

async function loadSettings() {
  const info = await api("GET", "/__emulator/settings");
  document.getElementById("version").textContent = info.version;
  const rows = Object.entries(info.settings).map(([name, value]) =>
    el("tr", {}, el("th", {}, name), el("td", {}, value === null ? "—" : String(value))));
  rows.push(el("tr", {}, el("th", {}, "fixture rules"), el("td", {}, info.fixture_rules)));
  rows.push(el("tr", {}, el("th", {}, "gallery"),
    el("td", {}, `${Math.round(info.gallery.bytes / 1024)} KiB of ${Math.round(info.gallery.max_bytes / 1024)} KiB`)));
  document.getElementById("settings").replaceChildren(...rows);
}

function start() {
  for (const id of ["filter-session", "filter-status", "filter-model"]) {
    document.getElementById(id).addEventListener("change", render);
  }
  if (STATIC) {
    document.body.classList.add("static");
    document.getElementById("version").textContent = STATIC.version || "";
    document.getElementById("live").textContent = STATIC.title || "CI artifacts";
    state.entries = STATIC.entries;
    for (const [id, exhibit] of Object.entries(STATIC.exhibits)) state.exhibits.set(id, exhibit);
    render();
    return;
  }
  document.getElementById("fault-form").addEventListener("submit", addFault);
  document.getElementById("faults-clear").addEventListener("click", async () => {
    await api("DELETE", "/__emulator/faults");
    await loadFaults();
  });
  document.getElementById("journal-clear").addEventListener("click", async () => {
    await api("DELETE", "/__emulator/requests");
    state.exhibits.clear();
    await poll();
  });
  loadSettings().catch(() => {});
  loadFaults().catch(() => {});
  poll();
  setInterval(poll, POLL_MS);
  setInterval(() => loadFaults().catch(() => {}), 3 * POLL_MS);
}

start();
