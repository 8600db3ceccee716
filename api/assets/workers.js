// The /workers page: asks for an API key, then polls the status endpoint
// (named by the page in <body data-status-url>) and redraws in place.
"use strict";
const STATUS_URL = document.body.dataset.statusUrl;
const STORAGE = "uptime.apiKey";
const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);
let timer = null;
let lastOk = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function ago(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return seconds + " s ago";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
  return Math.floor(seconds / 3600) + " h ago";
}

function time(iso) { return new Date(iso).toLocaleTimeString(); }
function ms(value) { return value === null || value === undefined ? "–" : value.toFixed(1) + " ms"; }

function banner(message) {
  const b = $("banner");
  b.textContent = message || "";
  b.classList.toggle("show", Boolean(message));
}

function renderCounts(data) {
  const m = data.monitors || {};
  const items = [["up", "Up", m.up], ["down", "Down", m.down], ["degraded", "Degraded", m.degraded],
                 ["paused", "Paused", m.paused], ["unknown", "Unknown", m.unknown],
                 ["incidents", "Open incidents", data.openIncidents]];
  $("counts").replaceChildren(...items.map(([cls, label, n]) =>
    el("div", { class: "count " + cls, "data-count": cls }, el("b", {}, n ?? 0), label)));
}

function renderWorkers(workers) {
  const box = $("workers");
  if (!workers.length) {
    box.replaceChildren(el("div", { class: "empty", id: "no-workers" },
      "No worker is running. Start one with `uptime-worker` (or `make run`); it appears here within 5 seconds."));
    return;
  }
  box.replaceChildren(...workers.map((w) => {
    const names = new Map((w.inFlightMonitors || []).map((m) => [m.id, m.name]));
    const inflight = (w.inFlight || []).length
      ? el("ul", {}, ...w.inFlight.map((id) => el("li", {}, (names.get(id) || "(deleted)") + " · " + id)))
      : "none";
    return el("article", { class: "worker" + (w.stale ? " stale" : ""), "data-worker": w.workerId },
      el("h3", {}, w.host, el("span", { class: "badge " + (w.stale ? "stale" : "live") }, w.stale ? "STALE" : "LIVE")),
      el("dl", {},
        el("dt", {}, "Worker"), el("dd", {}, w.workerId),
        el("dt", {}, "PID"), el("dd", {}, w.pid),
        el("dt", {}, "Version"), el("dd", {}, w.version),
        el("dt", {}, "Started"), el("dd", {}, new Date(w.startedAt).toLocaleString()),
        el("dt", {}, "Last seen"), el("dd", { class: "last-seen" }, ago(w.lastSeenAt)),
        el("dt", {}, "Active jobs"), el("dd", { class: "active" }, w.activeJobs),
        el("dt", {}, "Queued jobs"), el("dd", {}, w.queuedJobs),
        el("dt", {}, "In flight"), el("dd", {}, inflight)));
  }));
}

function phaseBar(t) {
  const total = t.totalMs || 0;
  const parts = [["dns", t.dnsMs], ["connect", t.connectMs], ["tls", t.tlsMs], ["ttfb", t.ttfbMs]];
  const bar = el("div", { class: "bar", title: parts.map(([n, v]) => n + " " + ms(v)).join(", ") + ", total " + ms(total) });
  for (const [name, value] of parts) {
    if (!value || !total) continue;
    const segment = el("span", { class: "phase-" + name });
    // Through the CSSOM: a strict CSP refuses style attributes, not this.
    segment.style.width = Math.max(1, (value / total) * 100) + "%";
    bar.append(segment);
  }
  return bar;
}

function renderResults(results) {
  if (!results.length) {
    $("results").replaceChildren(el("tr", {}, el("td", { colspan: "7", class: "error" }, "No results yet.")));
    return;
  }
  $("results").replaceChildren(...results.map((r) =>
    el("tr", { "data-result": r.monitorId + "@" + r.slotTs },
      el("td", {}, time(r.checkedAt)),
      el("td", {}, r.monitorName),
      el("td", {}, r.type),
      el("td", {}, el("span", { class: "badge " + r.status }, r.status.toUpperCase())),
      el("td", {}, ms(r.timings.totalMs)),
      el("td", {}, phaseBar(r.timings)),
      el("td", { class: "error" }, [r.statusCode, r.error].filter((x) => x !== null && x !== undefined).join(" · ") || "–"))));
}

async function refresh() {
  clearTimeout(timer);
  const key = sessionStorage.getItem(STORAGE);
  if (!key) {
    banner("Enter an API key with the read scope to see the workers.");
    return;
  }
  try {
    const response = await fetch(STATUS_URL, { headers: { Authorization: "Bearer " + key } });
    if (response.status === 401 || response.status === 403) {
      const body = await response.json().catch(() => ({}));
      banner("The API key was refused (" + response.status + "): " + (body.message || "check the key and its scopes"));
    } else if (!response.ok) {
      banner("The API answered " + response.status + "; retrying every 2 seconds.");
    } else {
      const data = await response.json();
      banner("");
      renderCounts(data);
      renderWorkers(data.workers || []);
      renderResults(data.recentResults || []);
      lastOk = new Date();
    }
  } catch (error) {
    banner("The API is unreachable; retrying every 2 seconds.");
  }
  $("refreshed").textContent = lastOk ? "Updated " + lastOk.toLocaleTimeString() : "Not loaded yet";
  timer = setTimeout(refresh, REFRESH_MS);
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("api-key").value.trim();
  if (value) sessionStorage.setItem(STORAGE, value);
  $("api-key").value = "";
  refresh();
});
$("forget").addEventListener("click", () => {
  sessionStorage.removeItem(STORAGE);
  clearTimeout(timer);
  banner("Key forgotten. Enter an API key to continue.");
});
refresh();
