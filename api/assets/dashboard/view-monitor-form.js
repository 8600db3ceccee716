// Create and edit a monitor (#/monitors/new, #/monitors/:id/edit): one form
// whose fields follow the chosen type, with the defaults filled in or named
// in the help, the API's 422 messages next to the fields they name, and a
// "Test" button that runs the same settings once (POST /monitors/test,
// nothing stored) and shows the result and its timings before saving.
"use strict";

(() => {
  const { h, api, can, header, field } = UT;

  const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  const NO_BODY = ["GET", "HEAD"];
  const RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "NS"];

  // ------------------------------------------------------------ reading --
  // Each reader turns a control into the JSON the API takes, or undefined
  // to leave the field out (the API then applies its default); problems
  // the API could not word (a header line without a colon) are collected
  // as 422-style details and shown like the API's own.

  const text = (control) => control.value.trim() || undefined;

  function integer(control, problems) {
    if (control.validity.badInput) {
      problems.push({ field: control.name, message: "must be a whole number" });
      return undefined;
    }
    const value = control.value.trim();
    return value === "" ? undefined : Number(value);
  }

  const checked = (control) => control.checked;

  const lines = (control) => {
    const items = control.value.split("\n").map((l) => l.trim()).filter(Boolean);
    return items.length ? items : undefined;
  };

  function headers(control, problems) {
    const out = {};
    control.value.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      const colon = line.indexOf(":");
      if (colon < 1) {
        problems.push({ field: "headers", message: `line ${i + 1} must read Name: value, such as Accept: application/json` });
        return;
      }
      const name = line.slice(0, colon).trim();
      if (Object.prototype.hasOwnProperty.call(out, name)) {
        problems.push({ field: "headers", message: `${name} is given twice; give each header once` });
      }
      out[name] = line.slice(colon + 1).trim();
    });
    return Object.keys(out).length ? out : undefined;
  }

  const tags = (control) => {
    const items = control.value.split(",").map((t) => t.trim()).filter(Boolean);
    return items.length ? items : [];
  };

  // ------------------------------------------------------------- fields --
  // Every field by its API name (the wrapper's data-field, so the API's 422
  // details land next to it): how it is shown, its default, how it reads.

  const show = {
    text: (v) => (v === null || v === undefined ? "" : String(v)),
    lines: (v) => (v || []).join("\n"),
    headers: (v) => Object.entries(v || {}).map(([k, x]) => `${k}: ${x}`).join("\n"),
    status: (v) => (Array.isArray(v) ? v.join(", ") : v === null || v === undefined ? "" : String(v)),
    tags: (v) => (v || []).join(", "),
    bool: (v) => Boolean(v),
  };

  const FIELDS = {
    method: {
      kind: "select", label: "Method", initial: "GET", read: text, show: show.text,
      options: METHODS.map((m) => ({ value: m, label: m })), help: "Default GET.",
    },
    headers: {
      kind: "textarea", label: "Headers", read: headers, show: show.headers, mono: true,
      placeholder: "Accept: application/json", help: "Optional. One per line, as Name: value.",
    },
    body: {
      kind: "textarea", label: "Request body", read: text, show: show.text, mono: true,
      help: "Optional. Sent with POST, PUT, PATCH, DELETE and OPTIONS.",
    },
    expectedStatus: {
      kind: "text", label: "Expected status", initial: "2xx", read: text, show: show.status,
      help: "A code (200), a list (200, 204), a class (2xx) or a range (200-399). Default 2xx.",
    },
    followRedirects: {
      kind: "checkbox", label: "Follow redirects (up to 10)", initial: false, read: checked, show: show.bool,
      help: "Off by default: the redirect's own status is checked.",
    },
    keyword: {
      kind: "text", label: "Keyword", required: true, read: text, show: show.text,
      help: "Looked for in the first megabyte of the response body.",
    },
    keywordMode: {
      kind: "select", label: "The check is up when the body", initial: "contains", read: text, show: show.text,
      options: [{ value: "contains", label: "contains the keyword" }, { value: "notContains", label: "does not contain the keyword" }],
    },
    keywordCaseSensitive: {
      kind: "checkbox", label: "Match case", initial: true, read: checked, show: show.bool,
      help: "On by default.",
    },
    dnsRecordType: {
      kind: "select", label: "Record type", initial: "A", read: text, show: show.text,
      options: RECORD_TYPES.map((t) => ({ value: t, label: t })), help: "Default A.",
    },
    dnsExpected: {
      kind: "textarea", label: "Expected answers", read: lines, show: show.lines, mono: true,
      help: "Optional, one per line, at most 20: each must be among the answers. Empty: any answer is up.",
    },
    dnsResolver: {
      kind: "text", label: "Resolver", read: text, show: show.text, placeholder: "1.1.1.1:53",
      help: "Optional. An IP address, with a port if not 53. Empty: the server's own resolver.",
    },
    tlsExpiryWarnDays: {
      kind: "number", label: "Warn days before expiry", read: integer, show: show.text, min: 0, max: 365,
      help: "0–365. Degraded when the certificate expires sooner. Empty: the server's default (14 days as shipped).",
    },
    intervalSeconds: {
      kind: "number", label: "Check every (seconds)", initial: 60, read: integer, show: show.text, min: 1, max: 86400,
      help: "1–86400. Default 60 s.",
    },
    timeoutSeconds: {
      kind: "number", label: "Timeout (seconds)", read: integer, show: show.text, min: 1, max: 300,
      help: "1–300, at most the interval. Empty: the server's default (10 s as shipped).",
    },
    degradedThresholdMs: {
      kind: "number", label: "Degraded above (ms)", read: integer, show: show.text, min: 1, max: 300000,
      help: "Optional. A check slower than this in total is degraded, not up. Below the timeout.",
    },
    failureThreshold: {
      kind: "number", label: "Failures before an incident", initial: 3, read: integer, show: show.text, min: 1, max: 100,
      help: "Consecutive failed checks, 1–100. Default 3.",
    },
    recoveryThreshold: {
      kind: "number", label: "Successes before recovery", initial: 1, read: integer, show: show.text, min: 1, max: 100,
      help: "Consecutive good checks, 1–100. Default 1.",
    },
    enabled: {
      kind: "checkbox", label: "Check on schedule", initial: true, read: checked, show: show.bool,
      help: "Off: saved paused, checked only by Test.",
    },
    tags: {
      kind: "text", label: "Tags", read: tags, show: show.tags, placeholder: "prod, api",
      help: "Optional. Comma-separated, at most 20.",
    },
  };

  // -------------------------------------------------------------- types --
  // What each type asks for: how its target reads and its own groups of
  // fields. A type the API gains later needs one entry here; until then
  // the form edits such a monitor with the fields every type shares.

  const HTTP_TARGET = {
    label: "URL", kind: "url", placeholder: "https://example.com/health",
    help: "An http:// or https:// address, without a user name or password.",
  };
  const REQUEST = { legend: "Request", fields: ["method", "headers", "body", "expectedStatus", "followRedirects"] };
  const TYPES = {
    http: { label: "HTTP(S)", target: HTTP_TARGET, groups: [REQUEST] },
    keyword: {
      label: "HTTP(S) with a keyword", target: HTTP_TARGET,
      groups: [REQUEST, { legend: "Keyword", fields: ["keyword", "keywordMode", "keywordCaseSensitive"] }],
    },
    tcp: {
      label: "TCP port", groups: [],
      target: { label: "Host and port", placeholder: "db.example.com:5432", help: "host:port; an IPv6 address in brackets, such as [2001:db8::1]:443." },
    },
    dns: {
      label: "DNS record", groups: [{ legend: "DNS", fields: ["dnsRecordType", "dnsExpected", "dnsResolver"] }],
      target: { label: "Hostname", placeholder: "example.com", help: "The name to look up." },
    },
    tls: {
      label: "TLS certificate", groups: [{ legend: "Certificate", fields: ["tlsExpiryWarnDays"] }],
      target: { label: "Host", placeholder: "example.com", help: "host, host:port or https://host[:port]; port 443 unless given." },
    },
  };
  const SCHEDULE = ["intervalSeconds", "timeoutSeconds", "degradedThresholdMs", "failureThreshold", "recoveryThreshold"];

  function typeOf(kind) {
    return TYPES[kind] || {
      label: kind, groups: [], unknown: true,
      target: { label: "Target", help: "As the API documents it for " + kind + " monitors." },
    };
  }

  // --------------------------------------------------------------- form --

  /** A field from FIELDS (or `def`) named `name`, showing `value`. */
  function fieldFor(name, def, value) {
    const node = field({
      name, label: def.label, kind: def.kind, value, help: def.help, options: def.options,
      required: def.required, placeholder: def.placeholder, min: def.min, max: def.max,
      step: def.kind === "number" ? 1 : undefined, rows: def.kind === "textarea" ? 3 : undefined,
    });
    if (def.mono) node.classList.add("field-mono");
    return node;
  }

  function channelBox(channels, chosen) {
    const errorId = UT.uid("channels-error");
    const body = channels.length
      ? h("div", { class: "check-list" }, channels.map((c) => {
        const id = UT.uid("channel");
        return h("div", { class: "check-row" },
          h("input", { id, type: "checkbox", value: c.id, checked: chosen.includes(c.id), dataset: { channel: "" }, "aria-describedby": errorId }),
          h("label", { for: id }, c.name, h("span", { class: "muted" }, ` (${c.type}${c.enabled ? "" : ", disabled"})`)));
      }))
      : h("p", { class: "help" }, "No notification channels yet. ", h("a", { href: "#/channels" }, "Add one under Channels"), " to be told when this monitor goes down.");
    return h("fieldset", { class: "field", dataset: { field: "channelIds" } },
      h("legend", {}, "Channels to notify"),
      body,
      h("p", { class: "field-error", id: errorId }));
  }

  /** The result of a test run: status, timings, code and error in words. */
  function testResult(r) {
    const t = r.timings || {};
    const phases = [["dns", "DNS", t.dnsMs], ["connect", "Connect", t.connectMs], ["tls", "TLS", t.tlsMs], ["ttfb", "First byte", t.ttfbMs]]
      .filter(([, , v]) => v !== null && v !== undefined);
    const measured = phases.reduce((sum, [, , v]) => sum + v, 0);
    const rest = Math.max((t.totalMs || 0) - measured, 0);
    const share = (v) => (t.totalMs ? Math.max((v / t.totalMs) * 100, 0.5) : 0) + "%";
    const bar = h("div", { class: "timing timing-wide", "aria-hidden": "true" },
      phases.map(([key, , v]) => { const s = h("span", { class: "phase-" + key }); s.style.width = share(v); return s; }),
      (() => { const s = h("span", { class: "phase-rest" }); s.style.width = share(rest); return s; })());
    const details = Object.entries(r.details || {});
    return h("div", { class: "card test-card" },
      h("h2", {}, "Test result"),
      h("p", { class: "test-summary" },
        UT.badge(r.status),
        h("span", {}, "in ", h("strong", {}, UT.ms(t.totalMs))),
        r.statusCode ? h("span", {}, "HTTP " + r.statusCode) : null),
      r.error ? h("p", { class: "test-error" }, UT.sentence(r.error)) : null,
      bar,
      h("dl", { class: "facts timings" },
        phases.map(([key, label, v]) => [h("dt", {}, h("span", { class: "swatch phase-" + key, "aria-hidden": "true" }), label), h("dd", {}, UT.ms(v))]),
        h("dt", {}, "Total"), h("dd", {}, UT.ms(t.totalMs)),
        r.statusCode ? [h("dt", {}, "Status code"), h("dd", {}, String(r.statusCode))] : null),
      h("p", { class: "muted" },
        `Checked ${r.target} once at ${new Date(r.checkedAt).toLocaleTimeString()} with a ${r.timeoutSeconds} s timeout. Nothing was saved.`),
      details.length || r.bodySnippet
        ? h("details", {},
          h("summary", {}, "Technical details"),
          h("dl", { class: "facts" }, details.map(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])),
          r.bodySnippet ? [h("p", {}, "Start of the response body:"), h("pre", { class: "snippet" }, r.bodySnippet)] : null)
        : null);
  }

  /** The form for a new monitor, or for editing `monitor`. */
  function monitorForm(monitor, channels) {
    let kind = monitor ? monitor.type : "http";
    // Values typed into type-specific fields, kept while the type changes.
    const draft = {};
    const initial = (name) => {
      if (name in draft) return draft[name];
      const def = FIELDS[name];
      if (monitor && monitor[name] !== null && monitor[name] !== undefined) return def ? def.show(monitor[name]) : show.text(monitor[name]);
      return def && "initial" in def ? def.initial : "";
    };

    const options = Object.entries(TYPES).map(([value, t]) => ({ value, label: t.label }));
    if (!TYPES[kind]) options.push({ value: kind, label: kind });
    const typeField = field({ name: "type", label: "Type", kind: "select", value: kind, options, help: "The fields below follow the type." });
    const nameField = field({ name: "name", label: "Name", required: true, value: monitor ? monitor.name : "", help: "Shown on the dashboard and in alerts." });
    const targetSlot = h("div", { class: "slot" });
    const groupsSlot = h("div", { class: "slot" });
    const result = h("div", { class: "test-result", role: "status" });

    function renderType() {
      for (const control of [...targetSlot.querySelectorAll("[name]"), ...groupsSlot.querySelectorAll("[name]")]) {
        draft[control.name] = control.type === "checkbox" ? control.checked : control.value;
      }
      const t = typeOf(kind);
      targetSlot.replaceChildren(fieldFor("target", Object.assign({ kind: "text", required: true }, t.target), initial("target")));
      groupsSlot.replaceChildren();
      UT.append(groupsSlot, [
        t.unknown ? h("p", { class: "help" }, `This dashboard does not know the own fields of ${kind} monitors; saving changes only the fields shown and keeps the rest.`) : null,
        t.groups.map((g) => h("fieldset", {}, h("legend", {}, g.legend), g.fields.map((n) => fieldFor(n, FIELDS[n], initial(n))))),
      ]);
      const method = groupsSlot.querySelector("select[name=method]");
      if (method) {
        const sync = () => { groupsSlot.querySelector("[data-field=body]").hidden = NO_BODY.includes(method.value); };
        method.addEventListener("change", sync);
        sync();
      }
    }

    /** The fields shown now, by name, in the order the API documents. */
    function shownNames() {
      const t = typeOf(kind);
      return ["name", "target", ...t.groups.flatMap((g) => g.fields), ...SCHEDULE, "enabled", "tags"];
    }

    /** The request body from the form; throws a 422-style ApiError for lines it cannot read. */
    function collect(form) {
      const problems = [];
      const body = { type: kind };
      const partial = typeOf(kind).unknown && monitor;
      for (const name of shownNames()) {
        const control = form.querySelector(`[name="${name}"]`);
        if (!control || control.closest("[hidden]")) continue;
        const value = (FIELDS[name] ? FIELDS[name].read : text)(control, problems);
        if (value !== undefined) body[name] = value;
        else if (partial) body[name] = null;
      }
      body.channelIds = [...form.querySelectorAll("input[data-channel]:checked")].map((c) => c.value);
      // A PUT replaces the whole monitor: keep what this form does not edit.
      if (monitor && !partial && monitor.slaTarget != null) body.slaTarget = monitor.slaTarget;
      if (problems.length) {
        throw new UT.ApiError(422, { error: "validation_failed", message: "Some fields need attention.", details: problems });
      }
      return body;
    }

    async function save(_values, form) {
      const body = collect(form);
      let saved;
      if (monitor) {
        const now = await api.get("/monitors/" + encodeURIComponent(monitor.id));
        if (now.updatedAt !== monitor.updatedAt) {
          const overwrite = await UT.confirm("This monitor has changed",
            `${now.name} was changed by someone else after you opened this form. Save your version over theirs?`, "Save mine");
          if (!overwrite) return;
        }
        const path = "/monitors/" + encodeURIComponent(monitor.id);
        saved = typeOf(kind).unknown ? await api.patch(path, body) : await api.put(path, body);
        UT.notice(`Saved ${saved.name}.`);
      } else {
        saved = await api.post("/monitors", body);
        UT.notice(`Created ${saved.name}.`);
      }
      delete form.dataset.dirty;
      location.hash = "#/monitors/" + saved.id;
    }

    const testButton = h("button", { type: "button", class: "test-button" }, "Test");
    const node = UT.form({
      label: monitor ? "Edit monitor " + monitor.name : "New monitor",
      fields: [
        h("fieldset", {}, h("legend", {}, "What to check"), typeField, nameField, targetSlot),
        groupsSlot,
        h("fieldset", {}, h("legend", {}, "Schedule and alerting"),
          h("div", { class: "field-row" }, SCHEDULE.map((n) => fieldFor(n, FIELDS[n], initial(n)))),
          fieldFor("enabled", FIELDS.enabled, initial("enabled"))),
        h("fieldset", {}, h("legend", {}, "Notifications and tags"),
          channelBox(channels, monitor ? monitor.channelIds || [] : []),
          fieldFor("tags", FIELDS.tags, initial("tags"))),
      ],
      submit: monitor ? "Save changes" : "Create monitor",
      extra: testButton,
      onSubmit: save,
      cancel: async () => {
        if (node.dataset.dirty && !(await UT.confirm("Discard your changes?", "What you typed in this form will be lost.", "Discard"))) return;
        delete node.dataset.dirty;
        location.hash = monitor ? "#/monitors/" + monitor.id : "#/";
      },
    });
    node.classList.add("monitor-form");
    node.append(result);
    // A result shown for other settings says so once they change.
    const markStale = () => {
      const card = result.querySelector(".test-card");
      if (card && !card.querySelector(".stale-note")) {
        card.querySelector("h2").after(h("p", { class: "stale-note muted" }, "The settings have changed since this test; test again to see how they do."));
      }
    };
    node.addEventListener("input", markStale);
    node.addEventListener("change", markStale);

    typeField.querySelector("select").addEventListener("change", (event) => {
      kind = event.target.value;
      UT.clearErrors(node);
      renderType();
    });
    renderType();

    // Not `disabled` while running: that would take the focus off the button.
    let testing = false;
    testButton.addEventListener("click", async () => {
      if (testing) return;
      UT.clearErrors(node);
      let body;
      try {
        body = collect(node);
      } catch (error) {
        if (!(error instanceof UT.ApiError)) throw error;
        UT.showErrors(node, error);
        result.replaceChildren(h("p", { class: "muted" }, "Not tested: correct the fields marked above first."));
        return;
      }
      testing = true;
      testButton.setAttribute("aria-disabled", "true");
      result.replaceChildren(h("p", { class: "muted" }, `Testing ${body.target || "the target"}…`));
      try {
        result.replaceChildren(testResult(await api.post("/monitors/test", body)));
      } catch (error) {
        if (!(error instanceof UT.ApiError)) throw error;
        if (error.status === 422) {
          UT.showErrors(node, error);
          result.replaceChildren(h("p", { class: "muted" }, "Not tested: correct the fields marked above first."));
        } else {
          result.replaceChildren(h("p", { class: "test-error" }, "The test could not run: " + UT.sentence(error.message)));
        }
      } finally {
        testing = false;
        testButton.removeAttribute("aria-disabled");
      }
    });
    return node;
  }

  /** What a key without the write scope sees instead of the form. */
  function readOnly(title, what) {
    const me = UT.me();
    return {
      title,
      node: h("div", {},
        header(title),
        h("p", { class: "card" },
          `Your key${me ? " (" + me.name + ")" : ""} can read but not change anything, so it cannot ${what}. `,
          "Sign in with a key that has the write scope to do that. ",
          h("a", { href: "#/" }, "Back to the overview."))),
    };
  }

  UT.route("monitors/new", async () => {
    if (!can("write")) return readOnly("New monitor", "create monitors");
    const channels = await api.all("/channels");
    return {
      title: "New monitor",
      node: h("div", {},
        header("New monitor"),
        h("p", { class: "muted intro" }, "Choose what to check; the fields follow the type. Test runs the settings once without saving them."),
        monitorForm(null, channels)),
    };
  }, "");

  UT.route("monitors/:id/edit", async ({ id }) => {
    if (!can("write")) return readOnly("Edit monitor", "edit monitors");
    const [monitor, channels] = await Promise.all([api.get("/monitors/" + encodeURIComponent(id)), api.all("/channels")]);
    return {
      title: "Edit " + monitor.name,
      node: h("div", {},
        header("Edit " + monitor.name, h("a", { href: "#/monitors/" + monitor.id }, "Back to the monitor")),
        monitorForm(monitor, channels)),
    };
  }, "");
})();
