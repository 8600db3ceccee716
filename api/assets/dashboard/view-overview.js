// Overview (#/): counts by status, open incidents, and every monitor with
// filters, search and sorting; each row links to the monitor's page.
"use strict";

(() => {
  const { h, api, badge, time, percent, table, can, header } = UT;
  const SVG = "http://www.w3.org/2000/svg";

  /** A monitor's shown status: paused when disabled. */
  function shownStatus(m) {
    return m.enabled ? m.status : "paused";
  }

  /** Last hour's latency as a small line (no axes); words for screen readers. */
  function sparkline(points, name) {
    const values = (points || []).filter((v) => v !== null && v !== undefined);
    if (!values.length) return h("span", { class: "sparkline-empty" }, "no checks in the last hour");
    const max = Math.max(...values) || 1;
    const width = 120;
    const height = 28;
    const step = width / Math.max(points.length - 1, 1);
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "sparkline");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    const avg = values.reduce((a, b) => a + b, 0) / values.length;
    svg.setAttribute("aria-label", `${name}: last hour, mean ${UT.ms(avg)}, peak ${UT.ms(max)}`);
    let path = "";
    points.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const x = (i * step).toFixed(1);
      const y = (height - 2 - ((v / max) * (height - 4))).toFixed(1);
      path += (path && points[i - 1] !== null && points[i - 1] !== undefined ? " L" : " M") + x + " " + y;
    });
    const line = document.createElementNS(SVG, "path");
    line.setAttribute("d", path.trim());
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "currentColor");
    line.setAttribute("stroke-width", "1.5");
    svg.append(line);
    return svg;
  }

  const ORDER = { down: 0, degraded: 1, unknown: 2, up: 3, paused: 4 };

  function sorter(key) {
    switch (key) {
      case "status": return (a, b) => ORDER[shownStatus(a.m)] - ORDER[shownStatus(b.m)] || a.m.name.localeCompare(b.m.name);
      case "uptime": return (a, b) => (a.s?.uptime24hPercent ?? 101) - (b.s?.uptime24hPercent ?? 101) || a.m.name.localeCompare(b.m.name);
      case "checked": return (a, b) => Date.parse(b.m.lastCheckedAt || 0) - Date.parse(a.m.lastCheckedAt || 0);
      default: return (a, b) => a.m.name.localeCompare(b.m.name);
    }
  }

  async function load() {
    const [monitors, incidents] = await Promise.all([
      api.all("/monitors"),
      api.get("/incidents", { open: "true", limit: 50 }),
    ]);
    const stats = new Map();
    for (let i = 0; i < monitors.length; i += 100) {
      const ids = monitors.slice(i, i + 100).map((m) => m.id).join(",");
      const page = await api.get("/monitor-stats", { ids });
      for (const s of page.items) stats.set(s.id, s);
    }
    return { monitors, incidents: incidents.items || [], stats };
  }

  function counts(data) {
    const n = { up: 0, down: 0, degraded: 0, paused: 0, unknown: 0 };
    for (const m of data.monitors) n[shownStatus(m)] = (n[shownStatus(m)] || 0) + 1;
    const items = [
      ["down", "Down", "count-bad"], ["degraded", "Degraded", "count-warn"], ["up", "Up", "count-ok"],
      ["paused", "Paused", "count-muted"], ["unknown", "Not checked yet", "count-muted"],
    ];
    return h("ul", { class: "counts", "aria-label": "Monitors by status" },
      items.map(([key, label, cls]) => h("li", { class: "count " + cls, dataset: { count: key } },
        h("strong", {}, n[key] || 0), label)),
      h("li", { class: "count " + (data.incidents.length ? "count-bad" : "count-ok"), dataset: { count: "incidents" } },
        h("strong", {}, data.incidents.length), "Open incidents"));
  }

  function openIncidents(data) {
    const names = new Map(data.monitors.map((m) => [m.id, m.name]));
    return h("section", { class: "section", "aria-labelledby": "open-incidents" },
      h("h2", { id: "open-incidents" }, "Open incidents"),
      table({
        caption: "Open monitor incidents",
        empty: "No open incidents. Every monitor that is down would open one here.",
        rows: data.incidents,
        columns: [
          { label: "Monitor", cell: (i) => h("a", { href: "#/monitors/" + i.monitorId }, names.get(i.monitorId) || "(deleted monitor)") },
          { label: "Since", cell: (i) => time(i.startedAt) },
          { label: "Error", class: "wrap", cell: (i) => i.lastError || i.firstError || "" },
        ],
      }));
  }

  function monitorTable(data, filters) {
    const search = filters.search.trim().toLowerCase();
    const rows = data.monitors
      .filter((m) => !filters.status || shownStatus(m) === filters.status)
      .filter((m) => !filters.type || m.type === filters.type)
      .filter((m) => !filters.tag || (m.tags || []).includes(filters.tag))
      .filter((m) => !search || m.name.toLowerCase().includes(search) || m.target.toLowerCase().includes(search))
      .map((m) => ({ m, s: data.stats.get(m.id) }))
      .sort(sorter(filters.sort));
    const shown = h("p", { class: "muted", id: "monitor-count" },
      rows.length === data.monitors.length ? UT.plural(rows.length, "monitor") : `${rows.length} of ${UT.plural(data.monitors.length, "monitor")}`);
    const body = data.monitors.length
      ? table({
        caption: "Monitors",
        empty: "No monitor matches these filters.",
        rows,
        rowKey: (r) => r.m.id,
        rowClass: (r) => (r.m.enabled ? null : "paused"),
        columns: [
          { label: "Status", cell: (r) => badge(shownStatus(r.m)) },
          { label: "Name", class: "wrap", cell: (r) => h("a", { href: "#/monitors/" + r.m.id }, r.m.name) },
          { label: "Type", cell: (r) => UT.typeLabel(r.m.type) },
          { label: "Target", class: "wrap", cell: (r) => h("span", { class: "target" }, r.m.target) },
          { label: "Last check", cell: (r) => time(r.m.lastCheckedAt) },
          { label: "Uptime 24 h", class: "num", cell: (r) => percent(r.s?.uptime24hPercent) },
          { label: "Last hour", cell: (r) => sparkline(r.s?.latencyLastHour, r.m.name) },
        ],
      })
      : h("div", { class: "empty" },
        h("p", {}, "No monitors yet."),
        can("write") ? h("p", {}, h("a", { href: "#/monitors/new" }, "Create your first monitor")) : null);
    return h("div", { id: "monitor-list" }, shown, body);
  }

  function filterBar(data, filters, redraw) {
    const types = [...new Set(data.monitors.map((m) => m.type))].sort();
    const tags = [...new Set(data.monitors.flatMap((m) => m.tags || []))].sort();
    const select = (name, label, options) => {
      const f = UT.field({ name, label, kind: "select", value: filters[name], options });
      f.querySelector("select").addEventListener("change", (e) => { filters[name] = e.target.value; redraw(); });
      return f;
    };
    const search = UT.field({ name: "search", label: "Search", kind: "search", value: filters.search, placeholder: "Name or target" });
    search.classList.add("field-search");
    search.querySelector("input").addEventListener("input", (e) => { filters.search = e.target.value; redraw(); });
    return h("div", { class: "filters", role: "search", "aria-label": "Filter monitors" },
      search,
      select("status", "Status", [{ value: "", label: "Any status" }, { value: "down", label: "Down" },
        { value: "degraded", label: "Degraded" }, { value: "up", label: "Up" }, { value: "paused", label: "Paused" },
        { value: "unknown", label: "Not checked yet" }]),
      select("type", "Type", [{ value: "", label: "Any type" }, ...types.map((t) => ({ value: t, label: UT.typeLabel(t) }))]),
      select("tag", "Tag", [{ value: "", label: "Any tag" }, ...tags.map((t) => ({ value: t, label: t }))]),
      select("sort", "Sort by", [{ value: "status", label: "Status (worst first)" }, { value: "name", label: "Name" },
        { value: "checked", label: "Last check" }, { value: "uptime", label: "Uptime (lowest first)" }]));
  }

  UT.route("", async () => {
    const filters = { search: "", status: "", type: "", tag: "", sort: "status" };
    let data = await load();
    const countsSlot = h("div", {}, counts(data));
    const incidentsSlot = h("div", {}, openIncidents(data));
    let list = monitorTable(data, filters);
    const redraw = () => { list = UT.swap(list, monitorTable(data, filters)); };
    const node = h("div", {},
      header("Overview", can("write") ? h("a", { href: "#/monitors/new", class: "button-link" }, "New monitor") : null),
      countsSlot,
      incidentsSlot,
      h("section", { class: "section", "aria-labelledby": "monitors-heading" },
        h("h2", { id: "monitors-heading" }, "Monitors"),
        filterBar(data, filters, redraw),
        list));
    return {
      title: "Overview",
      node,
      async refresh() {
        data = await load();
        countsSlot.replaceChildren(counts(data));
        incidentsSlot.replaceChildren(openIncidents(data));
        redraw();
      },
    };
  }, "");
})();
