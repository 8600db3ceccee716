// Workers (#/workers; GET /workers lands here): monitor counts, every
// worker's heartbeat (stale ones flagged) with its in-flight checks, and the
// latest results with a bar of their phase timings, from
// /api/v1/workers/status, refreshed in place.
"use strict";

(() => {
  const { h, api, badge, table, header } = UT;
  const PHASES = [
    ["dns", "dnsMs", "DNS"], ["connect", "connectMs", "connect"], ["tls", "tlsMs", "TLS"], ["ttfb", "ttfbMs", "first byte"],
  ];

  function counts(data) {
    const m = data.monitors || {};
    const items = [
      ["down", "Down", "count-bad", m.down], ["degraded", "Degraded", "count-warn", m.degraded], ["up", "Up", "count-ok", m.up],
      ["paused", "Paused", "count-muted", m.paused], ["unknown", "Not checked yet", "count-muted", m.unknown],
      ["incidents", "Open incidents", data.openIncidents ? "count-bad" : "count-ok", data.openIncidents],
    ];
    return h("ul", { class: "counts", "aria-label": "Monitors by status" },
      items.map(([key, label, cls, n]) => h("li", { class: "count " + cls, dataset: { count: key } }, h("strong", {}, n ?? 0), label)));
  }

  function workerCard(w) {
    const titleId = UT.uid("worker");
    const names = new Map((w.inFlightMonitors || []).map((m) => [m.id, m.name]));
    const inFlight = (w.inFlight || []).length
      ? h("ul", { class: "plain" }, w.inFlight.map((id) => h("li", {},
        names.has(id) ? h("a", { href: "#/monitors/" + id }, names.get(id)) : "a monitor deleted since")))
      : h("span", { class: "muted" }, "none");
    const facts = [
      ["Worker", h("code", {}, w.workerId)],
      ["PID", w.pid],
      ["Version", w.version],
      ["Started", UT.time(w.startedAt)],
      ["Last seen", UT.time(w.lastSeenAt)],
      ["Active jobs", w.activeJobs],
      ["Queued jobs", w.queuedJobs],
      ["In flight", inFlight],
    ];
    return h("article", { class: "card worker" + (w.stale ? " stale" : ""), "aria-labelledby": titleId, dataset: { worker: w.workerId } },
      h("h3", { id: titleId }, h("span", { class: "worker-host" }, w.host), " ", badge(w.stale ? "stale" : "live")),
      h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  }

  function workers(data) {
    const list = data.workers || [];
    if (!list.length) {
      return h("p", { class: "empty" },
        "No worker is running. Start one with ", h("code", {}, "uptime-worker"), " (or ", h("code", {}, "make run"),
        "); it appears here within 5 seconds.");
    }
    return h("div", { class: "grid workers" }, list.map(workerCard));
  }

  /** The phases of a check as a bar, with the same facts in words. */
  function phaseBar(t) {
    const total = t.totalMs || 0;
    const words = PHASES.filter(([, key]) => t[key] !== null && t[key] !== undefined)
      .map(([, key, label]) => label + " " + UT.ms(t[key]));
    words.push("total " + UT.ms(total));
    const bar = h("span", { class: "timing", role: "img", "aria-label": words.join(", "), title: words.join(", ") });
    for (const [name, key] of PHASES) {
      const value = t[key];
      if (!value || !total) continue;
      const segment = h("span", { class: "phase-" + name });
      // Through the CSSOM: the strict CSP refuses style attributes, not this.
      segment.style.width = Math.max(1, (value / total) * 100) + "%";
      bar.append(segment);
    }
    return bar;
  }

  function clock(iso) {
    const at = new Date(iso);
    return h("time", { datetime: iso, title: at.toLocaleString() }, at.toLocaleTimeString());
  }

  function results(data) {
    return table({
      caption: "Latest check results, newest first",
      empty: "No results yet. Checks appear here as workers run them.",
      rows: data.recentResults || [],
      rowKey: (r) => r.monitorId + "@" + r.slotTs,
      columns: [
        { label: "Time", cell: (r) => clock(r.checkedAt) },
        { label: "Monitor", class: "wrap", cell: (r) => h("a", { href: "#/monitors/" + r.monitorId }, r.monitorName) },
        { label: "Type", cell: (r) => UT.typeLabel(r.type) },
        { label: "Status", cell: (r) => badge(r.status) },
        { label: "Total", class: "num", cell: (r) => UT.ms(r.timings.totalMs) },
        { label: "Phases", cell: (r) => phaseBar(r.timings) },
        {
          label: "Code or error", class: "wrap",
          cell: (r) => [r.statusCode, r.error].filter((x) => x !== null && x !== undefined).join(" · ") || h("span", { class: "muted" }, "–"),
        },
      ],
    });
  }

  const legend = () => h("p", { class: "legend", "aria-hidden": "true" },
    PHASES.map(([name, , label]) => h("span", {}, h("span", { class: "swatch phase-" + name }), label)),
    h("span", {}, h("span", { class: "swatch phase-rest" }), "rest"));

  UT.route("workers", async () => {
    let data = await api.get("/workers/status");
    const updated = h("p", { class: "muted updated" });
    const stamp = () => { updated.textContent = "Updated " + new Date().toLocaleTimeString() + "; refreshes every few seconds."; };
    stamp();
    let countsNode = counts(data);
    let workersNode = workers(data);
    let resultsNode = results(data);
    const node = h("div", { class: "view-workers" },
      header("Workers"),
      updated,
      h("section", { class: "section", "aria-labelledby": "workers-monitors" },
        h("h2", { id: "workers-monitors" }, "Monitors"), countsNode),
      h("section", { class: "section", "aria-labelledby": "workers-fleet" },
        h("h2", { id: "workers-fleet" }, "Workers"),
        h("p", { class: "muted" }, `A worker without a heartbeat for ${data.staleAfterSeconds ?? 20} s is marked stale.`),
        workersNode),
      h("section", { class: "section", "aria-labelledby": "workers-results" },
        h("h2", { id: "workers-results" }, "Recent check results"),
        legend(),
        resultsNode));
    return {
      title: "Workers",
      node,
      async refresh() {
        data = await api.get("/workers/status");
        countsNode = UT.swap(countsNode, counts(data));
        workersNode = UT.swap(workersNode, workers(data));
        resultsNode = UT.swap(resultsNode, results(data));
        stamp();
      },
    };
  }, "workers");
})();
