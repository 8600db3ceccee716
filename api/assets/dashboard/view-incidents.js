// Incidents (#/incidents): status incidents (what people are told) and
// monitor incidents (machine facts), open and past; a status incident's
// page (#/incidents/status/:id) with its timeline and a form to post an
// update that may change its components' statuses; and the form that opens
// one (#/incidents/new). Component helpers come from view-status.js
// (UT.statusKit), read when a view renders.
"use strict";

(() => {
  const { h, api, badge, time, table, can, header, field, form, notice } = UT;
  /** The class of every view here, which scopes their styles. */
  const VIEW = "view-incidents";
  const kit = () => UT.statusKit;

  const PAGE = 25;
  const MAX_PAGE = 500;

  const INCIDENT_STATUSES = [
    ["investigating", "Investigating"], ["identified", "Identified"], ["monitoring", "Monitoring"], ["resolved", "Resolved"],
  ];
  const IMPACTS = { none: ["No impact", "muted"], minor: ["Minor", "warn"], major: ["Major", "bad-soft"], critical: ["Critical", "bad"] };

  function statusBadge(status) {
    return status === "postmortem" ? badge("completed", "Postmortem") : badge(status);
  }

  function impactBadge(impact) {
    const [words, tone] = IMPACTS[impact] || [impact, "muted"];
    return h("span", { class: "badge badge-" + tone }, words + " impact");
  }

  /** "2 h 5 min" for a number of seconds. */
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    const hrs = Math.floor(m / 60);
    if (hrs < 48) return hrs + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
    return Math.floor(hrs / 24) + " d" + (hrs % 24 ? " " + (hrs % 24) + " h" : "");
  }

  function since(startedAt, resolvedAt) {
    return (Date.parse(resolvedAt || new Date().toISOString()) - Date.parse(startedAt)) / 1000;
  }

  // -------------------------------------------------------------- lists --

  async function load(limits) {
    const [openStatus, pastStatus, openMonitor, pastMonitor, components] = await Promise.all([
      api.get("/status-incidents", { open: "true", limit: MAX_PAGE }),
      api.get("/status-incidents", { open: "false", limit: limits.status }),
      api.get("/incidents", { open: "true", limit: MAX_PAGE }),
      api.get("/incidents", { open: "false", limit: limits.monitor }),
      api.all("/components"),
    ]);
    return { openStatus, pastStatus, openMonitor, pastMonitor, components: new Map(components.map((c) => [c.id, c])) };
  }

  function componentNames(ids, components) {
    const known = ids.map((id) => components.get(id)).filter(Boolean).map((c) => c.name);
    return known.length ? known.join(", ") : h("span", { class: "muted" }, "none");
  }

  function statusTable(page, data, caption, empty, past) {
    return table({
      caption, empty, rows: page.items, rowKey: (i) => i.id,
      columns: [
        { label: "Status", cell: (i) => statusBadge(i.status) },
        { label: "Incident", class: "wrap", cell: (i) => h("a", { href: "#/incidents/status/" + i.id }, i.name) },
        { label: "Impact", cell: (i) => impactBadge(i.impact) },
        { label: "Components", class: "wrap", cell: (i) => componentNames(i.componentIds, data.components) },
        { label: "Started", cell: (i) => time(i.startedAt) },
        past ? { label: "Lasted", cell: (i) => duration(since(i.startedAt, i.resolvedAt)) } : null,
      ].filter(Boolean),
    });
  }

  function monitorTable(page, caption, empty, past) {
    return table({
      caption, empty, rows: page.items, rowKey: (i) => i.id,
      columns: [
        { label: "Status", cell: (i) => (i.resolvedAt ? badge("resolved") : badge("down", "Down")) },
        { label: "Monitor", class: "wrap", cell: (i) => h("a", { href: "#/monitors/" + i.monitorId }, i.monitorName || "(deleted monitor)") },
        { label: "Started", cell: (i) => time(i.startedAt) },
        past ? { label: "Lasted", cell: (i) => duration(i.durationSeconds ?? since(i.startedAt, i.resolvedAt)) } : null,
        { label: "Failed checks", class: "num", cell: (i) => String(i.failureCount) },
        { label: "Error", class: "wrap", cell: (i) => i.lastError || i.firstError || "" },
      ].filter(Boolean),
    });
  }

  /** A "Show older" button when a list has more than it shows. */
  function more(page, limits, key, redraw) {
    if (!page.nextCursor || limits[key] >= MAX_PAGE) return null;
    return h("p", {}, h("button", { type: "button", onClick: () => { limits[key] = Math.min(MAX_PAGE, limits[key] + PAGE * 2); redraw(); } }, "Show older"));
  }

  function lists(data, limits, redraw) {
    return h("div", {},
      h("section", { class: "section", "aria-labelledby": "si-heading" },
        h("h2", { id: "si-heading" }, "Status incidents"),
        h("p", { class: "muted" }, "What your status pages tell people, with a timeline of updates."),
        h("h3", { class: "subhead" }, "Open"),
        statusTable(data.openStatus, data, "Open status incidents", "No open status incident.", false),
        h("h3", { class: "subhead" }, "Past"),
        statusTable(data.pastStatus, data, "Past status incidents", "No past status incidents.", true),
        more(data.pastStatus, limits, "status", redraw)),
      h("section", { class: "section", "aria-labelledby": "mi-heading" },
        h("h2", { id: "mi-heading" }, "Monitor incidents"),
        h("p", { class: "muted" }, "Opened by the checks when a monitor goes down; they close by themselves when it recovers."),
        h("h3", { class: "subhead" }, "Open"),
        monitorTable(data.openMonitor, "Open monitor incidents", "No open monitor incident: every monitor is up.", false),
        h("h3", { class: "subhead" }, "Past"),
        monitorTable(data.pastMonitor, "Past monitor incidents", "No past monitor incidents.", true),
        more(data.pastMonitor, limits, "monitor", redraw)));
  }

  UT.route("incidents", async () => {
    const limits = { status: PAGE, monitor: PAGE };
    let data = await load(limits);
    let node = null;
    // An open incident's duration grows by itself; the page shows its start instead.
    const shown = (d) => kit().signature(d.openStatus, d.pastStatus, d.openMonitor.items.map((i) => Object.assign({}, i, { durationSeconds: null })),
      d.pastMonitor, [...d.components.values()].map((c) => [c.id, c.name]));
    const redraw = async () => {
      const fresh = await load(limits);
      if (shown(fresh) === shown(data)) return;
      data = fresh;
      node = UT.swap(node, lists(data, limits, redraw));
    };
    node = lists(data, limits, redraw);
    return {
      title: "Incidents",
      node: h("div", { class: VIEW },
        header("Incidents", can("write") ? h("a", { href: "#/incidents/new", class: "button-link" }, "New status incident") : null),
        node),
      refresh: redraw,
    };
  }, "incidents");

  // ------------------------------------------------------------ create --

  /** One choice per component: not affected, affected, or affected with a status. */
  function componentChoices(components, name, chosen) {
    return kit().flatten(components).map(({ component: c, label, depth }) => {
      const f = field({
        name: name + ":" + c.id, label, kind: "select", value: chosen[c.id] || "",
        options: [
          { value: "", label: "Not affected" },
          { value: "automatic", label: "Affected; status from its monitors (now " + c.status.replace(/_/g, " ") + ")" },
          ...kit().COMPONENT_STATUSES.map(([value, words]) => ({ value, label: "Affected: " + words })),
        ],
      });
      if (depth) f.classList.add("field-child");
      return f;
    });
  }

  async function newIncident() {
    const [components, openMonitor] = await Promise.all([api.all("/components"), api.get("/incidents", { open: "true", limit: 100 })]);
    const title = "New status incident";
    if (!can("write")) {
      return { title, node: h("div", { class: VIEW }, header(title), h("p", {}, "Your key can read but not open status incidents. ", h("a", { href: "#/incidents" }, "Back to the incidents."))) };
    }
    const { group, checklist, ticked, fromLocalInput, orNull } = kit();
    const node = form({
      label: title,
      submit: "Open incident",
      cancel: () => { location.hash = "#/incidents"; },
      fields: [
        field({ name: "name", label: "Name", required: true, help: "A short headline people understand, such as “Checkout errors”." }),
        field({ name: "status", label: "Status", kind: "select", value: "investigating",
          options: INCIDENT_STATUSES.map(([value, words]) => ({ value, label: words })) }),
        field({ name: "body", label: "First update", kind: "textarea", rows: 4,
          help: "What people read first, such as “We are investigating errors at checkout.”" }),
        components.length
          ? group("componentIds", "Affected components", "A status chosen here shows on the component while the incident is open.",
            h("div", { class: "field-group-body", dataset: { field: "componentStatuses" } },
              h("p", { class: "field-error" }),
              componentChoices(components, "component", {})))
          : h("p", { class: "muted" }, "There are no components to mark as affected."),
        field({ name: "impact", label: "Impact", kind: "select", value: "",
          options: [{ value: "", label: "From the component statuses" }, ...Object.entries(IMPACTS).map(([value, [words]]) => ({ value, label: words }))],
          help: "By default: major outage → critical, partial outage → major, degraded performance → minor." }),
        openMonitor.items.length
          ? group("monitorIncidentIds", "Linked monitor incidents", "Open monitor incidents behind it (optional).",
            checklist("monitorIncident", openMonitor.items.map((i) => ({ id: i.id, label: (i.monitorName || "Monitor") + ", down since " + new Date(i.startedAt).toLocaleString() })), []))
          : null,
        field({ name: "startedAt", label: "Started (optional, your local time)", kind: "datetime-local", help: "Leave empty for now." }),
      ],
      async onSubmit(values) {
        const componentIds = [];
        const componentStatuses = {};
        for (const [name, value] of Object.entries(values)) {
          if (!name.startsWith("component:") || !value) continue;
          const id = name.slice("component:".length);
          componentIds.push(id);
          if (value !== "automatic") componentStatuses[id] = value;
        }
        const body = {
          name: values.name, status: values.status, body: orNull(values.body),
          componentIds, componentStatuses, monitorIncidentIds: ticked(values, "monitorIncident"),
        };
        if (values.impact) body.impact = values.impact;
        if (values.startedAt) body.startedAt = fromLocalInput(values.startedAt);
        const created = await api.post("/status-incidents", body);
        notice("Opened “" + created.name + "”.");
        location.hash = "#/incidents/status/" + created.id;
      },
    });
    return { title, node: h("div", { class: VIEW }, header(title, h("a", { href: "#/incidents" }, "All incidents")), node) };
  }

  UT.route("incidents/new", newIncident, "incidents");

  // ------------------------------------------------------------ detail --

  function facts(incident, components) {
    const auto = incident.autoComponentId ? components.get(incident.autoComponentId) : null;
    return h("dl", { class: "facts card" },
      h("dt", {}, "Status"), h("dd", {}, statusBadge(incident.status)),
      h("dt", {}, "Impact"), h("dd", {}, impactBadge(incident.impact)),
      h("dt", {}, "Started"), h("dd", {}, time(incident.startedAt, "exact"), " (", time(incident.startedAt), ")"),
      incident.resolvedAt ? [h("dt", {}, "Resolved"),
        h("dd", {}, time(incident.resolvedAt, "exact"), ", after " + duration(since(incident.startedAt, incident.resolvedAt)))] : null,
      incident.autoComponentId ? [h("dt", {}, "Opened"), h("dd", {}, "Automatically, for " + (auto ? auto.name : "a deleted component") +
        (incident.takenOver ? "; an operator has taken it over." : "; the first update you post takes it over."))] : null,
      incident.monitorIncidentIds.length ? [h("dt", {}, "Monitor incidents"), h("dd", {}, UT.plural(incident.monitorIncidentIds.length, "linked incident"))] : null);
  }

  function affected(incident, components) {
    const rows = incident.componentIds.map((id) => ({ id, c: components.get(id), set: incident.componentStatuses[id] }));
    return table({
      caption: "Affected components",
      empty: "No components are marked as affected.",
      rows, rowKey: (r) => r.id,
      columns: [
        { label: "Component", class: "wrap", cell: (r) => (r.c ? r.c.name : "(deleted component)") },
        { label: "Set by this incident", cell: (r) => (r.set ? badge(r.set) : h("span", { class: "muted" }, "no, from its monitors")) },
        { label: "Shows now", cell: (r) => (r.c ? badge(r.c.status) : "–") },
      ],
    });
  }

  function timeline(incident, components, reload) {
    if (!incident.updates.length) return h("p", { class: "empty" }, "No updates yet.");
    return h("ol", { class: "timeline", "aria-label": "Timeline, newest first" }, incident.updates.map((u) => {
      const changes = Object.entries(u.componentStatuses || {});
      return h("li", { class: "timeline-item", dataset: { key: u.id } },
        h("div", { class: "timeline-head" },
          statusBadge(u.status),
          h("span", {}, time(u.displayAt, "exact"), " · ", time(u.displayAt)),
          u.automatic ? h("span", { class: "tag" }, "Automatic") : null,
          u.editedAt ? h("span", { class: "muted" }, "edited ", time(u.editedAt)) : null),
        h("p", { class: "timeline-body" }, u.body),
        changes.length ? h("ul", { class: "timeline-changes", "aria-label": "Component statuses set by this update" },
          changes.map(([id, status]) => h("li", {}, (components.get(id) ? components.get(id).name : "(deleted component)") + ": ", badge(status)))) : null,
        can("write") ? h("button", { type: "button", class: "small", "aria-label": "Edit the text of the " + u.status + " update of " + new Date(u.displayAt).toLocaleString(),
          onClick: () => editUpdate(incident, u, reload) }, "Edit text") : null);
    }));
  }

  function editUpdate(incident, update, reload) {
    kit().formDialog("Edit an update's text", (close) => form({
      label: "Text of the update",
      submit: "Save text",
      cancel: () => close(),
      fields: [field({ name: "body", label: "Text", kind: "textarea", rows: 5, value: update.body, required: true })],
      async onSubmit(values) {
        await api.patch(`/status-incidents/${incident.id}/updates/${update.id}`, { body: values.body });
        close();
        notice("The update's text was saved.");
        await reload();
      },
    }));
  }

  function updateForm(incident, components, reload) {
    const closed = incident.status === "resolved" || incident.status === "postmortem";
    const statuses = closed ? [["postmortem", "Postmortem"]] : INCIDENT_STATUSES;
    const choices = incident.componentIds.filter((id) => components.has(id)).map((id) => {
      const c = components.get(id);
      return field({
        name: "component:" + id, label: c.name, kind: "select", value: "",
        options: [{ value: "", label: "Leave as it is (shows " + c.status.replace(/_/g, " ") + ")" },
          ...kit().COMPONENT_STATUSES.map(([value, words]) => ({ value, label: words }))],
      });
    });
    const statusField = field({ name: "status", label: "Status", kind: "select", value: closed ? "postmortem" : incident.status,
      options: statuses.map(([value, words]) => ({ value, label: words })),
      help: closed ? "The incident is resolved: a postmortem update becomes its postmortem." : null });
    const componentsGroup = !closed && choices.length
      ? kit().group("componentStatuses", "Component statuses", "Change what an affected component shows while the incident is open.", choices)
      : null;
    const resolving = h("p", { class: "help", hidden: true }, "Resolving returns every affected component to its automatic status.");
    const node = form({
      label: "Post an update",
      submit: "Post update",
      fields: [statusField, field({ name: "body", label: "Message", kind: "textarea", rows: 4, required: true,
        help: "What people read on the status page." }), componentsGroup, resolving],
      async onSubmit(values) {
        const body = { status: values.status, body: values.body };
        if (values.status !== "resolved" && !closed) {
          const componentStatuses = {};
          for (const [name, value] of Object.entries(values)) {
            if (name.startsWith("component:") && value) componentStatuses[name.slice("component:".length)] = value;
          }
          if (Object.keys(componentStatuses).length) body.componentStatuses = componentStatuses;
        }
        await api.post(`/status-incidents/${incident.id}/updates`, body);
        delete node.dataset.dirty;
        node.reset();
        notice(values.status === "resolved" ? "The incident is resolved." : "The update is posted.");
        await reload();
      },
    });
    const follow = () => {
      const isResolving = statusField.querySelector("select").value === "resolved";
      if (componentsGroup) componentsGroup.hidden = isResolving;
      resolving.hidden = !isResolving;
    };
    statusField.querySelector("select").addEventListener("change", follow);
    follow();
    return h("section", { class: "section card", "aria-labelledby": "post-update" },
      h("h2", { id: "post-update" }, closed ? "Write the postmortem" : "Post an update"), node);
  }

  async function removeIncident(incident) {
    if (!(await UT.confirm("Delete " + incident.name, `Delete the status incident “${incident.name}” and its timeline? Its components return to their automatic status.`, "Delete"))) return;
    try {
      await api.del("/status-incidents/" + incident.id);
      notice("“" + incident.name + "” was deleted.");
      location.hash = "#/incidents";
    } catch (error) {
      notice("Could not delete it: " + UT.sentence(error.message), "bad");
    }
  }

  UT.route("incidents/status/:id", async (params) => {
    const fetchAll = async () => {
      const [incident, list] = await Promise.all([api.get("/status-incidents/" + params.id), api.all("/components")]);
      return { incident, components: new Map(list.map((c) => [c.id, c])) };
    };
    let data = await fetchAll();
    const head = h("div", {});
    const summary = h("div", {});
    const formSlot = h("div", {});
    const timelineSlot = h("div", {});
    let formKey = null;
    const draw = () => {
      const { incident, components } = data;
      head.replaceChildren(header(incident.name, can("write")
        ? h("button", { type: "button", class: "danger-quiet", onClick: () => removeIncident(incident) }, "Delete") : null));
      summary.replaceChildren();
      UT.append(summary, [
        facts(incident, components),
        incident.postmortem ? h("section", { class: "section" }, h("h2", {}, "Postmortem"), h("p", { class: "timeline-body" }, incident.postmortem)) : null,
        h("section", { class: "section", "aria-labelledby": "affected-heading" }, h("h2", { id: "affected-heading" }, "Affected components"), affected(incident, components))]);
      timelineSlot.replaceChildren(
        h("section", { class: "section", "aria-labelledby": "timeline-heading" }, h("h2", { id: "timeline-heading" }, "Timeline"), timeline(incident, components, reload)));
      // The form is rebuilt only when what it offers changes (never under typing: the router waits).
      const key = [incident.status, incident.componentIds.join(","), [...components.values()].map((c) => c.status).join(",")].join("|");
      if (can("write") && key !== formKey) {
        formKey = key;
        formSlot.replaceChildren(updateForm(incident, components, reload));
      }
    };
    const shown = (d) => kit().signature(d.incident, [...d.components.values()].map((c) => [c.id, c.name, c.status]));
    const reload = async () => {
      const fresh = await fetchAll();
      if (shown(fresh) === shown(data)) return;
      data = fresh;
      const x = window.scrollX;
      const y = window.scrollY;
      draw();
      window.scrollTo(x, y);
    };
    draw();
    return {
      title: data.incident.name,
      node: h("div", { class: VIEW }, head, h("p", {}, h("a", { href: "#/incidents" }, "All incidents")), summary, formSlot, timelineSlot),
      refresh: reload,
    };
  }, "incidents");
})();
