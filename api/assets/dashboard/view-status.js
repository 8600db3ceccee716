// Views of what people are told: components (#/components, a tree of groups
// and their components with statuses, manual overrides and the monitors
// behind them), status pages (#/status-pages, and their editor with
// sections to order and a link to the public page) and maintenance windows
// (#/maintenance: in progress, upcoming and past; a form for one-off and
// recurring windows with a live preview of the next occurrences).
//
// Also shares, as UT.statusKit, the component helpers the incident views use.
"use strict";

(() => {
  const { h, api, badge, time, table, can, header, field, form, notice } = UT;
  /** The class of every view here, which scopes their styles. */
  const VIEW = "view-status";

  // ------------------------------------------------------------ shared --

  /** The five statuses a component can show, in order of severity. */
  const COMPONENT_STATUSES = [
    ["operational", "Operational"], ["degraded_performance", "Degraded performance"],
    ["partial_outage", "Partial outage"], ["major_outage", "Major outage"],
    ["under_maintenance", "Under maintenance"],
  ];

  function byPosition(a, b) {
    return a.position - b.position || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  }

  /**
   * Components as a tree, in the order the status pages show them: groups
   * and ungrouped components by position, each group's components under it.
   * [{component, children: [component]}]
   */
  function tree(components) {
    const ids = new Set(components.map((c) => c.id));
    const top = components.filter((c) => !c.groupId || !ids.has(c.groupId)).sort(byPosition);
    return top.map((component) => ({
      component,
      children: components.filter((c) => c.groupId === component.id).sort(byPosition),
    }));
  }

  /** Every component in tree order, each with the label a list of choices shows. */
  function flatten(components) {
    const out = [];
    for (const node of tree(components)) {
      out.push({ component: node.component, label: node.component.name + (node.component.group ? " (group)" : ""), depth: 0 });
      for (const child of node.children) {
        out.push({ component: child, label: node.component.name + " › " + child.name, depth: 1 });
      }
    }
    return out;
  }

  /**
   * A labelled group of controls that the API's 422 details can point at
   * (`name` is the field they name): a fieldset with a legend, its own
   * error slot first, then `children`.
   */
  function group(name, legend, help, ...children) {
    const errorId = UT.uid("f-" + name + "-error");
    return h("fieldset", { class: "field field-group", dataset: { field: name }, "aria-describedby": errorId },
      h("legend", {}, legend),
      help ? h("p", { class: "help" }, help) : null,
      h("p", { class: "field-error", id: errorId }),
      children);
  }

  /** A checkbox list of choices (`key:id` names), scrolling when long. */
  function checklist(key, items, checked) {
    if (!items.length) return null;
    return h("ul", { class: "checklist" }, items.map((item) => {
      const id = UT.uid("c-" + key);
      return h("li", { class: item.depth ? "child" : null },
        h("input", { type: "checkbox", id, name: key + ":" + item.id, checked: checked.includes(item.id) }),
        h("label", { for: id }, item.label));
    }));
  }

  /** The ids ticked in a checklist made with `key`. */
  function ticked(values, key) {
    return Object.entries(values).filter(([name, on]) => name.startsWith(key + ":") && on === true)
      .map(([name]) => name.slice(key.length + 1));
  }

  /** A form in a modal dialog; `close()` ends it. */
  function formDialog(title, build) {
    let node = null;
    const close = () => { if (node) node.close(); };
    const body = build(close);
    UT.dialog({ title, body, actions: [] });
    node = body.closest("dialog");
    const first = body.querySelector("input, select, textarea");
    if (first) first.focus();
    return close;
  }

  /** "" → null, for optional text fields. */
  function orNull(text) {
    const t = (text ?? "").trim();
    return t ? t : null;
  }

  /** A datetime-local value (the reader's time) → RFC 3339, or the text as typed. */
  function fromLocalInput(value) {
    if (!value) return null;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? value : d.toISOString();
  }

  /** RFC 3339 → a datetime-local value in the reader's time. */
  function toLocalInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  /** The reader's own time zone. */
  const HERE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

  /** "Sun 6 Jan 2030, 02:00" in `zone` (the reader's when omitted). */
  function when(iso, zone) {
    const options = { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" };
    if (zone) options.timeZone = zone;
    try {
      return new Intl.DateTimeFormat(undefined, options).format(new Date(iso));
    } catch (error) {
      return new Date(iso).toLocaleString();
    }
  }

  /**
   * What a view shows of `parts`, to redraw only when it changed: a redraw
   * under a reader's keyboard focus would move it.
   */
  function signature(...parts) {
    return JSON.stringify(parts);
  }

  /** Monitors as the status views show them: by name. */
  function monitorNames(monitors) {
    return monitors.map((m) => [m.id, m.name, m.type]);
  }

  UT.statusKit = { signature, COMPONENT_STATUSES, tree, flatten, group, checklist, ticked, formDialog, orNull, fromLocalInput, toLocalInput, when, HERE };

  // -------------------------------------------------------- components --

  async function loadComponents() {
    const [components, monitors] = await Promise.all([api.all("/components"), api.all("/monitors")]);
    return { components, monitors };
  }

  /** Where a component's status comes from, in a sentence (and what its monitors say). */
  function source(c, data) {
    const parts = [];
    if (c.statusSource === "manual" && c.override) {
      const o = c.override;
      if (o.statusIncidentId) {
        parts.push(h("span", {}, "Set by ", h("a", { href: "#/incidents/status/" + o.statusIncidentId }, "a status incident"), "."));
      } else {
        parts.push(h("span", {}, "Set by hand", o.until ? [" until ", time(o.until, "exact")] : null, "."));
      }
      if (o.message) parts.push(h("span", { class: "override-message" }, "“" + o.message + "”"));
    } else if (c.statusSource === "maintenance") {
      parts.push(h("span", {}, "A maintenance window covers it."));
    } else if (c.group) {
      parts.push(h("span", {}, c.noData ? "No data yet from its components." : "The worst of its components."));
    } else if (!c.monitorIds.length) {
      parts.push(h("span", {}, "No monitors: set its status by hand or link monitors."));
    } else {
      parts.push(h("span", {}, c.noData ? "Its monitors have no results yet." : "From " + UT.plural(c.monitorIds.length, "monitor") + "."));
    }
    if (c.statusSource !== "automatic") {
      parts.push(h("span", { class: "muted" }, (c.group ? "Its components say " : "Its monitors say ") + label(c.automaticStatus).toLowerCase() + "."));
    }
    return h("p", { class: "component-source" }, parts.map((p, i) => [i ? " " : null, p]));
  }

  function label(status) {
    const found = COMPONENT_STATUSES.find(([value]) => value === status);
    return found ? found[1] : status;
  }

  function componentItem(c, children, data, level) {
    const monitors = new Map(data.monitors.map((m) => [m.id, m]));
    const linked = c.monitorIds.map((id) => monitors.get(id)).filter(Boolean);
    const facts = [];
    if (linked.length) {
      facts.push(h("li", {}, "Monitors: ", linked.map((m, i) => [i ? ", " : null, h("a", { href: "#/monitors/" + m.id }, m.name)])));
    }
    if (c.owner) facts.push(h("li", {}, "Owner: " + c.owner));
    if (c.url) facts.push(h("li", {}, h("a", { href: c.url, rel: "noopener noreferrer" }, c.url)));
    if (c.slaTarget !== null && c.slaTarget !== undefined) facts.push(h("li", {}, "SLA target: " + c.slaTarget + " %"));
    if (c.autoIncident) facts.push(h("li", {}, "Opens a status incident by itself in an outage"));
    const heading = h(level === 0 ? "h2" : "h3", { class: "component-name" }, c.name);
    const actions = can("write") ? h("div", { class: "actions component-actions" },
      h("a", { href: "#/components/" + c.id, class: "button-secondary", "aria-label": "Edit " + c.name }, "Edit"),
      h("button", { type: "button", "aria-label": "Set the status of " + c.name, onClick: () => overrideDialog(c) }, "Set status"),
      c.statusSource === "manual"
        ? h("button", { type: "button", "aria-label": "Hand " + c.name + " back to automatic", onClick: () => handBack(c) }, "Back to automatic")
        : null,
      h("button", { type: "button", class: "danger-quiet", "aria-label": "Delete " + c.name, onClick: () => removeComponent(c, children.length) }, "Delete")) : null;
    return h("li", { class: "tree-item" + (c.group ? " tree-group" : ""), dataset: { key: c.id } },
      h("div", { class: "component-row" },
        h("div", { class: "component-main" },
          h("div", { class: "component-title" }, heading, c.group ? h("span", { class: "tag" }, "Group") : null, badge(c.status)),
          c.description ? h("p", { class: "component-description" }, c.description) : null,
          source(c, data),
          facts.length ? h("ul", { class: "component-facts" }, facts) : null),
        actions),
      c.group
        ? (children.length
          ? h("ul", { class: "tree tree-children", "aria-label": "Components in " + c.name },
            children.map((child) => componentItem(child, [], data, 1)))
          : h("p", { class: "tree-empty muted" }, "No components in this group yet."))
        : null);
  }

  function componentTree(data) {
    if (!data.components.length) {
      return h("div", { class: "empty" },
        h("p", {}, "No components yet. A component is a service people know, such as “Public API”; monitors drive its status."),
        can("write") ? h("p", {}, h("a", { href: "#/components/new" }, "Create the first component")) : null);
    }
    return h("ul", { class: "tree", "aria-label": "Components" },
      tree(data.components).map((node) => componentItem(node.component, node.children, data, 0)));
  }

  function overrideDialog(c) {
    formDialog("Set the status of " + c.name, (close) => form({
      label: "Status of " + c.name,
      submit: "Set status",
      cancel: () => close(),
      fields: [
        field({ name: "status", label: "Status", kind: "select", value: c.override ? c.override.status : c.status,
          options: COMPONENT_STATUSES.map(([value, words]) => ({ value, label: words })) }),
        field({ name: "message", label: "Message (optional)", kind: "textarea", value: c.override ? c.override.message : "",
          help: "Why, in a sentence; kept with the status history." }),
        field({ name: "until", label: "Until (optional, your local time)", kind: "datetime-local",
          value: c.override && c.override.until ? toLocalInput(c.override.until) : "",
          help: "After this time the monitors decide again. Leave empty to keep it until you hand it back." }),
      ],
      async onSubmit(values) {
        await api.post("/components/" + c.id + "/status", {
          status: values.status, message: orNull(values.message), until: fromLocalInput(values.until),
        });
        close();
        notice(c.name + " now shows " + label(values.status).toLowerCase() + ".");
        await UT.refresh();
      },
    }));
  }

  async function handBack(c) {
    try {
      await api.post("/components/" + c.id + "/status", { status: "automatic" });
      notice(c.name + " is back to its automatic status.");
      await UT.refresh();
    } catch (error) {
      notice("Could not hand " + c.name + " back: " + UT.sentence(error.message), "bad");
    }
  }

  async function removeComponent(c, children) {
    const text = c.group && children
      ? `Delete the group “${c.name}”? Its ${UT.plural(children, "component")} stay, outside any group. Status pages drop it.`
      : `Delete “${c.name}”? Status pages drop it and its history goes with it.`;
    if (!(await UT.confirm("Delete " + c.name, text, "Delete"))) return false;
    try {
      await api.del("/components/" + c.id);
      notice(c.name + " was deleted.");
      if (location.hash === "#/components") await UT.refresh();
      else location.hash = "#/components";
      return true;
    } catch (error) {
      notice("Could not delete " + c.name + ": " + UT.sentence(error.message), "bad");
      return false;
    }
  }

  UT.route("components", async () => {
    let data = await loadComponents();
    let list = componentTree(data);
    const node = h("div", { class: VIEW },
      header("Components",
        can("write") ? h("a", { href: "#/components/new", class: "button-link" }, "New component") : null,
        can("write") ? h("a", { href: "#/components/new-group", class: "button-link button-link-secondary" }, "New group") : null),
      h("p", { class: "lede" }, "The services your users know. Monitors drive each component's status; a group shows the worst of its components. Set a status by hand for what the monitors cannot see."),
      list);
    return {
      title: "Components",
      node,
      async refresh() {
        const fresh = await loadComponents();
        if (signature(fresh.components, monitorNames(fresh.monitors)) === signature(data.components, monitorNames(data.monitors))) return;
        data = fresh;
        list = UT.swap(list, componentTree(data));
      },
    };
  }, "components");

  function componentForm(data, existing, asGroup) {
    const c = existing || { name: "", group: asGroup, groupId: null, position: 0, monitorIds: [], description: "", url: "", owner: "", autoIncident: false, slaTarget: null };
    const groups = data.components.filter((g) => g.group && g.id !== c.id).sort(byPosition);
    const monitors = data.monitors.slice().sort((a, b) => a.name.localeCompare(b.name))
      .map((m) => ({ id: m.id, label: m.name + " (" + UT.typeLabel(m.type) + ")" }));
    const groupBox = field({ name: "group", label: "This is a group (its status is the worst of its components; it has no monitors)", kind: "checkbox", value: c.group });
    const inGroup = field({ name: "groupId", label: "In group", kind: "select", value: c.groupId || "",
      options: [{ value: "", label: "None (top level)" }, ...groups.map((g) => ({ value: g.id, label: g.name }))],
      help: groups.length ? "Groups are one level deep." : "There are no groups yet." });
    const monitorGroup = group("monitorIds", "Monitors that drive its status",
      monitors.length ? "All down: major outage; some down: partial outage; any degraded: degraded performance." : "There are no monitors yet; create one first, or set the status by hand.",
      checklist("monitor", monitors, c.monitorIds));
    const node = form({
      label: existing ? "Edit " + c.name : asGroup ? "New group" : "New component",
      submit: existing ? "Save changes" : asGroup ? "Create group" : "Create component",
      cancel: () => { location.hash = "#/components"; },
      fields: [
        field({ name: "name", label: "Name", value: c.name, required: true, help: "As your users know it, such as “Public API”." }),
        groupBox,
        inGroup,
        field({ name: "position", label: "Position", kind: "number", min: 0, step: 1, value: c.position,
          help: "Order within its group (or at the top level); lower comes first." }),
        monitorGroup,
        field({ name: "description", label: "Description", kind: "textarea", value: c.description || "" }),
        field({ name: "url", label: "Link", kind: "url", value: c.url || "", placeholder: "https://", help: "Shown as a link, never fetched." }),
        field({ name: "owner", label: "Owner", value: c.owner || "", help: "Who to ask, such as a team." }),
        field({ name: "slaTarget", label: "SLA target (percent)", kind: "number", min: 0, max: 100, step: "any", value: c.slaTarget ?? "", placeholder: "99.9" }),
        field({ name: "autoIncident", label: "Open a status incident by itself when its monitors put it in an outage", kind: "checkbox", value: c.autoIncident }),
      ],
      extra: existing ? h("button", { type: "button", class: "danger-quiet", onClick: () => removeComponent(existing, data.components.filter((x) => x.groupId === existing.id).length) }, "Delete") : null,
      async onSubmit(values) {
        const isGroup = values.group === true;
        const body = {
          name: values.name,
          description: orNull(values.description),
          url: orNull(values.url),
          owner: orNull(values.owner),
          group: isGroup,
          groupId: isGroup ? null : orNull(values.groupId),
          position: values.position === "" ? 0 : Number(values.position),
          monitorIds: isGroup ? [] : ticked(values, "monitor"),
          autoIncident: values.autoIncident === true,
          slaTarget: values.slaTarget === "" ? null : Number(values.slaTarget),
        };
        const saved = existing ? await api.put("/components/" + existing.id, body) : await api.post("/components", body);
        notice((existing ? "Saved " : "Created ") + saved.name + ".");
        location.hash = "#/components";
      },
    });
    // A group has neither a group nor monitors: hide what does not apply.
    const follow = () => {
      const on = groupBox.querySelector("input").checked;
      inGroup.hidden = on;
      monitorGroup.hidden = on;
    };
    groupBox.querySelector("input").addEventListener("change", follow);
    follow();
    return node;
  }

  async function componentEditor(id, asGroup) {
    const data = await loadComponents();
    const existing = id ? data.components.find((c) => c.id === id) : null;
    if (id && !existing) throw new UT.ApiError(404, { message: "There is no such component; it may have been deleted." });
    const title = existing ? "Edit " + existing.name : asGroup ? "New group" : "New component";
    if (!can("write")) {
      return { title, node: h("div", { class: VIEW }, header(title), h("p", {}, "Your key can read but not change components. ", h("a", { href: "#/components" }, "Back to the components."))) };
    }
    return {
      title,
      node: h("div", { class: VIEW }, header(title, h("a", { href: "#/components" }, "All components")), componentForm(data, existing, asGroup)),
    };
  }

  UT.route("components/new", () => componentEditor(null, false), "components");
  UT.route("components/new-group", () => componentEditor(null, true), "components");
  UT.route("components/:id", (params) => componentEditor(params.id, false), "components");

  // ------------------------------------------------------ status pages --

  function publishedBadge(page) {
    return page.published ? badge("operational", "Published") : badge("pending", "Draft");
  }

  /** The public page's address, as a link. */
  function publicLink(page, text) {
    return h("a", { href: page.url, class: "public-link" }, text || page.url);
  }

  function pagesTable(pages) {
    return table({
      caption: "Status pages",
      empty: "No status pages yet. A status page shows chosen components, incidents and maintenance to the public.",
      rows: pages,
      rowKey: (p) => p.id,
      columns: [
        { label: "Title", class: "wrap", cell: (p) => h("a", { href: "#/status-pages/" + p.id }, p.title) },
        { label: "State", cell: (p) => publishedBadge(p) },
        { label: "Public page", class: "wrap", cell: (p) => publicLink(p) },
        { label: "Sections", class: "num", cell: (p) => UT.plural(p.sections.length, "section") },
        { label: "Custom domain", class: "wrap", cell: (p) => p.customDomain || h("span", { class: "muted" }, "none") },
        { label: "Updated", cell: (p) => time(p.updatedAt) },
      ],
    });
  }

  UT.route("status-pages", async () => {
    let pages = await api.all("/status-pages");
    let list = pagesTable(pages);
    return {
      title: "Status pages",
      node: h("div", { class: VIEW },
        header("Status pages", can("write") ? h("a", { href: "#/status-pages/new", class: "button-link" }, "New status page") : null),
        h("p", { class: "lede" }, "Public pages of components, their incidents and maintenance. A page is a draft, answering 404 to the public, until you publish it."),
        list),
      async refresh() {
        const fresh = await api.all("/status-pages");
        if (signature(fresh) === signature(pages)) return;
        pages = fresh;
        list = UT.swap(list, pagesTable(pages));
      },
    };
  }, "status-pages");

  /** A sentence about the page's logo, as the API last fetched it. */
  function logoState(page) {
    if (!page || !page.logoUrl || !page.logo) return h("p", { class: "help logo-state" }, page && page.logoUrl ? "" : "No logo.");
    const l = page.logo;
    if (l.state === "shown") {
      const size = l.bytes ? " (" + (l.bytes >= 1024 ? (l.bytes / 1024).toFixed(1) + " kB" : l.bytes + " bytes") + (l.contentType ? ", " + l.contentType : "") + ")" : "";
      return h("p", { class: "help logo-state" }, badge("operational", "Logo shown"), " Fetched ", l.fetchedAt ? time(l.fetchedAt) : "", size + ".");
    }
    if (l.state === "failed") {
      return h("p", { class: "help logo-state" }, badge("major_outage", "Logo failed"), " ", UT.sentence(l.error || "The logo could not be fetched."));
    }
    return h("p", { class: "help logo-state" }, badge("pending", "Logo pending"), " The server is fetching it; this updates on its own.");
  }

  /**
   * The sections of a page, edited in place: add, rename, reorder and
   * remove sections and their components with buttons (never by dragging
   * alone). `state.sections` holds the edit; `changed()` marks the form dirty.
   */
  function sectionsEditor(state, components, changed) {
    const byId = new Map(components.map((c) => [c.id, c]));
    const wrap = group("sections", "Sections", "In order, each a heading and its components. A group brings its components with it.");
    const body = h("div", { class: "sections" });
    wrap.append(body);

    const name = (id) => {
      const c = byId.get(id);
      if (!c) return "(deleted component)";
      const parent = c.groupId ? byId.get(c.groupId) : null;
      const children = c.group ? components.filter((x) => x.groupId === c.id).sort(byPosition).map((x) => x.name) : [];
      return (parent ? parent.name + " › " : "") + c.name +
        (c.group ? (children.length ? " (group: " + children.join(", ") + ")" : " (group, empty)") : "");
    };

    /** Components that may still be added: not on the page, nor inside or around one that is. */
    const available = () => {
      const on = new Set(state.sections.flatMap((s) => s.componentIds));
      return flatten(components).filter(({ component: c }) => {
        if (on.has(c.id)) return false;
        if (c.groupId && on.has(c.groupId)) return false;
        if (c.group && components.some((x) => x.groupId === c.id && on.has(x.id))) return false;
        return true;
      });
    };

    const move = (list, from, to) => {
      const [item] = list.splice(from, 1);
      list.splice(to, 0, item);
    };

    const act = (fn, focusKey, fallbackKey) => () => {
      fn();
      changed();
      draw(focusKey, fallbackKey);
    };

    const button = (text, aria, focus, onClick, disabled) =>
      h("button", { type: "button", class: "small", "aria-label": aria, dataset: { focus }, disabled, onClick }, text);

    /**
     * Labels that name a section change as its name is typed: each such
     * label is a template ("Move {} up") filled with the section's title.
     */
    const named = (node, attr, template) => {
      node.dataset.template = template;
      node.dataset.templateAttr = attr;
      return node;
    };
    const relabel = (sectionNode, title) => {
      for (const node of [sectionNode, ...sectionNode.querySelectorAll("[data-template]")]) {
        const text = node.dataset.template.replace("{}", title);
        if (node.dataset.templateAttr === "text") node.textContent = text;
        else node.setAttribute(node.dataset.templateAttr, text);
      }
    };

    function draw(focusKey, fallbackKey) {
      const choices = available();
      body.replaceChildren(...state.sections.map((section, s) => {
        const inputId = UT.uid("section-name");
        const titleOf = () => section.name.trim() || "section " + (s + 1);
        const nameInput = h("input", { id: inputId, type: "text", value: section.name, autocomplete: "off", dataset: { focus: "name-" + s } });
        const addId = UT.uid("section-add");
        const select = h("select", { id: addId },
          h("option", { value: "" }, choices.length ? "Choose a component…" : "Every component is on the page"),
          choices.map((choice) => h("option", { value: choice.component.id }, choice.label)));
        const last = state.sections.length - 1;
        const node = named(h("section", { class: "section-edit" },
          h("div", { class: "section-edit-head" },
            h("div", { class: "field" }, h("label", { for: inputId }, "Name of section " + (s + 1)), nameInput),
            h("div", { class: "actions" },
              named(button("↑ Up", "", "sup-" + s, act(() => move(state.sections, s, s - 1), "sup-" + (s - 1), "sdown-" + (s - 1)), s === 0), "aria-label", "Move section {} up"),
              named(button("↓ Down", "", "sdown-" + s, act(() => move(state.sections, s, s + 1), "sdown-" + (s + 1), "sup-" + (s + 1)), s === last), "aria-label", "Move section {} down"),
              named(button("Remove", "", "sremove-" + s, act(() => state.sections.splice(s, 1), "sremove-" + Math.max(0, s - 1), "add-section"), state.sections.length === 1), "aria-label", "Remove section {}"))),
          section.componentIds.length
            ? named(h("ol", { class: "section-components" }, section.componentIds.map((id, i) => {
              const n = name(id);
              const end = section.componentIds.length - 1;
              return h("li", {},
                h("span", { class: "section-component-name" }, n),
                h("span", { class: "actions" },
                  named(button("↑", "", `up-${s}-${id}`, act(() => move(section.componentIds, i, i - 1), `up-${s}-${id}`, `down-${s}-${id}`), i === 0), "aria-label", "Move " + n + " up in {}"),
                  named(button("↓", "", `down-${s}-${id}`, act(() => move(section.componentIds, i, i + 1), `down-${s}-${id}`, `up-${s}-${id}`), i === end), "aria-label", "Move " + n + " down in {}"),
                  named(button("Remove", "", `remove-${s}-${id}`,
                    act(() => section.componentIds.splice(i, 1), `remove-${s}-${section.componentIds[i + 1] || section.componentIds[i - 1]}`, "add-" + s)), "aria-label", "Remove " + n + " from {}")));
            })), "aria-label", "Components in {}")
            : h("p", { class: "muted" }, "No components in this section yet."),
          h("div", { class: "section-add" },
            named(h("label", { for: addId }), "text", "Add a component to {}"),
            h("div", { class: "inline" }, select,
              named(button("Add", "", "add-" + s, () => {
                if (!select.value) { select.focus(); return; }
                section.componentIds.push(select.value);
                changed();
                draw("add-" + s);
              }, !choices.length), "aria-label", "Add the chosen component to {}")))), "aria-label", "Section " + (s + 1) + ": {}");
        relabel(node, titleOf());
        nameInput.addEventListener("input", () => {
          section.name = nameInput.value;
          relabel(node, titleOf());
          changed();
        });
        return node;
      }), h("div", { class: "form-actions" },
        h("button", { type: "button", dataset: { focus: "add-section" }, onClick: act(() => state.sections.push({ name: "", componentIds: [] }), "name-" + state.sections.length) }, "Add a section")));
      for (const key of [focusKey, fallbackKey]) {
        if (!key) continue;
        const target = body.querySelector(`[data-focus="${CSS.escape(key)}"]`);
        if (target && !target.disabled) { target.focus(); break; }
      }
    }
    draw();
    return wrap;
  }

  function pageForm(page, components) {
    const p = page || { title: "", slug: "", description: "", published: false, sections: [{ name: "Services", componentIds: [] }],
      uptimeDays: 90, historyDays: 14, theme: "auto", customDomain: "", showMonitorDetails: false, logoUrl: "", homepageUrl: "", footerText: "" };
    const state = { sections: p.sections.map((s) => ({ name: s.name, componentIds: s.componentIds.slice() })) };
    let node = null;
    const changed = () => { if (node) node.dataset.dirty = "true"; };
    const slug = field({ name: "slug", label: "Slug", value: p.slug, required: true,
      help: "Lowercase letters, digits and hyphens; the public address is /status/<slug>." });
    const title = field({ name: "title", label: "Title", value: p.title, required: true });
    // Suggest a slug from the title on a new page, until the slug is typed in.
    if (!page) {
      let typed = false;
      slug.querySelector("input").addEventListener("input", () => { typed = true; });
      title.querySelector("input").addEventListener("input", (e) => {
        if (!typed) slug.querySelector("input").value = e.target.value.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
      });
    }
    const logo = field({ name: "logoUrl", label: "Logo URL", kind: "url", value: p.logoUrl || "", placeholder: "https://",
      help: "The server fetches it once and serves it from the page itself." });
    logo.append(logoState(page));
    node = form({
      label: page ? "Edit " + p.title : "New status page",
      submit: page ? "Save changes" : "Create status page",
      cancel: () => { location.hash = "#/status-pages"; },
      fields: [
        h("fieldset", {}, h("legend", {}, "Page"),
          title, slug,
          field({ name: "description", label: "Description", kind: "textarea", value: p.description || "" }),
          field({ name: "published", label: "Published (the public can see it)", kind: "checkbox", value: p.published })),
        sectionsEditor(state, components, changed),
        h("fieldset", {}, h("legend", {}, "What it shows"),
          field({ name: "uptimeDays", label: "Days of uptime bars", kind: "select", value: p.uptimeDays,
            options: [30, 60, 90].map((d) => ({ value: d, label: d + " days" })) }),
          field({ name: "historyDays", label: "Days of incident history", kind: "number", min: 1, max: 365, step: 1, value: p.historyDays }),
          field({ name: "theme", label: "Theme", kind: "select", value: p.theme,
            options: [{ value: "auto", label: "Follow the reader's setting" }, { value: "light", label: "Light" }, { value: "dark", label: "Dark" }] }),
          field({ name: "showMonitorDetails", label: "Show monitor details (targets, latest errors) to the public", kind: "checkbox", value: p.showMonitorDetails })),
        h("fieldset", {}, h("legend", {}, "Branding and address"),
          logo,
          field({ name: "homepageUrl", label: "Homepage URL", kind: "url", value: p.homepageUrl || "", placeholder: "https://" }),
          field({ name: "footerText", label: "Footer text", kind: "textarea", value: p.footerText || "" }),
          field({ name: "customDomain", label: "Custom domain", value: p.customDomain || "", placeholder: "status.example.com",
            help: "A host name pointing at this server; the page answers there at /." })),
      ],
      extra: page ? h("button", { type: "button", class: "danger-quiet", onClick: () => removePage(page) }, "Delete") : null,
      async onSubmit(values) {
        const body = {
          slug: values.slug.trim(),
          title: values.title,
          description: orNull(values.description),
          published: values.published === true,
          sections: state.sections.map((s) => ({ name: s.name, componentIds: s.componentIds })),
          uptimeDays: Number(values.uptimeDays),
          historyDays: values.historyDays === "" ? 14 : Number(values.historyDays),
          theme: values.theme,
          showMonitorDetails: values.showMonitorDetails === true,
          logoUrl: orNull(values.logoUrl),
          homepageUrl: orNull(values.homepageUrl),
          footerText: orNull(values.footerText),
          customDomain: orNull(values.customDomain),
        };
        const saved = page ? await api.put("/status-pages/" + page.id, body) : await api.post("/status-pages", body);
        delete node.dataset.dirty;
        notice((page ? "Saved " : "Created ") + saved.title + (saved.published ? "; it is published." : "; it is a draft until you publish it."));
        if (page) await reloadView();
        else location.hash = "#/status-pages/" + saved.id;
      },
    });
    return node;
  }

  async function removePage(page) {
    if (!(await UT.confirm("Delete " + page.title, `Delete the status page “${page.title}”? ${page.url} will answer 404. Its components stay.`, "Delete"))) return;
    try {
      await api.del("/status-pages/" + page.id);
      notice(page.title + " was deleted.");
      location.hash = "#/status-pages";
    } catch (error) {
      notice("Could not delete " + page.title + ": " + UT.sentence(error.message), "bad");
    }
  }

  async function setPublished(page, published) {
    if (document.querySelector("#main form[data-dirty]")) {
      notice("You have unsaved changes: save them first, or tick “Published” in the form and save.", "bad");
      return;
    }
    try {
      await api.patch("/status-pages/" + page.id, { published });
      notice(published ? page.title + " is published at " + page.url + "." : page.title + " is a draft again; the public gets 404.");
      await reloadView();
    } catch (error) {
      notice("Could not change " + page.title + ": " + UT.sentence(error.message), "bad");
    }
  }

  /** The read-only form of a page: what it shows, without controls. */
  function pageSummary(page, components) {
    const byId = new Map(components.map((c) => [c.id, c]));
    return h("div", {},
      h("dl", { class: "facts card" },
        h("dt", {}, "State"), h("dd", {}, publishedBadge(page)),
        h("dt", {}, "Public page"), h("dd", {}, publicLink(page)),
        h("dt", {}, "Description"), h("dd", {}, page.description || h("span", { class: "muted" }, "none")),
        h("dt", {}, "Uptime bars"), h("dd", {}, page.uptimeDays + " days"),
        h("dt", {}, "Incident history"), h("dd", {}, page.historyDays + " days"),
        h("dt", {}, "Theme"), h("dd", {}, page.theme),
        h("dt", {}, "Custom domain"), h("dd", {}, page.customDomain || h("span", { class: "muted" }, "none")),
        h("dt", {}, "Monitor details"), h("dd", {}, page.showMonitorDetails ? "Shown to the public" : "Hidden"),
        h("dt", {}, "Logo"), h("dd", {}, page.logoUrl ? [page.logoUrl, logoState(page)] : h("span", { class: "muted" }, "none"))),
      h("h2", { class: "subhead" }, "Sections"),
      h("ol", { class: "section-list" }, page.sections.map((s) => h("li", {},
        h("strong", {}, s.name),
        h("ul", {}, s.componentIds.map((id) => {
          const c = byId.get(id);
          return h("li", {}, c ? [c.name, " ", badge(c.status)] : "(deleted component)");
        }))))));
  }

  let reloadView = async () => {};

  async function pageEditor(id) {
    const [page, components] = await Promise.all([id ? api.get("/status-pages/" + id) : null, api.all("/components")]);
    const title = page ? page.title : "New status page";
    const actions = [];
    if (page) {
      if (page.published) actions.push(h("a", { href: page.url, class: "button-link button-link-secondary" }, "Open the public page"));
      if (can("write")) {
        actions.push(h("button", { type: "button", class: page.published ? null : "primary", onClick: () => setPublished(page, !page.published) },
          page.published ? "Unpublish" : "Publish"));
      }
    }
    let body;
    if (can("write")) body = pageForm(page, components);
    else if (page) body = pageSummary(page, components);
    else body = h("p", {}, "Your key can read but not create status pages. ", h("a", { href: "#/status-pages" }, "Back to the status pages."));
    const node = h("div", { class: VIEW },
      header(title, ...actions),
      page ? h("p", { class: "lede" }, publishedBadge(page), " ",
        page.published ? ["Anyone can read it at ", publicLink(page), "."] : ["Only you can see it: ", page.url, " answers 404 until you publish it."]) : null,
      body);
    return { title, node, page, components };
  }

  UT.route("status-pages/new", () => pageEditor(null), "status-pages");
  UT.route("status-pages/:id", async (params) => {
    let view = await pageEditor(params.id);
    const holder = h("div", { class: VIEW }, view.node);
    reloadView = async () => {
      view = await pageEditor(params.id);
      holder.replaceChildren(view.node);
    };
    return {
      title: view.title,
      node: holder,
      async refresh() {
        // Nobody is editing (the router checks): show what changed meanwhile.
        const [fresh, components] = await Promise.all([api.get("/status-pages/" + params.id), api.all("/components")]);
        // The form shows components by name; the read-only summary with their status.
        const shown = (page, list) => signature(page, list.map((c) => [c.id, c.name, c.groupId, can("write") ? null : c.status]));
        if (shown(fresh, components) !== shown(view.page, view.components)) await reloadView();
      },
    };
  }, "status-pages");

  // ------------------------------------------------------- maintenance --

  function names(ids, map) {
    return ids.map((id) => (map.get(id) ? map.get(id).name : null)).filter(Boolean);
  }

  function scheduleText(w) {
    if (w.cron) {
      const bounds = [];
      if (w.activeFrom) bounds.push("from " + when(w.activeFrom));
      if (w.activeUntil) bounds.push("until " + when(w.activeUntil));
      return h("span", {}, "Repeats ", h("code", {}, w.cron), " in " + w.timezone + ", " + UT.plural(w.durationMinutes, "minute") + " each" +
        (bounds.length ? ", " + bounds.join(" ") : "") + ".");
    }
    return h("span", {}, "Once, " + when(w.startsAt) + " to " + when(w.endsAt) + " (your time).");
  }

  function windowWhen(w) {
    if (w.state === "in_progress" && w.currentOccurrence) return h("span", {}, "Ends ", time(w.currentOccurrence.endsAt));
    if (w.nextOccurrence) return h("span", {}, "Starts ", time(w.nextOccurrence.startsAt), h("br"), h("span", { class: "muted" }, when(w.nextOccurrence.startsAt)));
    if (w.state === "completed") return h("span", {}, "Ended ", time(w.endsAt || w.activeUntil));
    return h("span", { class: "muted" }, "No further occurrence");
  }

  function windowsTable(rows, data, caption, empty) {
    const components = new Map(data.components.map((c) => [c.id, c]));
    const monitors = new Map(data.monitors.map((m) => [m.id, m]));
    const columns = [
      { label: "State", cell: (w) => badge(w.state) },
      { label: "Title", class: "wrap", cell: (w) => can("write") ? h("a", { href: "#/maintenance/" + w.id }, w.title) : w.title },
      { label: "Schedule", class: "wrap", cell: scheduleText },
      { label: "When", cell: windowWhen },
      { label: "Covers", class: "wrap", cell: (w) => {
        const list = [...names(w.componentIds, components), ...names(w.monitorIds, monitors).map((n) => n + " (monitor)")];
        return list.length ? list.join(", ") : h("span", { class: "muted" }, "nothing left (deleted)");
      } },
      { label: "Notifies", cell: (w) => (w.notifyChannels ? "Yes" : "No") },
    ];
    if (can("write")) {
      columns.push({ label: "Actions", cell: (w) => h("span", { class: "actions" },
        h("a", { href: "#/maintenance/" + w.id, "aria-label": "Edit " + w.title }, "Edit"),
        h("button", { type: "button", class: "small danger-quiet", "aria-label": "Delete " + w.title, onClick: () => removeWindow(w) }, "Delete")) });
    }
    return table({ caption, columns, rows, empty, rowKey: (w) => w.id });
  }

  async function loadWindows() {
    const [windows, components, monitors] = await Promise.all([api.all("/maintenance-windows"), api.all("/components"), api.all("/monitors")]);
    return { windows, components, monitors };
  }

  function windowLists(data) {
    const start = (w) => Date.parse((w.currentOccurrence || w.nextOccurrence || {}).startsAt || w.startsAt || 0);
    const active = data.windows.filter((w) => w.state === "in_progress").sort((a, b) => start(a) - start(b));
    const upcoming = data.windows.filter((w) => w.state === "scheduled").sort((a, b) => start(a) - start(b));
    const past = data.windows.filter((w) => w.state === "completed")
      .sort((a, b) => Date.parse(b.endsAt || b.activeUntil || 0) - Date.parse(a.endsAt || a.activeUntil || 0));
    return h("div", {},
      h("section", { class: "section", "aria-labelledby": "mw-active" }, h("h2", { id: "mw-active" }, "In progress"),
        windowsTable(active, data, "Maintenance in progress", "No maintenance is in progress.")),
      h("section", { class: "section", "aria-labelledby": "mw-upcoming" }, h("h2", { id: "mw-upcoming" }, "Upcoming"),
        windowsTable(upcoming, data, "Upcoming maintenance", "No maintenance is planned.")),
      h("section", { class: "section", "aria-labelledby": "mw-past" }, h("h2", { id: "mw-past" }, "Past"),
        windowsTable(past, data, "Past maintenance", "No maintenance has ended yet.")));
  }

  async function removeWindow(w) {
    const running = w.state === "in_progress" ? " It is in progress and ends now." : "";
    if (!(await UT.confirm("Delete " + w.title, `Delete the maintenance window “${w.title}”?${running}`, "Delete"))) return;
    try {
      await api.del("/maintenance-windows/" + w.id);
      notice(w.title + " was deleted.");
      if (location.hash === "#/maintenance") await UT.refresh();
      else location.hash = "#/maintenance";
    } catch (error) {
      notice("Could not delete " + w.title + ": " + UT.sentence(error.message), "bad");
    }
  }

  UT.route("maintenance", async () => {
    let data = await loadWindows();
    let lists = windowLists(data);
    return {
      title: "Maintenance",
      node: h("div", { class: VIEW },
        header("Maintenance", can("write") ? h("a", { href: "#/maintenance/new", class: "button-link" }, "New maintenance window") : null),
        h("p", { class: "lede" }, "While a window is in progress its components show “Under maintenance”, and failures of its monitors open no incident."),
        lists),
      async refresh() {
        const fresh = await loadWindows();
        const shown = (d) => signature(d.windows, d.components.map((c) => [c.id, c.name]), monitorNames(d.monitors));
        if (shown(fresh) === shown(data)) return;
        data = fresh;
        lists = UT.swap(lists, windowLists(data));
      },
    };
  }, "maintenance");

  /** The schedule part of the form's values, as the API takes it. */
  function scheduleBody(values, recurring, forPatch) {
    if (recurring) {
      const body = {
        cron: values.cron.trim(),
        durationMinutes: values.durationMinutes === "" ? null : Number(values.durationMinutes),
        timezone: values.timezone.trim(),
        activeFrom: fromLocalInput(values.activeFrom),
        activeUntil: fromLocalInput(values.activeUntil),
      };
      if (forPatch) Object.assign(body, { startsAt: null, endsAt: null });
      return body;
    }
    const body = { startsAt: fromLocalInput(values.startsAt), endsAt: fromLocalInput(values.endsAt) };
    if (forPatch) Object.assign(body, { cron: null, durationMinutes: null, timezone: null, activeFrom: null, activeUntil: null });
    return body;
  }

  /** The live preview of a recurring schedule's next occurrences. */
  function previewPanel() {
    const out = h("div", { class: "preview-body" }, h("p", { class: "muted" }, "Type a cron expression to see when it occurs."));
    const panel = h("section", { class: "preview card", "aria-labelledby": "preview-title" },
      h("h2", { id: "preview-title" }, "Next occurrences"),
      h("div", { "aria-live": "polite" }, out));
    let timer = null;
    let asked = 0;
    async function ask(body) {
      const mine = ++asked;
      try {
        const answer = await api.post("/maintenance-windows/preview", body);
        if (mine !== asked) return;
        out.replaceChildren(previewTable(answer));
      } catch (error) {
        if (mine !== asked) return;
        const lines = error.details && error.details.length
          ? error.details.map((d) => h("li", {}, h("strong", {}, fieldLabel(d.field) + ": "), UT.sentence(d.message)))
          : [h("li", {}, UT.sentence(error.message))];
        out.replaceChildren(h("div", { class: "preview-error" }, h("p", {}, "This schedule cannot be previewed yet:"), h("ul", {}, lines)));
      }
    }
    return {
      panel,
      /** Asks again after the reader pauses typing. */
      update(body) {
        clearTimeout(timer);
        if (!body.cron) {
          asked += 1;
          out.replaceChildren(h("p", { class: "muted" }, "Type a cron expression to see when it occurs."));
          return;
        }
        timer = setTimeout(() => ask(body), 350);
      },
    };
  }

  const FIELD_LABELS = { cron: "Cron", durationMinutes: "Duration", timezone: "Time zone", activeFrom: "Active from", activeUntil: "Active until", startsAt: "Starts", endsAt: "Ends" };
  function fieldLabel(name) {
    return FIELD_LABELS[name] || name;
  }

  function previewTable(answer) {
    const zone = answer.timezone;
    if (!answer.occurrences.length) return h("p", {}, "This schedule has no occurrence after now.");
    const same = zone === HERE;
    return h("div", {},
      table({
        caption: { text: "The next " + UT.plural(answer.occurrences.length, "occurrence"), visible: true },
        rows: answer.occurrences,
        columns: [
          { label: "Starts (" + zone + ")", cell: (o) => h("span", {}, when(o.startsAt, zone), " ", h("span", { class: "muted" }, "UTC" + o.utcOffset)) },
          { label: "Ends (" + zone + ")", cell: (o) => when(o.endsAt, zone) },
          { label: "Your time (" + HERE + ")", cell: (o) => same ? h("span", { class: "muted" }, "the same") : h("span", {}, when(o.startsAt, HERE), " to ", when(o.endsAt, HERE)) },
        ],
      }));
  }

  function windowForm(data, existing) {
    const w = existing || { title: "", description: "", componentIds: [], monitorIds: [], notifyChannels: true, cron: "", durationMinutes: 60, timezone: HERE };
    const recurringAtFirst = Boolean(existing && existing.cron);
    const components = flatten(data.components).map((x) => ({ id: x.component.id, label: x.label, depth: x.depth }));
    const monitors = data.monitors.slice().sort((a, b) => a.name.localeCompare(b.name)).map((m) => ({ id: m.id, label: m.name }));
    const kind = field({ name: "kind", label: "Kind", kind: "select", value: recurringAtFirst ? "recurring" : "one-off",
      options: [{ value: "recurring", label: "Recurring (on a cron schedule)" }, { value: "one-off", label: "One-off (a single period)" }] });
    const oneOff = h("fieldset", {}, h("legend", {}, "When (your local time, " + HERE + ")"),
      field({ name: "startsAt", label: "Starts", kind: "datetime-local", value: toLocalInput(w.startsAt) }),
      field({ name: "endsAt", label: "Ends", kind: "datetime-local", value: toLocalInput(w.endsAt) }));
    const zones = h("datalist", { id: UT.uid("zones") }, ["UTC", ...(Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [])].map((z) => h("option", { value: z })));
    const zone = field({ name: "timezone", label: "Time zone", value: w.timezone || HERE, help: "An IANA name such as Europe/Berlin or UTC; the cron times are read in it." });
    zone.querySelector("input").setAttribute("list", zones.id);
    zone.append(zones);
    const preview = previewPanel();
    const recurring = h("fieldset", {}, h("legend", {}, "Schedule"),
      field({ name: "cron", label: "Cron expression", value: w.cron || "", placeholder: "0 2 * * 0",
        help: "Five fields: minute hour day-of-month month day-of-week. “0 2 * * 0” is Sundays at 02:00; “30 1 1 * *” the 1st of each month at 01:30; @daily and @weekly work too." }),
      field({ name: "durationMinutes", label: "Duration (minutes)", kind: "number", min: 1, max: 10080, step: 1, value: w.durationMinutes ?? 60 }),
      zone,
      field({ name: "activeFrom", label: "Active from (optional, your local time)", kind: "datetime-local", value: toLocalInput(w.activeFrom) }),
      field({ name: "activeUntil", label: "Active until (optional, your local time)", kind: "datetime-local", value: toLocalInput(w.activeUntil) }),
      preview.panel);
    let node = null;
    const isRecurring = () => kind.querySelector("select").value === "recurring";
    node = form({
      label: existing ? "Edit " + w.title : "New maintenance window",
      submit: existing ? "Save changes" : "Create window",
      cancel: () => { location.hash = "#/maintenance"; },
      fields: [
        field({ name: "title", label: "Title", value: w.title, required: true, help: "Shown on status pages, such as “Database upgrade”." }),
        field({ name: "description", label: "Description", kind: "textarea", value: w.description || "" }),
        kind, recurring, oneOff,
        group("componentIds", "Components it covers", "They show “Under maintenance” while it runs; a group covers its components.",
          components.length ? checklist("component", components, w.componentIds) : h("p", { class: "muted" }, "There are no components.")),
        group("monitorIds", "Monitors it covers", "Their failures open no incident while it runs.",
          monitors.length ? checklist("monitor", monitors, w.monitorIds) : h("p", { class: "muted" }, "There are no monitors.")),
        field({ name: "notifyChannels", label: "Notify channels when it starts and ends", kind: "checkbox", value: w.notifyChannels }),
      ],
      extra: existing ? h("button", { type: "button", class: "danger-quiet", onClick: () => removeWindow(existing) }, "Delete") : null,
      async onSubmit(values) {
        const body = Object.assign({
          title: values.title,
          description: orNull(values.description),
          componentIds: ticked(values, "component"),
          monitorIds: ticked(values, "monitor"),
          notifyChannels: values.notifyChannels === true,
        }, scheduleBody(values, isRecurring(), Boolean(existing)));
        if (!existing) for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
        const saved = existing ? await api.patch("/maintenance-windows/" + existing.id, body) : await api.post("/maintenance-windows", body);
        notice((existing ? "Saved " : "Created ") + saved.title + ".");
        location.hash = "#/maintenance";
      },
    });
    const follow = () => {
      recurring.hidden = !isRecurring();
      oneOff.hidden = isRecurring();
    };
    const schedule = () => {
      if (!isRecurring()) return;
      const body = scheduleBody(UT.values(node), true, false);
      for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
      preview.update(body);
    };
    kind.querySelector("select").addEventListener("change", () => { follow(); schedule(); });
    recurring.addEventListener("input", schedule);
    recurring.addEventListener("change", schedule);
    follow();
    schedule();
    return node;
  }

  async function windowEditor(id) {
    const [existing, components, monitors] = await Promise.all([
      id ? api.get("/maintenance-windows/" + id) : null, api.all("/components"), api.all("/monitors")]);
    const title = existing ? "Edit " + existing.title : "New maintenance window";
    if (!can("write")) {
      return { title, node: h("div", { class: VIEW }, header(title), h("p", {}, "Your key can read but not change maintenance windows. ", h("a", { href: "#/maintenance" }, "Back to maintenance."))) };
    }
    return {
      title,
      node: h("div", { class: VIEW }, header(title, h("a", { href: "#/maintenance" }, "All maintenance")), windowForm({ components, monitors }, existing)),
    };
  }

  UT.route("maintenance/new", () => windowEditor(null), "maintenance");
  UT.route("maintenance/:id", (params) => windowEditor(params.id), "maintenance");
})();
