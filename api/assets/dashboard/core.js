// The operator dashboard's core: the one way every view is built.
//
// The dashboard is a client of the public REST API and nothing else: every
// action is an /api/v1 call a script could make, with the caller's key (kept
// in sessionStorage, sent as a Bearer token). Views register a route with
// UT.route(); the router renders the view for location.hash into <main>,
// and refreshes it every few seconds unless the reader is editing a form or
// a dialog is open ("smart auto-refresh"). Helpers build the parts every
// view shares — elements (UT.h), tables, forms with the API's field errors,
// status badges, relative times, dialogs and notices — so that all views
// look, read and behave alike.
"use strict";

const UT = (() => {
  const KEY = "uptime.apiKey";
  const REFRESH_MS = 5000;
  const routes = [];
  let me = null; // {name, scopes, keyId}
  let current = null; // {route, params, view}
  let renderToken = 0;
  let shownHash = null;

  // ------------------------------------------------------------ elements --

  /** h("a", {href, class, onClick, "aria-label"}, ...children): an element. */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on") && typeof value === "function") {
        node.addEventListener(name.slice(2).toLowerCase(), value);
      } else if (name === "value" && "value" in node) node.value = value;
      else if (name === "checked" || name === "selected" || name === "disabled") node[name] = Boolean(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  let ids = 0;
  /** A unique id for label/aria wiring. */
  function uid(prefix) {
    ids += 1;
    return (prefix || "ut") + "-" + ids;
  }

  // ----------------------------------------------------------------- API --

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || "HTTP " + status);
      this.status = status;
      this.code = (body && body.error) || "http_" + status;
      this.details = (body && body.details) || [];
    }
  }

  async function request(method, path, body, query) {
    let url = "/api/v1" + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== null && v !== undefined && v !== "") params.set(k, v);
      }
      const text = params.toString();
      if (text) url += (url.includes("?") ? "&" : "?") + text;
    }
    const headers = { Authorization: "Bearer " + (sessionStorage.getItem(KEY) || "") };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new ApiError(0, { error: "network", message: "The server could not be reached. Check your connection; the page retries on its own." });
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (error) {
      json = null;
    }
    if (!response.ok) {
      const failure = new ApiError(response.status, json);
      if (response.status === 401) signOut("Your key was not accepted. Sign in again.");
      throw failure;
    }
    return json;
  }

  const api = {
    get: (path, query) => request("GET", path, undefined, query),
    post: (path, body) => request("POST", path, body === undefined ? {} : body),
    put: (path, body) => request("PUT", path, body),
    patch: (path, body) => request("PATCH", path, body),
    del: (path) => request("DELETE", path),
    /** Every item of a paginated list (follows nextCursor). */
    async all(path, query) {
      const items = [];
      let cursor = null;
      for (let pages = 0; pages < 200; pages += 1) {
        const page = await request("GET", path, undefined, Object.assign({ limit: 100 }, query, cursor ? { cursor } : {}));
        items.push(...(page.items || []));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      return items;
    },
  };

  // --------------------------------------------------------------- scope --

  /** Whether the signed-in key holds `scope` (admin holds all). */
  function can(scope) {
    if (!me) return false;
    if (me.scopes.includes("admin")) return true;
    if (scope === "read") return me.scopes.includes("read") || me.scopes.includes("write");
    return me.scopes.includes(scope);
  }

  // --------------------------------------------------------------- words --

  const STATUS_WORDS = {
    up: ["Up", "ok"], down: ["Down", "bad"], degraded: ["Degraded", "warn"], paused: ["Paused", "muted"],
    unknown: ["Not checked yet", "muted"], operational: ["Operational", "ok"],
    degraded_performance: ["Degraded performance", "warn"], partial_outage: ["Partial outage", "bad-soft"],
    major_outage: ["Major outage", "bad"], under_maintenance: ["Under maintenance", "info"],
    investigating: ["Investigating", "bad"], identified: ["Identified", "warn"], monitoring: ["Monitoring", "info"],
    resolved: ["Resolved", "ok"], scheduled: ["Scheduled", "info"], in_progress: ["In progress", "info"],
    completed: ["Completed", "muted"], open: ["Open", "bad"], delivered: ["Delivered", "ok"],
    pending: ["Pending", "muted"], failed: ["Failed", "bad"],
    retry: ["Not delivered", "warn"], gone: ["Receiver gone", "bad"], refused: ["Refused", "bad"],
    suppressed: ["Suppressed", "muted"], enabled: ["Enabled", "ok"], disabled: ["Disabled", "muted"],
    active: ["Active", "ok"], revoked: ["Revoked", "muted"], expired: ["Expired", "warn"],
    live: ["Live", "ok"], stale: ["Stale", "bad"],
  };

  /** A status in words and colour (never colour alone). */
  function badge(status, words) {
    const known = STATUS_WORDS[status] || [String(status || "unknown"), "muted"];
    return h("span", { class: "badge badge-" + known[1], dataset: { status: status || "" } }, words || known[0]);
  }

  const TYPE_WORDS = {
    http: "HTTP(S)", keyword: "HTTP(S) with a keyword", tcp: "TCP port", dns: "DNS record", tls: "TLS certificate",
  };

  /** A check type in words ("TCP port"); an unknown one as it is. */
  function typeLabel(type) {
    return TYPE_WORDS[type] || String(type || "");
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many || one + "s");
  }

  /** "3 min ago" / "in 2 h" for an ISO time. */
  function relative(iso) {
    if (!iso) return "never";
    const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
    const future = seconds < 0;
    const s = Math.abs(seconds);
    let text;
    if (s < 5) return future ? "in a moment" : "just now";
    if (s < 60) text = s + " s";
    else if (s < 3600) text = Math.floor(s / 60) + " min";
    else if (s < 86400) text = Math.floor(s / 3600) + " h";
    else text = Math.floor(s / 86400) + " d";
    return future ? "in " + text : text + " ago";
  }

  /** A <time> reading relatively ("3 min ago"), the exact local time on hover. */
  function time(iso, mode) {
    if (!iso) return h("span", { class: "muted" }, "never");
    const exact = new Date(iso).toLocaleString();
    const node = h("time", { datetime: iso, title: exact, dataset: { mode: mode || "relative" } });
    node.textContent = mode === "exact" ? exact : relative(iso);
    return node;
  }

  function ms(value) {
    if (value === null || value === undefined) return "–";
    return value >= 100 ? Math.round(value) + " ms" : value.toFixed(1) + " ms";
  }

  function percent(value) {
    if (value === null || value === undefined) return "–";
    return (Math.floor(value * 100) / 100).toFixed(value >= 99.995 && value < 100 ? 3 : 2).replace(/\.?0+$/, "") + " %";
  }

  // --------------------------------------------------------------- parts --

  /**
   * A table with a caption and column headers; on narrow screens rows read
   * as cards (each cell carries its column's label).
   * columns: [{label, cell: (row) => node|string, class}]; rows; empty: text.
   */
  function table({ caption, columns, rows, empty, rowClass, rowKey }) {
    if (!rows.length) return h("p", { class: "empty" }, empty || "Nothing here yet.");
    return h("div", { class: "table-wrap" },
      h("table", { class: "data" },
        h("caption", { class: caption && caption.visible ? "" : "visually-hidden" }, caption ? caption.text || caption : ""),
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)))),
        h("tbody", {}, rows.map((row) => h("tr", { class: rowClass ? rowClass(row) : null, dataset: rowKey ? { key: rowKey(row) } : null },
          columns.map((c) => h("td", { class: c.class, dataset: { label: c.label } }, c.cell(row))))))));
  }

  /** A labelled field; kinds: text, url, number, password, textarea, select, checkbox. */
  function field({ name, label, kind, value, help, options, required, placeholder, min, max, step, autocomplete, rows }) {
    const id = uid("f-" + name);
    const helpId = help ? id + "-help" : null;
    const errorId = id + "-error";
    const describedBy = [helpId, errorId].filter(Boolean).join(" ");
    let control;
    if (kind === "textarea") {
      control = h("textarea", { id, name, rows: rows || 3, required, placeholder, "aria-describedby": describedBy });
      control.value = value ?? "";
    } else if (kind === "select") {
      control = h("select", { id, name, required, "aria-describedby": describedBy },
        options.map((o) => h("option", { value: o.value, selected: String(o.value) === String(value ?? "") }, o.label)));
    } else if (kind === "checkbox") {
      control = h("input", { id, name, type: "checkbox", checked: Boolean(value), "aria-describedby": describedBy });
    } else {
      control = h("input", {
        id, name, type: kind || "text", value: value ?? "", required, placeholder, min, max, step,
        autocomplete: autocomplete || "off", "aria-describedby": describedBy,
      });
    }
    const wrap = h("div", { class: "field" + (kind === "checkbox" ? " field-check" : ""), dataset: { field: name } });
    if (kind === "checkbox") append(wrap, [control, h("label", { for: id }, label)]);
    else append(wrap, [h("label", { for: id }, label, required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null), control]);
    if (help) append(wrap, [h("p", { class: "help", id: helpId }, help)]);
    append(wrap, [h("p", { class: "field-error", id: errorId })]);
    return wrap;
  }

  /** Shows an API error on a form: each 422 detail next to its field, the rest on top. */
  function showErrors(form, error) {
    clearErrors(form);
    const general = [];
    for (const detail of error.details || []) {
      const root = String(detail.field || "").split(/[.[]/)[0];
      const slot = form.querySelector(`[data-field="${CSS.escape(detail.field)}"] .field-error`) ||
        form.querySelector(`[data-field="${CSS.escape(root)}"] .field-error`);
      if (slot) {
        slot.textContent = sentence(detail.message, detail.field);
        slot.closest(".field").classList.add("invalid");
        const control = slot.closest(".field").querySelector("input, select, textarea");
        if (control) control.setAttribute("aria-invalid", "true");
      } else {
        general.push(detail.field + ": " + detail.message);
      }
    }
    const box = form.querySelector(".form-error");
    const lines = general.length ? general : error.details && error.details.length ? [] : [error.message];
    if (box && lines.length) {
      box.replaceChildren(...lines.map((l) => h("p", {}, sentence(l))));
      box.hidden = false;
    }
    const first = form.querySelector("[aria-invalid=true]") || box;
    if (first && first.focus) first.focus();
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((slot) => { slot.textContent = ""; });
    form.querySelectorAll(".invalid").forEach((f) => f.classList.remove("invalid"));
    form.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
    const box = form.querySelector(".form-error");
    if (box) { box.hidden = true; box.replaceChildren(); }
  }

  /** "must be ..." → "Must be ...." */
  function sentence(text) {
    const t = String(text || "").trim();
    if (!t) return "";
    const s = t[0].toUpperCase() + t.slice(1);
    return /[.!?]$/.test(s) ? s : s + ".";
  }

  /**
   * A form: fields, a submit button (and others), a box for errors that
   * name no field. onSubmit(values, form) may throw an ApiError, shown in
   * place. While it is being edited the page does not refresh under it.
   */
  function form({ label, fields, submit, onSubmit, extra, cancel }) {
    const node = h("form", { class: "form", "aria-label": label, novalidate: true },
      h("div", { class: "form-error", role: "alert", hidden: true }),
      fields,
      h("div", { class: "form-actions" },
        h("button", { type: "submit", class: "primary" }, submit || "Save"),
        extra || null,
        cancel ? h("button", { type: "button", onClick: cancel }, "Cancel") : null));
    node.addEventListener("input", () => { node.dataset.dirty = "true"; });
    node.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(node);
      const button = node.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await onSubmit(values(node), node);
        delete node.dataset.dirty;
      } catch (error) {
        if (error instanceof ApiError) showErrors(node, error);
        else throw error;
      } finally {
        button.disabled = false;
      }
    });
    return node;
  }

  /** The form's values by name: checkboxes as booleans, the rest as text. */
  function values(formNode) {
    const out = {};
    for (const control of formNode.querySelectorAll("input[name], select[name], textarea[name]")) {
      out[control.name] = control.type === "checkbox" ? control.checked : control.value;
    }
    return out;
  }

  /** A modal dialog (focus stays inside; Escape closes). Resolves with the chosen action's value. */
  function dialog({ title, body, actions }) {
    return new Promise((resolve) => {
      const titleId = uid("dialog-title");
      const node = h("dialog", { class: "dialog", "aria-labelledby": titleId },
        h("h2", { id: titleId }, title),
        h("div", { class: "dialog-body" }, body),
        h("div", { class: "form-actions" }, actions.map((a) => h("button", {
          type: "button", class: a.class || null,
          onClick: () => { node.close(); resolve(a.value); },
        }, a.label))));
      node.addEventListener("cancel", () => resolve(undefined));
      node.addEventListener("close", () => node.remove());
      document.body.append(node);
      node.showModal();
    });
  }

  /** Asks before something that cannot be undone. */
  async function confirm(title, text, confirmLabel) {
    const answer = await dialog({
      title, body: h("p", {}, text),
      actions: [{ label: "Cancel", value: false }, { label: confirmLabel || "Confirm", value: true, class: "danger" }],
    });
    return answer === true;
  }

  /** A short notice read out by screen readers. */
  function notice(text, kind) {
    const region = document.getElementById("notices");
    if (kind === "bad") {
      // An error stays until dismissed, and is announced at once.
      const item = h("div", { class: "notice notice-bad", role: "alert" },
        h("p", {}, text),
        h("button", { type: "button", class: "notice-close", "aria-label": "Dismiss this message", onClick: () => item.remove() }, "×"));
      region.append(item);
      return;
    }
    const item = h("p", { class: "notice notice-ok" }, text);
    region.append(item);
    while (region.querySelectorAll(".notice-ok").length > 3) region.querySelector(".notice-ok").remove();
    setTimeout(() => item.remove(), 6000);
  }

  /** A block that says an error in a sentence, with a retry. */
  function failure(error, retry) {
    return h("div", { class: "failure", role: "alert" },
      h("p", {}, error instanceof ApiError ? sentence(error.message) : "Something went wrong in the page: " + error),
      retry ? h("button", { type: "button", onClick: retry }, "Try again") : null);
  }

  /** A heading with actions on the right. */
  function header(title, ...actions) {
    return h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, title), h("div", { class: "actions" }, actions));
  }

  // -------------------------------------------------------------- router --

  /** Registers a view: pattern like "monitors/:id". view(params) => {title, node, refresh?} (may be async). */
  function route(pattern, view, nav) {
    const names = [];
    const regex = new RegExp("^#/" + pattern.replace(/:([a-z]+)/g, (_, n) => { names.push(n); return "([^/]+)"; }) + "$");
    routes.push({ pattern, regex, names, view, nav: nav || pattern.split("/")[0] });
  }

  function match(hash) {
    const target = hash && hash !== "#" && hash !== "#/" ? hash : "#/";
    // Literal patterns before those with parameters, whatever the order the
    // views loaded in: "monitors/new" is not the monitor with id "new".
    const literalFirst = routes.filter((r) => !r.names.length).concat(routes.filter((r) => r.names.length));
    for (const r of literalFirst) {
      const m = target.match(r.regex);
      if (m) {
        // A parameter is an id or a slug: anything else (an encoded "/",
        // "..", spaces) matches no route, so views can put parameters in
        // API paths as they are.
        const params = {};
        let plain = true;
        r.names.forEach((n, i) => {
          let value = "";
          try {
            value = decodeURIComponent(m[i + 1]);
          } catch (error) {
            value = "";
          }
          if (!/^[A-Za-z0-9_-]+$/.test(value)) plain = false;
          params[n] = value;
        });
        if (plain) return { route: r, params };
      }
    }
    return null;
  }

  /** Follows a new hash, asking first when a form holds unsaved input. */
  async function leave() {
    if (!me || location.hash === shownHash) return;
    const dirty = document.querySelector("#main form[data-dirty]");
    if (dirty) {
      const target = location.hash;
      history.replaceState(null, "", shownHash || "#/");
      const go = await confirm("Leave without saving?", "What you entered on this page is not saved yet.", "Leave the page");
      if (!go) return;
      delete dirty.dataset.dirty;
      location.hash = target;
      return;
    }
    render();
  }

  async function render() {
    shownHash = location.hash;
    const main = document.getElementById("main");
    const token = ++renderToken;
    const found = match(location.hash);
    document.querySelectorAll("#nav a").forEach((a) => {
      const active = found && a.dataset.nav === found.route.nav;
      if (active) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    if (!found) {
      main.replaceChildren(header("Not found"), h("p", {}, "There is no such page. ", h("a", { href: "#/" }, "Go to the overview.")));
      return;
    }
    main.setAttribute("aria-busy", "true");
    try {
      const view = await found.route.view(found.params);
      if (token !== renderToken) return;
      current = { ...found, view };
      document.title = view.title + " · UpTime";
      main.replaceChildren(view.node);
      const heading = main.querySelector("h1");
      if (heading) heading.focus({ preventScroll: true });
    } catch (error) {
      if (token !== renderToken) return;
      current = null;
      main.replaceChildren(header("Could not load this page"), failure(error, render));
    } finally {
      main.removeAttribute("aria-busy");
    }
  }

  /** Whether the reader is busy with something a refresh would disturb. */
  function editing() {
    if (document.querySelector("dialog[open]")) return true;
    const active = document.activeElement;
    if (active && active.closest && active.closest("#main form")) return true;
    return Boolean(document.querySelector("#main form[data-dirty]"));
  }

  async function refresh() {
    if (!current || !current.view.refresh || document.hidden || editing()) return;
    try {
      await current.view.refresh();
      document.getElementById("stale").hidden = true;
    } catch (error) {
      const stale = document.getElementById("stale");
      stale.textContent = error instanceof ApiError ? "Not refreshed: " + sentence(error.message) : "Not refreshed.";
      stale.hidden = false;
    }
  }

  /** Updates every relative time on the page. */
  function tick() {
    document.querySelectorAll("time[data-mode=relative]").forEach((t) => {
      t.textContent = relative(t.getAttribute("datetime"));
    });
  }

  /** Replaces `old` by `fresh` keeping the scroll position. */
  function swap(old, fresh) {
    const x = window.scrollX;
    const y = window.scrollY;
    const focus = focusMark(old);
    old.replaceWith(fresh);
    if (focus) refocus(fresh, focus);
    window.scrollTo(x, y);
    return fresh;
  }

  /** What holds focus inside `region`, so that its twin can get it back. */
  function focusMark(region) {
    const active = document.activeElement;
    if (!active || active === document.body || !region.contains(active)) return null;
    const row = active.closest("[data-key]");
    return {
      key: row ? row.dataset.key : null,
      tag: active.tagName,
      name: active.getAttribute("aria-label") || active.getAttribute("name") || active.textContent.trim(),
    };
  }

  /** Focuses the element of `region` that matches `mark` (same row, kind and name). */
  function refocus(region, mark) {
    const scope = mark.key ? region.querySelector(`[data-key="${CSS.escape(mark.key)}"]`) || region : region;
    for (const candidate of scope.querySelectorAll(mark.tag)) {
      const name = candidate.getAttribute("aria-label") || candidate.getAttribute("name") || candidate.textContent.trim();
      if (name === mark.name) {
        candidate.focus({ preventScroll: true });
        return;
      }
    }
  }

  // ------------------------------------------------------------- session --

  async function signIn(key) {
    sessionStorage.setItem(KEY, key);
    try {
      me = await request("GET", "/me");
    } catch (error) {
      sessionStorage.removeItem(KEY);
      me = null;
      throw error;
    }
    showApp();
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    me = null;
    current = null;
    showSignIn(message);
  }

  function showSignIn(message) {
    document.getElementById("app").hidden = true;
    const screen = document.getElementById("signin");
    screen.hidden = false;
    const box = screen.querySelector(".form-error");
    box.textContent = message || "";
    box.hidden = !message;
    screen.querySelector("input").focus();
  }

  function showApp() {
    document.getElementById("signin").hidden = true;
    document.getElementById("app").hidden = false;
    document.getElementById("whoami").textContent = me.name + " · " + me.scopes.join(", ");
    document.body.classList.toggle("read-only", !can("write"));
    render();
  }

  function start() {
    const signin = document.getElementById("signin-form");
    signin.addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = signin.querySelector("input").value.trim();
      if (!key) return showSignIn("Enter an API key.");
      try {
        await signIn(key);
        signin.reset();
      } catch (error) {
        showSignIn(error.status === 401 ? "That key was not accepted. Check it and try again." : sentence(error.message));
      }
    });
    document.getElementById("signout").addEventListener("click", () => signOut("Signed out."));
    const menu = document.getElementById("menu");
    menu.addEventListener("click", () => {
      const open = menu.getAttribute("aria-expanded") !== "true";
      menu.setAttribute("aria-expanded", String(open));
    });
    document.getElementById("nav").addEventListener("click", (event) => {
      if (event.target.closest("a")) menu.setAttribute("aria-expanded", "false");
    });
    menu.addEventListener("keydown", (event) => {
      if (event.key === "Escape") menu.setAttribute("aria-expanded", "false");
    });
    document.getElementById("nav").addEventListener("keydown", (event) => {
      if (event.key === "Escape" && menu.getAttribute("aria-expanded") === "true") {
        menu.setAttribute("aria-expanded", "false");
        menu.focus();
      }
    });
    window.addEventListener("hashchange", leave);
    setInterval(refresh, REFRESH_MS);
    setInterval(tick, 1000);
    if (sessionStorage.getItem(KEY)) {
      signIn(sessionStorage.getItem(KEY)).catch((error) =>
        showSignIn(error.status === 401 ? "Your key was not accepted. Sign in again." : sentence(error.message)));
    } else {
      showSignIn();
    }
  }

  document.addEventListener("DOMContentLoaded", start);

  return {
    h, append, uid, api, ApiError, can, badge, typeLabel, plural, relative, time, ms, percent, table, field, form,
    values, showErrors, clearErrors, sentence, dialog, confirm, notice, failure, header, route, swap,
    refresh, me: () => me,
  };
})();
