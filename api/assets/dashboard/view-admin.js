// Views: notification channels (#/channels, #/channels/new, #/channels/:id,
// #/channels/:id/edit) with "send test" and the delivery log; API keys
// (#/api-keys, admin) with the raw key shown once; the audit log (#/audit,
// admin) with the before/after of each change.
"use strict";

(() => {
  const { h, api, badge, time, table, header, can, sentence } = UT;

  // ------------------------------------------------------------- shared --

  /** The sentence an admin-only view shows to a key without the admin scope. */
  function needsAdmin(title, what) {
    const me = UT.me();
    return {
      title,
      node: h("div", { class: "view-admin" },
        header(title),
        h("div", { class: "card explain" },
          h("p", {}, `This page needs an admin key. ${what}`),
          h("p", { class: "muted" },
            `You are signed in with “${me.name}”, which has the ${me.scopes.join(" and ")} scope${me.scopes.length === 1 ? "" : "s"}. `,
            "Sign out and sign in with an admin key to use it."))),
    };
  }

  /** The sentence a write view shows to a read-only key. */
  function needsWrite(title, back) {
    return {
      title,
      node: h("div", { class: "view-admin" },
        header(title),
        h("div", { class: "card explain" },
          h("p", {}, "Changing this needs a key with the write scope; yours can read only."),
          h("p", {}, h("a", { href: back }, "Go back")))),
    };
  }

  /**
   * A secret shown once (a new API key, a webhook signing secret): a
   * read-only field, a Copy button (the clipboard when the browser allows
   * it, else the text is selected for the reader to copy) and a warning.
   */
  function secretOnce({ title, label, value, warning, onDone }) {
    const id = UT.uid("secret");
    const titleId = id + "-title";
    const input = h("input", {
      id, type: "text", readonly: true, value, class: "secret-value", spellcheck: "false", autocomplete: "off",
    });
    const status = h("p", { class: "copy-status", role: "status" });
    const copy = async () => {
      input.focus();
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        try {
          await navigator.clipboard.writeText(value);
          status.textContent = "Copied to the clipboard.";
          return;
        } catch (error) {
          // Refused by the browser: fall back to the selection below.
        }
      }
      status.textContent = "The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.";
    };
    const panel = h("section", { class: "secret-once", "aria-labelledby": titleId },
      h("h2", { id: titleId }, title),
      h("p", { class: "secret-warning" }, h("strong", {}, "Copy it now. "), warning),
      h("div", { class: "field" },
        h("label", { for: id }, label),
        h("div", { class: "secret-row" }, input, h("button", { type: "button", class: "primary", onClick: copy }, "Copy"))),
      status,
      onDone ? h("div", { class: "form-actions" }, h("button", { type: "button", onClick: () => { panel.remove(); onDone(); } }, "I have saved it")) : null);
    return panel;
  }

  /**
   * Swaps a table for its fresh copy, keeping open the <details> the reader
   * opened (matched by row key and position) and the scroll position.
   */
  function swapKeepingOpen(old, fresh) {
    const open = new Set();
    old.querySelectorAll("tr[data-key]").forEach((row) => {
      row.querySelectorAll("details").forEach((d, i) => { if (d.open) open.add(row.dataset.key + "/" + i); });
    });
    fresh.querySelectorAll("tr[data-key]").forEach((row) => {
      row.querySelectorAll("details").forEach((d, i) => { if (open.has(row.dataset.key + "/" + i)) d.open = true; });
    });
    return UT.swap(old, fresh);
  }

  /** A short id for display ("0193ab…"). */
  function shortId(id) {
    const text = String(id || "");
    return text.length > 12 ? text.slice(0, 8) + "…" : text;
  }

  // ----------------------------------------------------------- channels --

  const TYPES = [
    { value: "webhook", label: "Webhook", url: true,
      help: "Any URL that accepts a JSON POST. Deliveries are signed (webhook-signature); the signing secret is shown once, after saving." },
    { value: "slack", label: "Slack", url: true, help: "A Slack incoming-webhook URL, such as https://hooks.slack.com/services/…" },
    { value: "discord", label: "Discord", url: true, help: "A Discord webhook URL, such as https://discord.com/api/webhooks/…" },
    { value: "teams", label: "Microsoft Teams", url: true, help: "A Teams incoming-webhook or workflow URL." },
    { value: "telegram", label: "Telegram", url: false, help: "A bot token and the chat it posts to." },
  ];
  const typeOf = (value) => TYPES.find((t) => t.value === value) || { value, label: value, url: true, help: "" };

  const EVENTS = [
    { value: "opened", label: "A monitor's incident opens" },
    { value: "resolved", label: "A monitor's incident is resolved" },
    { value: "degraded", label: "A monitor turns degraded" },
    { value: "component.status_changed", label: "A component's status changes" },
    { value: "status_incident.created", label: "A status incident is posted" },
    { value: "status_incident.updated", label: "A status incident is updated" },
    { value: "status_incident.resolved", label: "A status incident is resolved" },
    { value: "maintenance.started", label: "Maintenance starts" },
    { value: "maintenance.ended", label: "Maintenance ends" },
  ];
  const EVENT_WORDS = {
    test: "Test", "incident.opened": "Incident opened", "incident.resolved": "Incident resolved",
    "incident.reminder": "Incident reminder", "monitor.degraded": "Monitor degraded",
    "component.status_changed": "Component status changed", "status_incident.created": "Status incident posted",
    "status_incident.updated": "Status incident updated", "status_incident.resolved": "Status incident resolved",
    "maintenance.started": "Maintenance started", "maintenance.ended": "Maintenance ended",
  };
  const SHORT_EVENT_WORDS = {
    opened: "opened", resolved: "resolved", degraded: "degraded", "component.status_changed": "component status",
    "status_incident.created": "status incident posted", "status_incident.updated": "status incident updated",
    "status_incident.resolved": "status incident resolved", "maintenance.started": "maintenance started",
    "maintenance.ended": "maintenance ended",
  };

  /** A signing secret or changed-type secret to show once on the channel's page. */
  let pendingSecret = null; // {id, secret}

  function seconds(value) {
    if (value === null || value === undefined) return "off";
    if (value === 0) return "none";
    if (value % 3600 === 0) return UT.plural(value / 3600, "hour");
    if (value % 60 === 0) return UT.plural(value / 60, "minute");
    return UT.plural(value, "second");
  }

  function destination(c) {
    if (c.type === "telegram") return h("span", { class: "target" }, "chat " + (c.chatId || "?"));
    return h("span", { class: "target" }, c.url || "");
  }

  function channelStatus(c) {
    return h("span", { class: "status-cell" },
      badge(c.enabled ? "enabled" : "disabled"),
      c.disabledReason && !c.enabled ? h("span", { class: "muted small" }, " " + sentence(c.disabledReason)) : null);
  }

  function channelTable(channels) {
    return table({
      caption: "Notification channels",
      empty: "No channels yet. A channel sends incident, status and maintenance events to a webhook, Slack, Discord, Teams or Telegram.",
      rows: channels,
      rowKey: (c) => c.id,
      rowClass: (c) => (c.enabled ? null : "paused"),
      columns: [
        { label: "Name", class: "wrap", cell: (c) => h("a", { href: "#/channels/" + c.id }, c.name) },
        { label: "Type", cell: (c) => typeOf(c.type).label },
        { label: "Destination", class: "wrap", cell: destination },
        { label: "Sends on", class: "wrap", cell: (c) => (c.events || []).map((e) => SHORT_EVENT_WORDS[e] || e).join(", ") || "nothing" },
        { label: "Status", cell: channelStatus },
      ],
    });
  }

  UT.route("channels", async () => {
    let list = channelTable(await api.all("/channels"));
    const node = h("div", { class: "view-admin" },
      header("Notification channels", can("write") ? h("a", { href: "#/channels/new", class: "button-link" }, "New channel") : null),
      h("p", { class: "muted view-intro" }, "Where incident, status and maintenance events go. Open a channel to send a test or read its deliveries."),
      list);
    return {
      title: "Channels",
      node,
      async refresh() {
        list = UT.swap(list, channelTable(await api.all("/channels")));
      },
    };
  }, "channels");

  /** The channel form's fields, following the chosen type. */
  function channelFields(channel) {
    const editing = Boolean(channel);
    const c = channel || { type: "webhook", enabled: true, events: ["opened", "resolved"], throttleSeconds: 300, reminderIntervalSeconds: null };
    const typeField = UT.field({
      name: "type", label: "Type", kind: "select", value: c.type, required: true,
      options: TYPES.map((t) => ({ value: t.value, label: t.label })),
    });
    const typeHelp = h("p", { class: "help" });
    typeField.insertBefore(typeHelp, typeField.querySelector(".field-error"));
    const urlHelp = c.urlMasked
      ? "Your key sees this URL masked. Leave it as it is to keep the stored URL, or enter a new one."
      : "https:// only; plain http is accepted only when the server allows private targets.";
    const url = UT.field({ name: "url", label: "URL", kind: "url", value: c.url || "", help: urlHelp, placeholder: "https://" });
    const botToken = UT.field({
      name: "botToken", label: "Bot token", kind: "password",
      help: editing && c.botToken ? `Stored as ${c.botToken}. Leave empty to keep it.` : "From @BotFather, such as 123456789:AAE…",
    });
    const chatId = UT.field({ name: "chatId", label: "Chat id", value: c.chatId || "", help: "A numeric chat id (such as -1001234567890) or an @channel name." });
    const sync = () => {
      const type = typeOf(typeField.querySelector("select").value);
      typeHelp.textContent = type.help;
      url.hidden = !type.url;
      botToken.hidden = type.url;
      chatId.hidden = type.url;
    };
    typeField.querySelector("select").addEventListener("change", sync);
    sync();
    const errorId = UT.uid("events-error");
    const events = h("fieldset", { class: "field events", dataset: { field: "events" }, "aria-describedby": errorId },
      h("legend", {}, "Send when"),
      h("p", { class: "field-error", id: errorId }),
      h("div", { class: "checks" }, EVENTS.map((e) => UT.field({
        name: "event:" + e.value, label: e.label, kind: "checkbox", value: (c.events || []).includes(e.value),
      }))));
    return [
      UT.field({ name: "name", label: "Name", value: c.name || "", required: true, placeholder: "Ops webhook" }),
      typeField, url, botToken, chatId, events,
      UT.field({
        name: "reminderIntervalSeconds", label: "Reminder every (seconds)", kind: "number", min: 60, max: 604800,
        value: c.reminderIntervalSeconds ?? "", help: "While an incident stays open, remind this often (60 to 604800). Empty: no reminders.",
      }),
      UT.field({
        name: "throttleSeconds", label: "Throttle (seconds)", kind: "number", min: 0, max: 86400, value: c.throttleSeconds ?? 300,
        help: "At most one opened or degraded message per monitor in this window (0 to 86400; default 300).",
      }),
      UT.field({ name: "enabled", label: "Enabled", kind: "checkbox", value: c.enabled }),
    ];
  }

  /** The API body of the channel form; `patch` nulls the fields of the other kind. */
  function channelBody(values, patch) {
    const type = typeOf(values.type);
    const number = (text) => (text === "" || text === undefined ? null : Number(text));
    const body = {
      name: values.name.trim(),
      type: values.type,
      enabled: values.enabled,
      events: EVENTS.filter((e) => values["event:" + e.value]).map((e) => e.value),
      reminderIntervalSeconds: number(values.reminderIntervalSeconds),
    };
    const throttle = number(values.throttleSeconds);
    if (throttle !== null) body.throttleSeconds = throttle;
    if (type.url) {
      body.url = values.url.trim();
      if (patch) { body.botToken = null; body.chatId = null; }
    } else {
      body.chatId = values.chatId.trim();
      if (values.botToken.trim() || !patch) body.botToken = values.botToken.trim();
      if (patch) body.url = null;
    }
    return body;
  }

  UT.route("channels/new", async () => {
    if (!can("write")) return needsWrite("New channel", "#/channels");
    const node = h("div", { class: "view-admin" },
      header("New channel"),
      UT.form({
        label: "New channel",
        fields: channelFields(null),
        submit: "Create channel",
        cancel: () => { location.hash = "#/channels"; },
        async onSubmit(values) {
          const created = await api.post("/channels", channelBody(values, false));
          if (created.signingSecret) pendingSecret = { id: created.id, secret: created.signingSecret };
          UT.notice(`Channel “${created.name}” created.`);
          location.hash = "#/channels/" + created.id;
        },
      }));
    return { title: "New channel", node };
  }, "channels");

  UT.route("channels/:id/edit", async ({ id }) => {
    if (!can("write")) return needsWrite("Edit channel", "#/channels/" + encodeURIComponent(id));
    const channel = await api.get("/channels/" + encodeURIComponent(id));
    const node = h("div", { class: "view-admin" },
      header("Edit “" + channel.name + "”"),
      UT.form({
        label: "Edit channel",
        fields: channelFields(channel),
        submit: "Save changes",
        cancel: () => { location.hash = "#/channels/" + channel.id; },
        async onSubmit(values) {
          const saved = await api.patch("/channels/" + channel.id, channelBody(values, true));
          if (saved.signingSecret) pendingSecret = { id: saved.id, secret: saved.signingSecret };
          UT.notice(`Channel “${saved.name}” saved.`);
          location.hash = "#/channels/" + saved.id;
        },
      }));
    return { title: "Edit channel", node };
  }, "channels");

  function channelFacts(c) {
    const rows = [
      ["Status", channelStatus(c)],
      ["Type", typeOf(c.type).label],
    ];
    if (c.type === "telegram") {
      rows.push(["Bot token", h("span", { class: "target" }, c.botToken || "")], ["Chat", h("span", { class: "target" }, c.chatId || "")]);
    } else {
      rows.push(["URL", h("span", {}, h("span", { class: "target" }, c.url || ""),
        c.urlMasked ? h("span", { class: "muted small" }, " (masked: only admin keys see the full URL)") : null)]);
    }
    rows.push(
      ["Sends when", (c.events || []).length ? h("ul", { class: "plain" }, c.events.map((e) => h("li", {}, (EVENTS.find((x) => x.value === e) || { label: e }).label))) : "Nothing is subscribed"],
      ["Reminders", c.reminderIntervalSeconds ? "every " + seconds(c.reminderIntervalSeconds) : "off"],
      ["Throttle", seconds(c.throttleSeconds)],
      ["Created", time(c.createdAt)],
      ["Changed", time(c.updatedAt)],
    );
    return h("dl", { class: "facts card" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  /** The attempt's outcome in words, from the test answer or a delivery row. */
  function attemptWords(a) {
    const code = a.statusCode ? "HTTP " + a.statusCode : null;
    if (a.outcome === "delivered") return `The receiver answered ${code || "successfully"} in ${UT.ms(a.latencyMs)}.`;
    const why = a.error ? sentence(a.error) : code ? `The receiver answered ${code}.` : "";
    const lead = {
      retry: "Not delivered; an event would be retried later.",
      gone: "Not delivered: the receiver answered 410 Gone, so the channel was disabled.",
      refused: "Not delivered, and it never will be as configured.",
    }[a.outcome] || "Not delivered.";
    return lead + (why ? " " + why : "");
  }

  function deliveryTable(items, redeliver) {
    const newest = new Set();
    const seen = new Set();
    for (const a of items) {
      if (!seen.has(a.eventId)) { seen.add(a.eventId); newest.add(a.id); }
    }
    const columns = [
      { label: "When", cell: (a) => time(a.attemptedAt) },
      { label: "Event", class: "wrap", cell: (a) => EVENT_WORDS[a.eventType] || a.eventType },
      { label: "Event status", cell: (a) => badge(a.eventStatus) },
      { label: "Attempt", class: "num", cell: (a) => "#" + a.attempt },
      { label: "Outcome", cell: (a) => badge(a.outcome) },
      { label: "Answer", cell: (a) => h("span", {}, a.statusCode ? "HTTP " + a.statusCode : "no answer", h("span", { class: "muted" }, " · " + UT.ms(a.latencyMs))) },
      {
        label: "Details", class: "wrap",
        cell: (a) => h("div", {},
          a.outcome === "delivered" ? null : h("p", { class: "tight" }, attemptWords(a)),
          a.responseSnippet ? h("details", {}, h("summary", {}, "Receiver's answer"), h("pre", { class: "raw" }, a.responseSnippet)) : null,
          a.outcome === "delivered" && !a.responseSnippet ? h("span", { class: "muted" }, "–") : null),
      },
    ];
    if (can("write")) {
      columns.push({
        label: "Actions",
        cell: (a) => (newest.has(a.id)
          ? h("button", {
            type: "button",
            "aria-label": `Redeliver the ${(EVENT_WORDS[a.eventType] || a.eventType).toLowerCase()} event of ${new Date(a.attemptedAt).toLocaleString()}`,
            onClick: (event) => redeliver(a, event.currentTarget),
          }, "Redeliver")
          : ""),
      });
    }
    return table({
      caption: "Delivery attempts, newest first",
      empty: "No deliveries yet. Send a test to see one here.",
      rows: items,
      rowKey: (a) => String(a.id),
      columns,
    });
  }

  UT.route("channels/:id", async ({ id }) => {
    const path = "/channels/" + encodeURIComponent(id);
    const [channel, first] = await Promise.all([api.get(path), api.get(path + "/deliveries", { limit: 20 })]);
    let current = channel;
    let items = first.items || [];
    let cursor = first.nextCursor;
    const heading = header(channel.name,
      can("write") ? h("button", { type: "button", class: "primary", onClick: sendTest }, "Send test") : null,
      can("write") ? h("a", { href: "#/channels/" + channel.id + "/edit", class: "button-link secondary" }, "Edit") : null,
      can("write") ? h("button", { type: "button", class: "danger", onClick: remove }, "Delete") : null);
    const secret = pendingSecret && pendingSecret.id === channel.id
      ? secretOnce({
        title: "New signing secret",
        label: "Signing secret",
        value: pendingSecret.secret,
        warning: "It is shown only this once. Receivers verify each delivery's webhook-signature header with it.",
        onDone: () => {},
      })
      : null;
    pendingSecret = null;
    const testResult = h("div", { class: "channel-test", role: "status", "aria-label": "Test result" });
    let facts = channelFacts(channel);
    let log = deliveryTable(items, redeliver);
    const more = h("button", { type: "button", onClick: loadMore, hidden: !cursor }, "Load older deliveries");

    async function sendTest(event) {
      const button = event.currentTarget;
      button.disabled = true;
      testResult.replaceChildren(h("p", {}, "Sending a test event…"));
      try {
        const a = await api.post(path + "/test");
        testResult.replaceChildren(h("p", {}, badge(a.outcome), " ", attemptWords(a)),
          a.responseSnippet ? h("details", {}, h("summary", {}, "Receiver's answer"), h("pre", { class: "raw" }, a.responseSnippet)) : null);
        await reload();
      } catch (error) {
        testResult.replaceChildren(UT.failure(error));
      } finally {
        button.disabled = false;
      }
    }

    async function redeliver(a, button) {
      button.disabled = true;
      try {
        await api.post("/notification-events/" + a.eventId + "/redeliver");
        UT.notice("The event is queued again; a worker delivers it within seconds.");
        await reload();
      } catch (error) {
        UT.notice(error instanceof UT.ApiError ? sentence(error.message) : String(error), "bad");
        button.disabled = false;
      }
    }

    async function remove() {
      const ok = await UT.confirm("Delete channel?",
        `Delete the channel “${current.name}”? It stops receiving events at once and its delivery log is deleted with it.`,
        "Delete channel");
      if (!ok) return;
      try {
        await api.del(path);
        UT.notice(`Channel “${current.name}” deleted.`);
        location.hash = "#/channels";
      } catch (error) {
        UT.notice(error instanceof UT.ApiError ? sentence(error.message) : String(error), "bad");
      }
    }

    async function loadMore() {
      more.disabled = true;
      try {
        const page = await api.get(path + "/deliveries", { limit: 20, cursor });
        items = items.concat(page.items || []);
        cursor = page.nextCursor;
        log = UT.swap(log, deliveryTable(items, redeliver));
        more.hidden = !cursor;
      } finally {
        more.disabled = false;
      }
    }

    /** Re-reads the channel and as many deliveries as are shown. */
    async function reload() {
      const limit = Math.min(Math.max(items.length, 20), 100);
      const [fresh, page] = await Promise.all([api.get(path), api.get(path + "/deliveries", { limit })]);
      current = fresh;
      heading.querySelector("h1").textContent = fresh.name;
      facts = UT.swap(facts, channelFacts(fresh));
      if (items.length <= 100) {
        items = page.items || [];
        cursor = page.nextCursor;
        more.hidden = !cursor;
      }
      log = swapKeepingOpen(log, deliveryTable(items, redeliver));
    }

    const node = h("div", { class: "view-admin" },
      h("p", { class: "crumbs" }, h("a", { href: "#/channels" }, "Channels")),
      heading,
      secret,
      testResult,
      h("section", { class: "section", "aria-labelledby": "channel-settings" },
        h("h2", { id: "channel-settings" }, "Settings"),
        facts),
      h("section", { class: "section", "aria-labelledby": "channel-deliveries" },
        h("h2", { id: "channel-deliveries" }, "Deliveries"),
        log,
        h("div", { class: "load-more" }, more)));
    return { title: channel.name, node, refresh: reload };
  }, "channels");

  // ----------------------------------------------------------- API keys --

  const SCOPES = [
    { value: "read", label: "read: see everything" },
    { value: "write", label: "write: change monitors, channels, incidents, status pages" },
    { value: "admin", label: "admin: manage API keys and read the audit log (implies all)" },
  ];

  function keyState(k) {
    if (k.revokedAt) return "revoked";
    if (k.expiresAt && Date.parse(k.expiresAt) <= Date.now()) return "expired";
    return "active";
  }

  function keyTable(keys, revoke) {
    const me = UT.me();
    const order = { active: 0, expired: 1, revoked: 2 };
    const rows = keys.slice().sort((a, b) => order[keyState(a)] - order[keyState(b)] || Date.parse(b.createdAt) - Date.parse(a.createdAt));
    return table({
      caption: "API keys",
      empty: "No keys yet besides the bootstrap key.",
      rows,
      rowKey: (k) => k.id,
      rowClass: (k) => (keyState(k) === "active" ? null : "paused"),
      columns: [
        { label: "Name", class: "wrap", cell: (k) => h("span", {}, k.name, k.id === me.keyId ? h("span", { class: "muted small" }, " (this session)") : null) },
        { label: "Key starts with", cell: (k) => h("code", {}, k.prefix + "…") },
        { label: "Scopes", cell: (k) => k.scopes.join(", ") },
        { label: "Status", cell: (k) => badge(keyState(k)) },
        { label: "Created", cell: (k) => time(k.createdAt) },
        { label: "Last used", cell: (k) => time(k.lastUsedAt) },
        { label: "Expires", cell: (k) => (k.expiresAt ? time(k.expiresAt) : h("span", { class: "muted" }, "never")) },
        {
          label: "Actions",
          cell: (k) => (keyState(k) === "revoked" ? h("span", { class: "muted" }, "–")
            : h("button", { type: "button", "aria-label": "Revoke " + k.name, onClick: (e) => revoke(k, e.currentTarget) }, "Revoke")),
        },
      ],
    });
  }

  UT.route("api-keys", async () => {
    if (!can("admin")) return needsAdmin("API keys", "It creates, lists and revokes the keys scripts and people use to call the API.");
    let list = keyTable(await api.all("/api-keys"), revoke);
    const created = h("div", {});

    async function reload() {
      list = UT.swap(list, keyTable(await api.all("/api-keys"), revoke));
    }

    async function revoke(k, button) {
      const self = k.id === UT.me().keyId;
      const ok = await UT.confirm("Revoke API key?",
        `Revoke the key “${k.name}” (${k.prefix}…)? Every script or person using it is refused from now on; this cannot be undone.` +
        (self ? " It is the key of this session: you will be signed out." : ""),
        "Revoke key");
      if (!ok) return;
      button.disabled = true;
      try {
        await api.del("/api-keys/" + k.id);
        UT.notice(`Key “${k.name}” revoked.`);
        await reload();
      } catch (error) {
        if (!(error instanceof UT.ApiError) || error.status !== 401) {
          UT.notice(error instanceof UT.ApiError ? sentence(error.message) : String(error), "bad");
          button.disabled = false;
        }
      }
    }

    const scopes = h("fieldset", { class: "field", dataset: { field: "scopes" } },
      h("legend", {}, "Scopes"),
      h("p", { class: "field-error" }),
      SCOPES.map((s) => UT.field({ name: "scope:" + s.value, label: s.label, kind: "checkbox", value: s.value !== "admin" })));
    // What a reset of the form goes back to.
    scopes.querySelectorAll("input[type=checkbox]").forEach((box) => { box.defaultChecked = box.checked; });
    const form = UT.form({
      label: "New API key",
      submit: "Create key",
      fields: [
        UT.field({ name: "name", label: "Name", required: true, placeholder: "Grafana", help: "Who or what uses the key, to recognise it later." }),
        scopes,
        UT.field({ name: "expiresAt", label: "Expires", kind: "datetime-local", help: "Optional, in your local time. Empty: the key never expires." }),
      ],
      async onSubmit(values, formNode) {
        const body = {
          name: values.name.trim(),
          scopes: SCOPES.filter((s) => values["scope:" + s.value]).map((s) => s.value),
        };
        if (values.expiresAt) {
          const at = new Date(values.expiresAt);
          body.expiresAt = Number.isNaN(at.getTime()) ? values.expiresAt : at.toISOString();
        }
        const key = await api.post("/api-keys", body);
        formNode.reset();
        created.replaceChildren(secretOnce({
          title: `New key “${key.name}”`,
          label: "API key",
          value: key.key,
          warning: "This is the only time the key is shown: UpTime keeps only its hash. Store it in your password manager or secret store.",
          onDone: () => formNode.querySelector("input").focus(),
        }));
        created.querySelector("input").focus();
        await reload();
      },
    });

    const node = h("div", { class: "view-admin" },
      header("API keys"),
      created,
      h("section", { class: "section", "aria-labelledby": "keys-create" },
        h("h2", { id: "keys-create" }, "Create a key"),
        form),
      h("section", { class: "section", "aria-labelledby": "keys-list" },
        h("h2", { id: "keys-list" }, "Keys"),
        list));
    return { title: "API keys", node, refresh: reload };
  }, "api-keys");

  // ---------------------------------------------------------- audit log --

  const ENTITY_TYPES = [
    ["monitor", "Monitor"], ["channel", "Channel"], ["notification_event", "Notification event"],
    ["api_key", "API key"], ["component", "Component"], ["status_incident", "Status incident"],
    ["maintenance_window", "Maintenance window"], ["status_page", "Status page"],
  ];
  const ENTITY_WORDS = Object.fromEntries(ENTITY_TYPES);
  const ACTIONS = [
    "monitor.create", "monitor.update", "monitor.pause", "monitor.resume", "monitor.delete",
    "channel.create", "channel.update", "channel.test", "channel.delete", "notification_event.redeliver",
    "api_key.create", "api_key.revoke",
    "component.create", "component.update", "component.status", "component.delete",
    "status_incident.create", "status_incident.update", "status_incident.delete",
    "status_incident_update.create", "status_incident_update.edit",
    "maintenance_window.create", "maintenance_window.update", "maintenance_window.delete",
    "status_page.create", "status_page.update", "status_page.delete",
  ];
  const VERBS = {
    create: "Created", update: "Changed", delete: "Deleted", pause: "Paused", resume: "Resumed", revoke: "Revoked",
    test: "Sent a test to", status: "Set the status of", edit: "Edited", redeliver: "Queued again",
  };
  const NOUNS = {
    monitor: "monitor", channel: "channel", notification_event: "notification event", api_key: "API key",
    component: "component", status_incident: "status incident", status_incident_update: "status incident update",
    maintenance_window: "maintenance window", status_page: "status page",
  };
  /** Fields that change on every update and say nothing by themselves. */
  const NOISE = new Set(["updatedAt"]);
  /** Fields left out of a created or deleted entity's summary. */
  const IDENTITY = new Set(["id", "createdAt", "updatedAt"]);
  const SUMMARY_FIELDS = 10;

  function actionWords(action) {
    const [noun, verb] = String(action).split(".");
    const v = VERBS[verb] || verb;
    const n = NOUNS[noun] || noun.replace(/_/g, " ");
    return `${v} ${n}`;
  }

  /** A JSON value flattened to {"a.b": value} (arrays stay whole). */
  function flatten(value, prefix, out) {
    const into = out || {};
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (!keys.length && prefix) into[prefix] = value;
      for (const key of keys) flatten(value[key], prefix ? prefix + "." + key : key, into);
    } else if (prefix) {
      into[prefix] = value;
    }
    return into;
  }

  /** A value as a person reads it. */
  function shown(value) {
    if (value === null || value === undefined) return h("span", { class: "muted" }, "none");
    if (value === true) return "yes";
    if (value === false) return "no";
    if (Array.isArray(value)) {
      if (!value.length) return h("span", { class: "muted" }, "none");
      if (value.every((v) => v === null || typeof v !== "object")) return value.join(", ");
      return JSON.stringify(value);
    }
    if (typeof value === "object") return JSON.stringify(value);
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) {
      return h("time", { datetime: value, title: value }, new Date(value).toLocaleString());
    }
    return String(value);
  }

  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  /** The changed fields of an entry, before → after; or a summary of what was created or deleted. */
  function changes(entry) {
    const before = entry.before ? flatten(entry.before) : null;
    const after = entry.after ? flatten(entry.after) : null;
    if (before && after) {
      const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
        .filter((k) => !NOISE.has(k) && !same(before[k], after[k]));
      if (!keys.length) return h("p", { class: "muted tight" }, "No field changed.");
      return h("dl", { class: "diff" }, keys.map((k) => [
        h("dt", {}, k),
        h("dd", {},
          h("span", { class: "visually-hidden" }, "from "),
          h("del", {}, shown(before[k])),
          h("span", { "aria-hidden": "true", class: "arrow" }, " → "),
          h("span", { class: "visually-hidden" }, " to "),
          h("ins", {}, shown(after[k]))),
      ]));
    }
    const one = after || before;
    if (!one) return h("span", { class: "muted" }, "–");
    const keys = Object.keys(one).filter((k) => !IDENTITY.has(k) && one[k] !== null && one[k] !== undefined);
    const listed = keys.slice(0, SUMMARY_FIELDS);
    return h("div", {},
      h("p", { class: "muted tight small" }, after ? "Created with:" : "Before it was deleted:"),
      h("dl", { class: "diff" }, listed.map((k) => [h("dt", {}, k), h("dd", {}, after ? h("ins", {}, shown(one[k])) : h("del", {}, shown(one[k])))])),
      keys.length > listed.length ? h("p", { class: "muted tight small" }, `and ${UT.plural(keys.length - listed.length, "more field")} in the JSON below.`) : null);
  }

  /** The name (or title) an entry's entity has in its before or after. */
  function entityName(entry) {
    for (const side of [entry.after, entry.before]) {
      if (side && typeof side === "object" && (side.name || side.title)) return side.name || side.title;
    }
    return null;
  }

  function entityCell(entry, names) {
    const name = entityName(entry) || names.get(entry.entityType + "/" + entry.entityId);
    const kind = ENTITY_WORDS[entry.entityType] || NOUNS[entry.entityType] || entry.entityType;
    const label = name ? `${name}` : shortId(entry.entityId);
    const deleted = entry.action.endsWith(".delete");
    const route = { monitor: "#/monitors/", channel: "#/channels/" }[entry.entityType];
    return h("span", {},
      h("span", { class: "muted small" }, kind + " "),
      route && !deleted ? h("a", { href: route + encodeURIComponent(entry.entityId) }, label) : label);
  }

  function auditRows(entries, actors) {
    // Entries without a name (a channel's test, say) borrow it from another
    // entry about the same entity.
    const names = new Map();
    for (const e of entries) {
      const name = entityName(e);
      const key = e.entityType + "/" + e.entityId;
      if (name && !names.has(key)) names.set(key, name);
    }
    return table({
      caption: "Audit log entries, newest first",
      empty: "No entry matches these filters.",
      rows: entries,
      rowKey: (e) => String(e.id),
      columns: [
        { label: "When", cell: (e) => time(e.at) },
        { label: "Who", class: "wrap", cell: (e) => actors(e.actor) },
        { label: "What", class: "wrap", cell: (e) => h("span", {}, actionWords(e.action), h("br"), h("code", { class: "muted small" }, e.action)) },
        { label: "Entity", class: "wrap", cell: (e) => entityCell(e, names) },
        {
          label: "Change", class: "wrap change",
          cell: (e) => h("div", {},
            changes(e),
            h("details", {}, h("summary", {}, "Before and after as JSON"),
              h("pre", { class: "raw" }, JSON.stringify({ before: e.before, after: e.after }, null, 2)),
              h("p", { class: "muted small tight" }, `Request ${e.requestId || "–"} from ${e.clientAddr || "–"}`))),
        },
      ],
    });
  }

  UT.route("audit", async () => {
    if (!can("admin")) return needsAdmin("Audit log", "It lists every change made through the API, by whom, with the before and after of each.");
    const PAGE = 50;
    const keys = await api.all("/api-keys");
    const names = new Map(keys.map((k) => [k.id, k.name]));
    const actors = (actor) => (actor === "bootstrap" ? "Bootstrap key"
      : names.has(actor) ? names.get(actor) : h("code", {}, shortId(actor)));
    let filters = {};
    let entries = [];
    let cursor = null;

    const fetchPage = (extra) => api.get("/audit-logs", Object.assign({ limit: PAGE }, filters, extra || {}));
    let list = h("div", {});
    const count = h("p", { class: "muted", role: "status" });
    const more = h("button", { type: "button", onClick: loadMore, hidden: true }, "Load more");

    function draw() {
      list = swapKeepingOpen(list, auditRows(entries, actors));
      more.hidden = !cursor;
      count.textContent = entries.length ? `Showing the ${UT.plural(entries.length, "latest entry", "latest entries")}${cursor ? "; older ones below" : ""}.` : "";
    }

    async function loadFirst() {
      const page = await fetchPage();
      entries = page.items || [];
      cursor = page.nextCursor;
      draw();
    }

    async function loadMore() {
      more.disabled = true;
      try {
        const page = await fetchPage({ cursor });
        entries = entries.concat(page.items || []);
        cursor = page.nextCursor;
        draw();
      } catch (error) {
        UT.notice(error instanceof UT.ApiError ? sentence(error.message) : String(error), "bad");
      } finally {
        more.disabled = false;
      }
    }

    const toIso = (local) => {
      if (!local) return "";
      const at = new Date(local);
      return Number.isNaN(at.getTime()) ? local : at.toISOString();
    };
    const filterForm = UT.form({
      label: "Filter the audit log",
      submit: "Apply filters",
      fields: h("div", { class: "filters" },
        UT.field({ name: "entityType", label: "Entity type", kind: "select", value: "",
          options: [{ value: "", label: "Any type" }, ...ENTITY_TYPES.map(([value, label]) => ({ value, label }))] }),
        UT.field({ name: "action", label: "Action", kind: "select", value: "",
          options: [{ value: "", label: "Any action" }, ...ACTIONS.map((a) => ({ value: a, label: `${actionWords(a)} (${a})` }))] }),
        UT.field({ name: "actor", label: "Who", kind: "select", value: "",
          options: [{ value: "", label: "Anyone" }, { value: "bootstrap", label: "Bootstrap key" },
            ...keys.map((k) => ({ value: k.id, label: `${k.name} (${k.prefix}…)` }))] }),
        UT.field({ name: "entityId", label: "Entity id", placeholder: "A monitor's or channel's id" }),
        UT.field({ name: "from", label: "From", kind: "datetime-local" }),
        UT.field({ name: "to", label: "Until", kind: "datetime-local" })),
      extra: h("button", { type: "reset" }, "Clear"),
      async onSubmit(values) {
        filters = {
          entityType: values.entityType, action: values.action, actor: values.actor,
          entityId: values.entityId.trim(), from: toIso(values.from), to: toIso(values.to),
        };
        await loadFirst();
      },
    });
    filterForm.classList.add("filter-form");
    filterForm.addEventListener("reset", () => {
      setTimeout(async () => {
        filters = {};
        delete filterForm.dataset.dirty;
        UT.clearErrors(filterForm);
        try { await loadFirst(); } catch (error) { UT.showErrors(filterForm, error); }
      });
    });

    await loadFirst();
    // Open on wide screens; a phone reads the entries first.
    const filterBox = h("details", { class: "filter-box section", open: window.matchMedia("(min-width: 761px)").matches },
      h("summary", {}, "Filters"), filterForm);
    const node = h("div", { class: "view-admin" },
      header("Audit log"),
      h("p", { class: "muted view-intro" }, "Every change made through the API, newest first, with who made it and the fields it changed. Secrets are never recorded; channel URLs appear masked."),
      filterBox,
      count,
      list,
      h("div", { class: "load-more" }, more));
    return {
      title: "Audit log",
      node,
      async refresh() {
        // New entries join at the top; what is shown below stays.
        const page = await fetchPage();
        const newest = entries.length ? entries[0].id : 0;
        const fresh = (page.items || []).filter((e) => e.id > newest);
        if (!fresh.length) return;
        if (!entries.length) cursor = page.nextCursor;
        entries = fresh.concat(entries);
        draw();
      },
    };
  }, "audit");
})();
