// Monitor detail (#/monitors/:id): the status and since when, what is
// checked, the actions (check now with its result, pause / resume, edit,
// delete), the latency chart over a chosen period (the phases stacked where
// the period is read from raw results, p50 and p95 where it comes from the
// rollups), a 90-day uptime calendar, the incidents and the latest results.
// Everything refreshes in place every few seconds.
"use strict";

(() => {
  const { h, api, badge, time, table, can, header } = UT;

  const PERIODS = [
    ["1h", "1 h", "the last hour"], ["24h", "24 h", "the last 24 hours"], ["7d", "7 d", "the last 7 days"],
    ["30d", "30 d", "the last 30 days"], ["90d", "90 d", "the last 90 days"],
  ];
  const PHASES = [["dns", "dnsMs", "DNS"], ["connect", "connectMs", "Connect"], ["tls", "tlsMs", "TLS"], ["ttfb", "ttfbMs", "First byte"]];
  const CALENDAR_DAYS = 90;
  const PERIOD_KEY = "uptime.monitorPeriod";

  const count = (n) => Number(n || 0).toLocaleString();

  /** "45 s", "12 min", "3 h 20 min", "2 d 4 h". */
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 86400) {
      const m = Math.floor((s % 3600) / 60);
      return Math.floor(s / 3600) + " h" + (m ? " " + m + " min" : "");
    }
    const hours = Math.floor((s % 86400) / 3600);
    return Math.floor(s / 86400) + " d" + (hours ? " " + hours + " h" : "");
  }

  /** A <time> with the exact local date and time. */
  function exact(iso) {
    return h("time", { datetime: iso }, new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }));
  }

  // ------------------------------------------------------------ status --

  /** The words after the badge: since when the monitor is in its state. */
  function since(m, incidents) {
    const open = incidents.find((i) => !i.resolvedAt);
    const lastCheck = m.lastCheckedAt ? [" · last check ", time(m.lastCheckedAt)] : [];
    if (!m.enabled) return ["no checks run until it is resumed", lastCheck];
    if (open) return ["since ", exact(open.startedAt), ` (${duration(open.durationSeconds)})`, lastCheck];
    if (m.status === "unknown") return [`the first check runs within ${duration(m.intervalSeconds)}`];
    if (m.status === "down") {
      return [`${UT.plural(m.consecutiveFailures, "failed check")} in a row; an incident opens after ${m.failureThreshold}`, lastCheck];
    }
    const last = incidents.find((i) => i.resolvedAt);
    return [last ? ["no incident since the last one ended ", time(last.resolvedAt)] : ["no incident since it was created ", time(m.createdAt)],
      lastCheck];
  }

  function statusLine(m, incidents) {
    return h("p", { class: "monitor-status" }, badge(m.enabled ? m.status : "paused"), h("span", {}, since(m, incidents)));
  }

  function expected(m) {
    const e = m.expectedStatus;
    if (e === undefined || e === null) return "2xx";
    return Array.isArray(e) ? e.join(", ") : String(e);
  }

  function facts(m, channels) {
    const rows = [
      ["Type", UT.typeLabel(m.type)],
      ["Target", h("span", { class: "target" }, m.target)],
    ];
    if (m.method) rows.push(["Method", m.method]);
    if (m.type === "http" || m.type === "keyword") rows.push(["Expected status", expected(m)]);
    if (m.keyword) rows.push(["Keyword", `${m.keywordMode === "notContains" ? "must not contain" : "must contain"} “${m.keyword}”`]);
    if (m.degradedThresholdMs) rows.push(["Degraded above", m.degradedThresholdMs + " ms"]);
    if (m.dnsRecordType) rows.push(["Record", m.dnsRecordType + (m.dnsExpected ? " = " + m.dnsExpected.join(", ") : "")]);
    if (m.tlsExpiryWarnDays !== undefined) rows.push(["Certificate warning", UT.plural(m.tlsExpiryWarnDays, "day") + " before expiry"]);
    rows.push(
      ["Checked every", duration(m.intervalSeconds)],
      ["Timeout", duration(m.timeoutSeconds)],
      ["Incident after", `${UT.plural(m.failureThreshold, "failed check")} in a row; resolved after ${UT.plural(m.recoveryThreshold, "good check")}`],
      ["Tags", m.tags.length ? m.tags.map((t) => h("span", { class: "tag" }, t)) : h("span", { class: "muted" }, "none")],
      ["Notifies", m.channelIds.length
        ? m.channelIds.map((id, i) => [i ? ", " : "", channels.has(id) ? h("a", { href: "#/channels/" + id }, channels.get(id)) : id])
        : h("span", { class: "muted" }, "no channel")],
      ["Created", exact(m.createdAt)],
    );
    return h("dl", { class: "facts", dataset: { version: m.updatedAt } }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  // ------------------------------------------------------------ timings --

  /** A check's phases as a bar, with the same facts in words. */
  function phaseBar(t) {
    const total = t.totalMs || 0;
    const words = PHASES.filter(([, key]) => t[key] !== null && t[key] !== undefined)
      .map(([, key, label]) => label + " " + UT.ms(t[key]));
    words.push("total " + UT.ms(total));
    const bar = h("span", { class: "timing", role: "img", "aria-label": words.join(", ") });
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

  function errorText(r) {
    return r.error ? UT.sentence(r.error) : h("span", { class: "muted" }, "–");
  }

  /** The answer of a check-now: status, timings, code and error. */
  function checkResult(r) {
    const t = r.timings || {};
    return h("div", { class: "check-body" },
      h("h2", {}, "Check now: result"),
      h("p", { class: "check-summary" }, badge(r.status), " in ", h("strong", {}, UT.ms(t.totalMs)),
        r.statusCode ? " · HTTP " + r.statusCode : "", " · ", exact(r.checkedAt)),
      r.error ? h("p", { class: "check-error" }, UT.sentence(r.error)) : null,
      phaseBar(t),
      h("dl", { class: "facts timings" },
        PHASES.filter(([, key]) => t[key] !== null && t[key] !== undefined).map(([name, key, label]) =>
          [h("dt", {}, h("span", { class: "swatch phase-" + name, "aria-hidden": "true" }), label), h("dd", {}, UT.ms(t[key]))]),
        h("dt", {}, "Total"), h("dd", {}, UT.ms(t.totalMs))));
  }

  function results(items) {
    return table({
      caption: "Latest check results, newest first",
      empty: "No results yet. They appear here as the workers check the monitor.",
      rows: items,
      rowKey: (r) => r.slotTs,
      columns: [
        { label: "Time", cell: (r) => time(r.checkedAt) },
        { label: "Status", cell: (r) => [badge(r.status), r.inMaintenance ? h("span", { class: "muted" }, " in maintenance") : null] },
        { label: "Code", class: "num", cell: (r) => (r.statusCode ? String(r.statusCode) : h("span", { class: "muted" }, "–")) },
        { label: "Total", class: "num", cell: (r) => UT.ms(r.timings.totalMs) },
        { label: "Phases", cell: (r) => phaseBar(r.timings) },
        { label: "Error", class: "wrap", cell: errorText },
      ],
    });
  }

  function incidentList(items) {
    return table({
      caption: "Incidents of this monitor, newest first",
      empty: "No incidents. One opens when the monitor fails as many checks in a row as its threshold.",
      rows: items,
      rowKey: (i) => i.id,
      columns: [
        { label: "State", cell: (i) => badge(i.resolvedAt ? "resolved" : "open") },
        { label: "Started", cell: (i) => exact(i.startedAt) },
        { label: "Duration", cell: (i) => (i.resolvedAt ? duration(i.durationSeconds) : "ongoing, " + duration(i.durationSeconds)) },
        { label: "Failed checks", class: "num", cell: (i) => count(i.failureCount) },
        {
          label: "Error", class: "wrap",
          cell: (i) => {
            const first = i.firstError ? UT.sentence(i.firstError) : "";
            const last = i.lastError ? UT.sentence(i.lastError) : "";
            if (!first && !last) return h("span", { class: "muted" }, "–");
            return last && last !== first ? [first, h("br"), h("span", { class: "muted" }, "Last: "), last] : first || last;
          },
        },
      ],
    });
  }

  // ----------------------------------------------------------- calendar --

  function dayClass(d) {
    if (d.uptimePercent === null || d.uptimePercent === undefined) return "none";
    if (d.uptimePercent >= 99.9) return "ok";
    if (d.uptimePercent >= 99) return "warn";
    if (d.uptimePercent >= 95) return "bad-soft";
    return "bad";
  }

  function dayWords(d) {
    const date = new Date(d.date + "T00:00:00Z").toLocaleDateString(undefined, { timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric" });
    if (d.uptimePercent === null || d.uptimePercent === undefined) {
      return `${date}: no checks` + (d.maintenanceChecks ? ` outside maintenance (${count(d.maintenanceChecks)} during it)` : "");
    }
    return `${date}: ${UT.percent(d.uptimePercent)} uptime, ${count(d.checks)} checks, ${count(d.down)} down`;
  }

  /**
   * 90 days as a calendar (weeks in columns, Monday on top). The list is
   * one tab stop; the arrow keys move between days; the day under the
   * pointer or the focus is read out below (and by screen readers from the
   * cell itself).
   */
  function calendar() {
    const readout = h("p", { class: "calendar-readout", "aria-hidden": "true" });
    const list = h("ol", { class: "calendar", "aria-label": `Uptime per day over the last ${CALENDAR_DAYS} days (UTC), oldest first` });
    let summary = "";
    let days = [];
    const cells = () => [...list.children];
    const show = (cell) => { readout.textContent = cell ? cell.textContent : summary; };
    function move(from, step) {
      const all = cells();
      const to = all[Math.min(Math.max(all.indexOf(from) + step, 0), all.length - 1)];
      if (!to || to === from) return;
      from.tabIndex = -1;
      to.tabIndex = 0;
      to.focus();
    }
    list.addEventListener("keydown", (event) => {
      const steps = { ArrowLeft: -7, ArrowRight: 7, ArrowUp: -1, ArrowDown: 1, Home: -CALENDAR_DAYS, End: CALENDAR_DAYS };
      if (!(event.key in steps) || !event.target.closest("li")) return;
      event.preventDefault();
      move(event.target.closest("li"), steps[event.key]);
    });
    list.addEventListener("focusin", (event) => show(event.target.closest("li")));
    list.addEventListener("focusout", () => show(null));
    list.addEventListener("mouseover", (event) => show(event.target.closest("li")));
    list.addEventListener("mouseleave", () => show(list.contains(document.activeElement) ? document.activeElement : null));

    function update(items) {
      days = items;
      const total = items.reduce((a, d) => a + d.checks, 0);
      const down = items.reduce((a, d) => a + d.down, 0);
      summary = total
        ? `Last ${CALENDAR_DAYS} days: ${UT.percent(((total - down) / total) * 100)} uptime over ${count(total)} checks. Point at a day or move to it with the arrow keys to read it.`
        : `No checks in the last ${CALENDAR_DAYS} days yet.`;
      const dates = cells().map((c) => c.dataset.date).join();
      if (dates !== items.map((d) => d.date).join()) {
        const focusedDate = list.contains(document.activeElement) ? document.activeElement.dataset.date : null;
        list.replaceChildren(...items.map((d, i) => {
          const cell = h("li", { class: "day", tabindex: i === items.length - 1 ? "0" : "-1", dataset: { date: d.date } },
            h("span", { class: "visually-hidden" }));
          if (i === 0) cell.style.gridRowStart = String(((new Date(d.date + "T00:00:00Z").getUTCDay() + 6) % 7) + 1);
          return cell;
        }));
        const again = focusedDate && cells().find((c) => c.dataset.date === focusedDate);
        if (again) { cells().forEach((c) => { c.tabIndex = c === again ? 0 : -1; }); again.focus(); }
      }
      cells().forEach((cell, i) => {
        cell.className = "day day-" + dayClass(days[i]);
        cell.firstChild.textContent = dayWords(days[i]);
      });
      show(list.contains(document.activeElement) ? document.activeElement : null);
    }

    const legend = h("p", { class: "legend calendar-legend" },
      [["ok", "99.9 % or more"], ["warn", "99 to 99.9 %"], ["bad-soft", "95 to 99 %"], ["bad", "below 95 %"], ["none", "no checks"]]
        .map(([cls, words]) => h("span", {}, h("span", { class: "swatch day-" + cls, "aria-hidden": "true" }), words)));
    return { node: h("div", { class: "calendar-wrap" }, list, readout, legend), update };
  }

  // -------------------------------------------------------------- chart --

  function cssColour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888888";
  }

  /**
   * Columns for uPlot: [xs, ...ys], with a null where the monitor was not
   * checked for much longer than usual (paused, or no worker running).
   */
  function columns(series, interval, stacked) {
    const times = series.points.map((p) => Date.parse(p.at) / 1000);
    const spacings = times.slice(1).map((x, i) => x - times[i]).sort((a, b) => a - b);
    const usual = spacings.length ? spacings[Math.floor(spacings.length / 2)] : 0;
    const gap = 3 * Math.max(series.bucketSeconds, interval, usual);
    const xs = [];
    const ys = stacked ? PHASES.map(() => []) : [[], []];
    let previous = null;
    for (const p of series.points) {
      const x = Date.parse(p.at) / 1000;
      if (previous !== null && x - previous > gap) {
        xs.push(previous + series.bucketSeconds);
        ys.forEach((y) => y.push(null));
      }
      previous = x;
      xs.push(x);
      if (stacked) {
        const known = PHASES.some(([, key]) => p[key] !== null && p[key] !== undefined);
        let sum = 0;
        PHASES.forEach(([, key], i) => { sum += p[key] || 0; ys[i].push(known ? sum : null); });
      } else {
        ys[0].push(p.p50Ms ?? null);
        ys[1].push(p.p95Ms ?? null);
      }
    }
    // Drawn from the top of the stack down, so each phase covers the ones above it.
    return stacked ? [xs, ...ys.reverse()] : [xs, ...ys];
  }

  /** "15-second", "5-minute", "hourly", "daily": what a bucket is. */
  function bucketWords(seconds) {
    if (seconds === 86400) return "daily";
    if (seconds === 3600) return "hourly";
    return seconds < 60 ? seconds + "-second" : seconds / 60 + "-minute";
  }

  function chartSummary(series, periodWords) {
    let weight = 0;
    let total = 0;
    let checks = 0;
    let down = 0;
    let p95 = null;
    for (const p of series.points) {
      const n = p.checks + p.maintenanceChecks;
      if (p.avgMs !== null) { weight += n; total += p.avgMs * n; }
      checks += p.checks;
      down += p.down;
      if (p.p95Ms !== null) p95 = Math.max(p95 ?? 0, p.p95Ms);
    }
    if (!checks && !weight) return `No checks over ${periodWords} yet.`;
    return `Over ${periodWords}: mean ${UT.ms(weight ? total / weight : null)}; the highest ${bucketWords(series.bucketSeconds)} ` +
      `p95 was ${UT.ms(p95)}; ${count(checks)} checks, ${count(down)} down.`;
  }

  /**
   * The latency chart: one uPlot, created once the box has a width, resized
   * with it, fed new data in place on refresh, and rebuilt only when the
   * kind of chart (phases or percentiles) or the colour scheme changes.
   */
  function chart() {
    const box = h("div", { class: "chart", role: "img" });
    const empty = h("p", { class: "empty chart-empty", hidden: true });
    const readout = h("p", { class: "chart-readout", "aria-hidden": "true" });
    const legend = h("p", { class: "legend chart-legend" });
    const summary = h("p", { class: "chart-summary", id: UT.uid("chart-summary") });
    box.setAttribute("aria-describedby", summary.id);
    let plot = null;
    let plotStacked = null;
    let state = null; // {series, stacked, interval, periodWords}

    function size() {
      const width = Math.floor(box.clientWidth);
      return { width, height: width < 520 ? 200 : 260 };
    }

    /** Markers on the points where there are too few of them to see as an area. */
    function sparse(u) {
      const [min, max] = [u.scales.x.min, u.scales.x.max];
      const shown = u.data[0].filter((x) => x >= min && x <= max).length;
      return shown > 0 && (max - min) / state.series.bucketSeconds / shown > 6;
    }

    function options(stacked) {
      const text = cssColour("--text");
      const line = cssColour("--line");
      const axis = { stroke: text, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 }, font: "12px system-ui, sans-serif" };
      const series = stacked
        ? PHASES.slice().reverse().map(([name, , label]) => {
          const colour = cssColour("--" + name);
          return { label, stroke: colour, fill: colour, width: 1, points: { show: sparse, size: 5, fill: colour } };
        })
        : [
          { label: "p50", stroke: cssColour("--link"), width: 2 },
          { label: "p95", stroke: cssColour("--warn"), width: 2, dash: [6, 4] },
        ];
      return {
        ...size(),
        legend: { show: false },
        cursor: { y: false, points: { show: !stacked } },
        scales: {
          // The whole period, also where there is no data yet.
          x: { time: true, range: (u, min, max) => (state ? [Date.parse(state.series.from) / 1000, Date.parse(state.series.to) / 1000] : [min, max]) },
          y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 10] },
        },
        axes: [axis, { ...axis, size: 64, values: (u, values) => values.map((v) => v + " ms") }],
        series: [{}, ...series],
        hooks: { setCursor: [(u) => readOut(u.cursor.idx)], drawClear: [shadeFailures] },
      };
    }

    /** Behind the lines: a red band over each bucket with failed checks, darker the more failed. */
    function shadeFailures(u) {
      if (!state) return;
      const { ctx, bbox } = u;
      const width = state.series.bucketSeconds;
      ctx.save();
      ctx.fillStyle = cssColour("--bad");
      for (const p of state.series.points) {
        if (!p.down) continue;
        const x = Date.parse(p.at) / 1000;
        const left = u.valToPos(x, "x", true);
        const right = u.valToPos(x + width, "x", true);
        ctx.globalAlpha = 0.12 + 0.3 * (p.down / Math.max(p.checks, 1));
        ctx.fillRect(left, bbox.top, Math.max(right - left, 2), bbox.height);
      }
      ctx.restore();
    }

    function readOut(index) {
      if (!state || index === null || index === undefined) { readout.textContent = "\u00a0"; return; }
      const x = plot.data[0][index];
      const point = state.series.points.find((p) => Date.parse(p.at) / 1000 === x);
      const when = new Date(x * 1000).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
      if (!point) { readout.textContent = `${when}: no checks around this time`; return; }
      const values = state.stacked
        ? PHASES.map(([, key, label]) => label + " " + UT.ms(point[key]))
        : ["p50 " + UT.ms(point.p50Ms), "p95 " + UT.ms(point.p95Ms), "mean " + UT.ms(point.avgMs)];
      readout.textContent = `${when}: ${values.join(", ")} (${point.checks === 1 ? "1 check" : count(point.checks) + " checks"})`;
    }

    function draw() {
      if (!state || !box.isConnected) return;
      const hasPoints = state.series.points.length > 0;
      empty.hidden = hasPoints;
      box.hidden = !hasPoints;
      if (!hasPoints) {
        if (plot) { plot.destroy(); plot = null; }
        return;
      }
      if (!size().width) return;
      const data = columns(state.series, state.interval, state.stacked);
      if (plot && plotStacked === state.stacked) {
        plot.setData(data);
      } else {
        if (plot) plot.destroy();
        plot = new uPlot(options(state.stacked), data, box);
        plotStacked = state.stacked;
      }
      box.dataset.points = String(state.series.points.length);
      readOut(plot.cursor.idx);
    }

    const observer = new ResizeObserver(() => {
      if (!box.isConnected) { observer.disconnect(); if (plot) { plot.destroy(); plot = null; } return; }
      if (plot) plot.setSize(size()); else draw();
    });
    observer.observe(box);
    const scheme = window.matchMedia("(prefers-color-scheme: dark)");
    const recolour = () => {
      if (!box.isConnected) { scheme.removeEventListener("change", recolour); return; }
      if (plot) { plot.destroy(); plot = null; }
      draw();
    };
    scheme.addEventListener("change", recolour);

    function update(series, interval, periodWords) {
      const stacked = series.source === "raw";
      state = { series, stacked, interval, periodWords };
      box.setAttribute("aria-label", stacked
        ? `Latency chart over ${periodWords}: DNS, connect, TLS and first byte stacked, ${bucketWords(series.bucketSeconds)} points`
        : `Latency chart over ${periodWords}: median (p50) and 95th percentile (p95), ${bucketWords(series.bucketSeconds)} points`);
      summary.textContent = chartSummary(series, periodWords);
      empty.textContent = `No checks over ${periodWords} yet. Points appear as the monitor is checked.`;
      legend.replaceChildren(...[...(stacked
        ? PHASES.map(([name, , label]) => h("span", {}, h("span", { class: "swatch phase-" + name, "aria-hidden": "true" }), label))
        : [h("span", {}, h("span", { class: "swatch swatch-line swatch-p50", "aria-hidden": "true" }), "p50 (median), solid line"),
          h("span", {}, h("span", { class: "swatch swatch-line swatch-p95", "aria-hidden": "true" }), "p95, dashed line")]),
      state.series.points.some((p) => p.down)
        ? h("span", {}, h("span", { class: "swatch swatch-down", "aria-hidden": "true" }), "failed checks (shaded)")
        : null,
      h("span", { class: "muted" }, stacked
        ? "Phases of the checks that did not fail, mean per point."
        : "Per point, over every check; from the " + series.source + " rollups.")].filter(Boolean));
      draw();
    }

    readout.textContent = "\u00a0";
    return { node: h("div", { class: "chart-wrap" }, summary, legend, box, empty, readout), update };
  }

  // --------------------------------------------------------------- view --

  async function load(id, period) {
    const path = "/monitors/" + encodeURIComponent(id);
    const [monitor, series, daily, incidents, latest] = await Promise.all([
      api.get(path),
      api.get(path + "/series", { period }),
      api.get(path + "/uptime/daily", { days: CALENDAR_DAYS }),
      api.get(path + "/incidents", { limit: 20 }),
      api.get(path + "/results", { limit: 20 }),
    ]);
    return { monitor, series, daily: daily.items, incidents: incidents.items, results: latest.items };
  }

  async function channelNames() {
    try {
      return new Map((await api.all("/channels")).map((c) => [c.id, c.name]));
    } catch (error) {
      return new Map();
    }
  }

  UT.route("monitors/:id", async ({ id }) => {
    let period = sessionStorage.getItem(PERIOD_KEY) || "24h";
    if (!PERIODS.some(([p]) => p === period)) period = "24h";
    let [data, channels] = await Promise.all([load(id, period), channelNames()]);
    let m = data.monitor;
    const words = () => PERIODS.find(([p]) => p === period)[2];

    const status = h("div", { class: "status-slot" }, statusLine(m, data.incidents));
    let factsNode = facts(m, channels);
    const factsSlot = h("div", { class: "card facts-card" }, factsNode);
    const checkBox = h("section", { class: "card check-result", role: "status", "aria-live": "polite", hidden: true });
    const latency = chart();
    const days = calendar();
    let incidentsNode = incidentList(data.incidents);
    let resultsNode = results(data.results);
    let seriesToken = 0;

    async function reload() {
      const token = seriesToken;
      const fresh = await load(id, period);
      if (!node.isConnected) return;
      data = fresh;
      m = data.monitor;
      status.replaceChildren(statusLine(m, data.incidents));
      node.querySelector("h1").textContent = m.name;
      if (m.updatedAt !== factsNode.dataset.version) factsNode = UT.swap(factsNode, facts(m, channels));
      if (token === seriesToken && data.series.period === period) latency.update(data.series, m.intervalSeconds, words());
      days.update(data.daily);
      incidentsNode = UT.swap(incidentsNode, incidentList(data.incidents));
      resultsNode = UT.swap(resultsNode, results(data.results));
      syncActions();
    }

    // Period: a group of toggle buttons.
    const periodButtons = PERIODS.map(([p, label, long]) => h("button", {
      type: "button", "aria-pressed": String(p === period), title: "Show " + long,
      onClick: async () => {
        if (p === period) return;
        period = p;
        sessionStorage.setItem(PERIOD_KEY, p);
        periodButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(PERIODS[i][0] === p)));
        const token = ++seriesToken;
        try {
          const series = await api.get("/monitors/" + encodeURIComponent(id) + "/series", { period: p });
          if (token === seriesToken) latency.update(series, m.intervalSeconds, words());
        } catch (error) {
          UT.notice("The chart could not be loaded: " + UT.sentence(error.message), "bad");
        }
      },
    }, label));

    // Actions, for keys that may change things.
    const checkButton = h("button", { type: "button", class: "primary", onClick: checkNow }, "Check now");
    const pauseButton = h("button", { type: "button", onClick: togglePause });
    const actions = can("write")
      ? [checkButton, pauseButton,
        h("a", { href: "#/monitors/" + encodeURIComponent(id) + "/edit", class: "button-link button-quiet" }, "Edit"),
        h("button", { type: "button", class: "danger", onClick: remove }, "Delete")]
      : [];

    function syncActions() {
      pauseButton.textContent = m.enabled ? "Pause" : "Resume";
      checkButton.hidden = !m.enabled;
    }

    async function checkNow() {
      checkButton.disabled = true;
      checkButton.textContent = "Checking…";
      checkBox.hidden = false;
      checkBox.replaceChildren(h("h2", {}, "Check now"), h("p", {}, `Checking ${m.name} now…`));
      try {
        const answer = await api.post("/monitors/" + encodeURIComponent(id) + "/check-now?wait=true");
        if (answer && answer.result) {
          checkBox.replaceChildren(checkResult(answer.result));
        } else {
          checkBox.replaceChildren(h("h2", {}, "Check now"),
            h("p", {}, "The check is queued but its result has not arrived yet (is a worker running?). It will show under Latest results."));
        }
        await reload();
      } catch (error) {
        checkBox.replaceChildren(h("h2", {}, "Check now"), UT.failure(error));
      } finally {
        checkButton.disabled = false;
        checkButton.textContent = "Check now";
      }
    }

    async function togglePause() {
      const resume = !m.enabled;
      pauseButton.disabled = true;
      try {
        m = await api.post("/monitors/" + encodeURIComponent(id) + (resume ? "/resume" : "/pause"));
        data.monitor = m;
        UT.notice(resume ? `${m.name} is resumed; checks start again.` : `${m.name} is paused; no checks run until you resume it.`);
        status.replaceChildren(statusLine(m, data.incidents));
        syncActions();
        if (!resume) checkBox.hidden = true;
        await reload();
      } catch (error) {
        UT.notice(UT.sentence(error.message), "bad");
      } finally {
        pauseButton.disabled = false;
      }
    }

    async function remove() {
      const sure = await UT.confirm(`Delete ${m.name}?`,
        `This deletes the monitor “${m.name}” with its results, incidents and history. It cannot be undone.`,
        "Delete monitor");
      if (!sure) return;
      try {
        await api.del("/monitors/" + encodeURIComponent(id));
        UT.notice(`${m.name} is deleted.`);
        location.hash = "#/";
      } catch (error) {
        UT.notice(UT.sentence(error.message), "bad");
      }
    }

    syncActions();
    const node = h("div", { class: "view-monitor" },
      h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Overview"), " › Monitor"),
      header(m.name, ...actions),
      status,
      checkBox,
      h("section", { class: "section", "aria-labelledby": "monitor-latency" },
        h("div", { class: "section-head" },
          h("h2", { id: "monitor-latency" }, "Latency"),
          h("div", { class: "segmented", role: "group", "aria-label": "Chart period" }, periodButtons)),
        h("div", { class: "card" }, latency.node)),
      h("div", { class: "monitor-columns" },
        h("section", { class: "section", "aria-labelledby": "monitor-uptime" },
          h("h2", { id: "monitor-uptime" }, "Uptime, last 90 days"),
          h("div", { class: "card" }, days.node)),
        h("section", { class: "section", "aria-labelledby": "monitor-facts" },
          h("h2", { id: "monitor-facts" }, "What is checked"),
          factsSlot)),
      h("section", { class: "section", "aria-labelledby": "monitor-incidents" },
        h("h2", { id: "monitor-incidents" }, "Incidents"),
        h("div", {}, incidentsNode)),
      h("section", { class: "section", "aria-labelledby": "monitor-results" },
        h("h2", { id: "monitor-results" }, "Latest results"),
        h("div", {}, resultsNode)));
    latency.update(data.series, m.intervalSeconds, words());
    days.update(data.daily);

    return { title: m.name, node, refresh: reload };
  }, "");
})();
