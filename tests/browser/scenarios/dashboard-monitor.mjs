// The monitor detail page (#/monitors/:id) against a running API and worker:
// opened from the overview; the status in words; the latency chart gains
// checks and points as the page refreshes itself; another period switches
// to p50 / p95 lines; the uptime calendar reads each day on focus and moves
// with the arrow keys; check now shows the result; pause and resume change
// the badge; a read key sees the page without any action; 375 px without
// horizontal overflow; dark mode; delete asks first, naming the monitor,
// then goes back to the overview. No console error, no CSP violation.
// Saves screenshots.
//
// args: <base-url> <admin-key> <read-key> <monitor-name> <artifact-dir>
import { mkdirSync } from "node:fs";

function fail(message) {
  throw new Error(message);
}

async function noOverflow(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    inner: window.innerWidth,
  }));
  if (scroll > inner) fail(`${what}: horizontal overflow (${scroll} > ${inner})`);
}

async function watch(context) {
  const problems = [];
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__violations.push(event.effectiveDirective + " " + event.blockedURI));
  });
  context.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  context.on("weberror", (error) => problems.push(String(error.error())));
  return problems;
}

async function clean(page, problems, who) {
  const violations = await page.evaluate(() => window.__violations);
  if (violations.length) fail(`${who}: the page breaks its own CSP: ${violations.join(", ")}`);
  if (problems.length) fail(`${who}: console errors: ${problems.join(" | ")}`);
}

/** Signs in and opens the monitor from the overview's list. */
async function openFromOverview(page, base, key, name) {
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  await page.getByRole("table", { name: "Monitors" }).getByRole("link", { name }).click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

/** The chart's checks (from its summary) and points. */
async function chartFigures(page) {
  const summary = await page.locator(".chart-summary").textContent();
  const checks = Number(((summary.match(/([\d,]+) checks/) || [])[1] || "0").replace(/,/g, ""));
  const points = Number((await page.getByRole("img", { name: /^Latency chart/ }).getAttribute("data-points")) || 0);
  return { checks, points, summary };
}

export default async function (browser, [base, adminKey, readKey, name, artifacts]) {
  if (!base || !adminKey || !readKey || !name || !artifacts) {
    fail("usage: dashboard-monitor <base-url> <admin-key> <read-key> <monitor-name> <artifact-dir>");
  }
  mkdirSync(artifacts, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const problems = await watch(context);
  try {
    const page = await context.newPage();
    await openFromOverview(page, base, adminKey, name);
    const status = page.locator(".monitor-status");
    await status.getByText("Up", { exact: true }).waitFor({ timeout: 15000 });

    // The last hour: phases stacked, described in words; it gains checks
    // as the page refreshes itself (no reload).
    await page.getByRole("group", { name: "Chart period" }).getByRole("button", { name: "1 h", exact: true }).click();
    const chart = page.getByRole("img", { name: /^Latency chart over the last hour: DNS, connect, TLS and first byte stacked/ });
    await chart.waitFor();
    if ((await page.getByRole("button", { name: "1 h", exact: true }).getAttribute("aria-pressed")) !== "true") fail("1 h is not shown as pressed");
    await page.locator(".chart canvas").first().waitFor();
    for (const phase of ["DNS", "Connect", "TLS", "First byte"]) await page.locator(".chart-legend").getByText(phase, { exact: true }).waitFor();
    const marker = await page.evaluate(() => (window.__loadMarker = Math.random()));
    const first = await chartFigures(page);
    if (!/^Over the last hour: mean [\d.]+ ms; the highest 15-second p95 was [\d.]+ ms; [\d,]+ checks, 0 down\.$/.test(first.summary)) {
      fail("chart summary reads " + JSON.stringify(first.summary));
    }
    await page.waitForFunction((before) => {
      const text = document.querySelector(".chart-summary").textContent;
      return Number(((text.match(/([\d,]+) checks/) || [])[1] || "0").replace(/,/g, "")) > before;
    }, first.checks, { timeout: 12000 });
    if ((await page.evaluate(() => window.__loadMarker)) !== marker) fail("the page reloaded instead of refreshing");

    // Hovering the chart reads the point out.
    const box = await chart.boundingBox();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.waitForFunction(() => /DNS|no checks/.test(document.querySelector(".chart-readout").textContent));

    // The uptime calendar: 90 days in words, one tab stop, arrow keys.
    const days = page.getByRole("list", { name: /^Uptime per day over the last 90 days/ }).getByRole("listitem");
    if ((await days.count()) !== 90) fail("the calendar has " + (await days.count()) + " days");
    await days.last().focus();
    const today = await page.evaluate(() => document.activeElement.textContent);
    if (!/uptime, [\d,]+ checks/.test(today)) fail("today reads " + JSON.stringify(today));
    await page.keyboard.press("ArrowUp");
    const yesterday = await page.evaluate(() => document.activeElement.textContent);
    const readout = await page.locator(".calendar-readout").textContent();
    if (yesterday === today || readout !== yesterday) fail(`arrow key / readout: ${yesterday} / ${readout}`);
    const bad = await days.filter({ hasText: "93.75 % uptime" }).count();
    if (bad !== 1) fail("the seeded bad day is not read as 93.75 % uptime");

    // Incidents, with duration and error in words.
    await page.getByRole("table", { name: /^Incidents of this monitor/ }).getByText("HTTP 503 from the target").waitFor();

    // Check now: the result arrives on the page.
    await page.getByRole("button", { name: "Check now", exact: true }).click();
    const result = page.getByRole("status").filter({ has: page.getByRole("heading", { name: "Check now: result" }) });
    await result.waitFor({ timeout: 15000 });
    await result.getByText("Up", { exact: true }).waitFor();
    await result.getByRole("img", { name: /total [\d.]+ ms/ }).waitFor();

    await noOverflow(page, "1280 px");
    await page.screenshot({ path: artifacts + "/dashboard-monitor-desktop.png", fullPage: true });

    // A phone: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 812 });
    await page.waitForTimeout(300);
    await noOverflow(page, "375 px");
    await page.screenshot({ path: artifacts + "/dashboard-monitor-phone.png", fullPage: true });

    // Dark: the page and the chart follow the reader's preference.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForTimeout(300);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (background !== "rgb(13, 17, 23)") fail("dark mode not applied: body is " + background);
    await noOverflow(page, "dark");
    await page.screenshot({ path: artifacts + "/dashboard-monitor-dark.png", fullPage: true });
    await page.emulateMedia({ colorScheme: "light" });

    // Pause and resume: the badge says so; no check now while paused.
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await status.getByText("Paused", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Resume", exact: true }).waitFor();
    if (await page.getByRole("button", { name: "Check now", exact: true }).isVisible()) fail("check now is offered while paused");
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await page.getByRole("button", { name: "Pause", exact: true }).waitFor();
    await page.waitForFunction(() => !document.querySelector(".monitor-status .badge").textContent.includes("Paused"));
    await status.getByText("Up", { exact: true }).waitFor({ timeout: 15000 });

    // Another period: the rollups' percentiles.
    await page.getByRole("button", { name: "7 d", exact: true }).click();
    await page.getByRole("img", { name: /^Latency chart over the last 7 days: median \(p50\) and 95th percentile \(p95\)/ }).waitFor();
    await page.locator(".chart-legend").getByText("p95, dashed line").waitFor();
    await page.getByRole("button", { name: "1 h", exact: true }).click();
    await chart.waitFor();

    // The chart has gained points since it was first drawn (15-s buckets).
    await page.waitForFunction((before) => Number(document.querySelector(".chart").dataset.points) > before,
      first.points, { timeout: 20000 });

    // A read key: everything shown, no action offered.
    const reader = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const readerProblems = await watch(reader);
    try {
      const view = await reader.newPage();
      await openFromOverview(view, base, readKey, name);
      await view.getByRole("img", { name: /^Latency chart/ }).waitFor();
      await view.getByRole("list", { name: /^Uptime per day/ }).waitFor();
      await view.getByRole("table", { name: /^Latest check results/ }).waitFor();
      for (const action of ["Check now", "Pause", "Resume", "Delete"]) {
        if (await view.getByRole("button", { name: action, exact: true }).count()) fail("a read key is offered " + action);
      }
      if (await view.getByRole("link", { name: "Edit" }).count()) fail("a read key is offered Edit");
      await clean(view, readerProblems, "read key");
    } finally {
      await reader.close();
    }

    // Delete: a dialog naming the monitor; Escape keeps it; confirming
    // deletes it and goes back to the overview.
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    let dialog = page.getByRole("dialog", { name: `Delete ${name}?` });
    await dialog.getByText(`This deletes the monitor “${name}”`).waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("heading", { level: 1, name }).waitFor();
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    dialog = page.getByRole("dialog", { name: `Delete ${name}?` });
    await dialog.getByRole("button", { name: "Delete monitor" }).click();
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await page.getByText(`${name} is deleted.`).waitFor();
    if (await page.getByRole("link", { name, exact: true }).count()) fail("the deleted monitor is still listed");

    await clean(page, problems, "admin key");
    return "monitor page ok: chart refresh, period, calendar keys, check now, pause/resume, read key, phone, dark, delete";
  } finally {
    await context.close();
  }
}
