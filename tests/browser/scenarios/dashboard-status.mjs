// The dashboard's status views in Debian's Chromium, driven as a screen
// reader would (roles and labels): an admin signs in, builds a component
// tree (a component, a group with a child), a status page with two
// sections that it publishes and follows to the public page, a status
// incident with an update that changes a component's status, and a
// recurring maintenance window whose next five occurrences it previews. A
// read-only key then sees the same lists without a single edit control.
// Every view is checked at 375 px (dark) for horizontal overflow, with no
// console error and no CSP violation. Saves screenshots.
//
// args: <base-url> <admin-key> <read-key> <artifact-dir> <monitor-name>
// (run by runner.mjs with the test binary's one browser)
import { mkdirSync } from "node:fs";

function fail(message) {
  throw new Error(message);
}

/** A page that records console errors and CSP violations. */
async function watched(context, problems) {
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // The preview answers 422 while a cron expression is being typed: the
    // browser logs the status, the form shows the sentence. Neither page
    // names a favicon, so the browser's own guess at one may 404.
    const url = message.location().url;
    const expected = (url.endsWith("/api/v1/maintenance-windows/preview") && message.text().includes("422")) ||
      url.endsWith("/favicon.ico");
    if (!expected) problems.push("console: " + message.text() + " (" + message.location().url + ")");
  });
  page.on("pageerror", (error) => problems.push("page error: " + error.message));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) =>
      console.error("CSP violation: " + event.effectiveDirective + " " + event.blockedURI));
  });
  return page;
}

async function signIn(page, base, key) {
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

async function go(page, name) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { level: 1, name, exact: true }).waitFor();
}

async function noOverflow(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    inner: window.innerWidth,
  }));
  if (scroll > inner) fail(`${what}: horizontal overflow at ${inner} px (${scroll} px wide)`);
}

async function shot(page, path) {
  await page.screenshot({ path, fullPage: true });
}

export default async function (browser, [base, adminKey, readKey, artifacts, monitorName]) {
  if (!base || !adminKey || !readKey || !artifacts || !monitorName) {
    fail("usage: dashboard-status <base-url> <admin-key> <read-key> <artifact-dir> <monitor-name>");
  }
  mkdirSync(artifacts, { recursive: true });
  const problems = [];
  const done = [];
  let context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "America/New_York", colorScheme: "light" });
  let pageId;
  let incidentUrl;
  try {
    const page = await watched(context, problems);
    await signIn(page, base, adminKey);
    const main = page.getByRole("main");

    // ---- Components: a group with a child, and a component, through the form.
    await go(page, "Components");
    await main.getByRole("link", { name: "New group" }).click();
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("Backend");
    await page.getByRole("button", { name: "Create group" }).click();
    await main.getByRole("heading", { name: "Backend" }).waitFor();

    await main.getByRole("link", { name: "New component" }).click();
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("Jobs");
    await page.getByLabel("In group").selectOption({ label: "Backend" });
    await page.getByRole("button", { name: "Create component" }).click();
    await main.getByRole("list", { name: "Components in Backend" }).getByRole("heading", { name: "Jobs" }).waitFor();

    await main.getByRole("link", { name: "New component" }).click();
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("Public API");
    await page.getByLabel(monitorName + " (HTTP(S))").check();
    await page.getByLabel("Description").fill("REST and webhooks");
    await page.getByRole("button", { name: "Create component" }).click();
    await main.getByRole("heading", { name: "Public API" }).waitFor();
    const apiItem = main.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "Public API" }) });
    await apiItem.getByRole("link", { name: monitorName }).waitFor();

    // A manual status, then handed back.
    await main.getByRole("button", { name: "Set the status of Jobs" }).click();
    const dialog = page.getByRole("dialog", { name: "Set the status of Jobs" });
    await dialog.getByLabel("Status", { exact: true }).selectOption({ label: "Degraded performance" });
    await dialog.getByLabel("Message (optional)").fill("Queue is slow after the deploy");
    await dialog.getByRole("button", { name: "Set status" }).click();
    const jobs = main.getByRole("list", { name: "Components in Backend" }).getByRole("listitem").first();
    await jobs.getByText("Degraded performance").waitFor();
    await jobs.getByText("Set by hand").waitFor();
    // The group takes the worst of its components: its badge and its child's.
    const backend = main.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "Backend", level: 2 }) });
    if ((await backend.getByText("Degraded performance", { exact: true }).count()) !== 2) fail("the group does not show its component's status");
    await shot(page, artifacts + "/dashboard-components-desktop.png");
    await main.getByRole("button", { name: "Hand Jobs back to automatic" }).click();
    await jobs.getByText("Set by hand").waitFor({ state: "detached" });
    // Edit: the form comes back filled in.
    await main.getByRole("link", { name: "Edit Public API" }).click();
    if (!(await page.getByLabel(monitorName + " (HTTP(S))").isChecked())) fail("the edit form lost the component's monitor");
    await page.getByLabel("Owner").fill("Platform team");
    await page.getByRole("button", { name: "Save changes" }).click();
    await main.getByText("Owner: Platform team").waitFor();
    done.push("components");

    // ---- A status page with two sections, reordered, published, followed.
    await go(page, "Status pages");
    await main.getByRole("link", { name: "New status page" }).click();
    await page.getByRole("textbox", { name: "Title", exact: true }).fill("Acme status");
    if ((await page.getByLabel("Slug").inputValue()) !== "acme-status") fail("no slug suggested from the title");
    await page.getByLabel("Name of section 1").fill("Applications");
    await page.getByLabel("Add a component to Applications").selectOption({ label: "Public API" });
    await page.getByRole("button", { name: "Add the chosen component to Applications" }).click();
    await page.getByRole("button", { name: "Add a section" }).click();
    const second = page.getByLabel("Name of section 2");
    if (!(await second.evaluate((el) => el === document.activeElement))) fail("the new section's name does not have the focus");
    await second.fill("Infrastructure");
    await page.getByLabel("Add a component to Infrastructure").selectOption({ label: "Backend (group)" });
    await page.getByRole("button", { name: "Add the chosen component to Infrastructure" }).click();
    // The group's child can no longer be added beside it.
    const offered = await page.getByLabel("Add a component to Applications").locator("option").allTextContents();
    if (offered.some((o) => o.includes("Jobs"))) fail("a group's component is offered beside its group: " + offered.join(", "));
    // Reorder by keyboard-reachable buttons: Infrastructure first, then back.
    await page.getByRole("button", { name: "Move section Infrastructure up" }).click();
    if ((await page.getByLabel("Name of section 1").inputValue()) !== "Infrastructure") fail("the section did not move up");
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute("aria-label"));
    if (focused !== "Move section Infrastructure down") fail("focus lost after moving a section: " + focused);
    await page.keyboard.press("Enter");
    if ((await page.getByLabel("Name of section 1").inputValue()) !== "Applications") fail("the section did not move back by keyboard");
    await page.getByRole("button", { name: "Create status page" }).click();
    await main.getByRole("heading", { level: 1, name: "Acme status", exact: true }).waitFor();
    pageId = page.url().split("/").pop();
    await main.getByRole("button", { name: "Publish", exact: true }).click();
    const open = main.getByRole("link", { name: "Open the public page" });
    await open.waitFor();
    await main.getByRole("button", { name: "Unpublish" }).waitFor();
    await shot(page, artifacts + "/dashboard-pages-desktop.png");
    // Follow the link to the public page, once its snapshot has it.
    const href = await open.getAttribute("href");
    if (href !== "/status/acme-status") fail("public link is " + href);
    for (let attempt = 0; ; attempt += 1) {
      const answer = await context.request.get(base + href);
      if (answer.status() === 200) break;
      if (attempt > 40) fail("the public page answered " + answer.status());
      await page.waitForTimeout(250);
    }
    const [response] = await Promise.all([page.waitForNavigation(), open.click()]);
    if (response.status() !== 200) fail("the public page answered " + response.status());
    const publicText = await page.textContent("body");
    for (const words of ["Acme status", "Applications", "Public API", "Infrastructure", "Backend"]) {
      if (!publicText.includes(words)) fail("the public page does not show " + words);
    }
    await page.goBack();
    await main.getByRole("heading", { level: 1, name: "Acme status", exact: true }).waitFor();
    await page.getByLabel("Description").fill("Everything Acme runs");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved Acme status; it is published.").waitFor();
    await go(page, "Status pages");
    await main.getByRole("table", { name: "Status pages" }).getByText("Published").waitFor();
    done.push("status page");

    // ---- A status incident, then an update that changes a component's status.
    await go(page, "Incidents");
    await main.getByRole("link", { name: "New status incident" }).click();
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("Checkout errors");
    await page.getByLabel("First update").fill("We are investigating errors at checkout.");
    await page.getByLabel("Public API").selectOption({ label: "Affected: Partial outage" });
    await page.getByLabel("Backend › Jobs").selectOption({ index: 1 });
    await page.getByRole("button", { name: "Open incident" }).click();
    await main.getByRole("heading", { level: 1, name: "Checkout errors", exact: true }).waitFor();
    incidentUrl = page.url();
    const timeline = main.getByRole("list", { name: "Timeline, newest first" });
    await timeline.getByText("We are investigating errors at checkout.").waitFor();
    const update = main.getByRole("form", { name: "Post an update" });
    await update.getByLabel("Status", { exact: true }).selectOption({ label: "Identified" });
    await update.getByRole("textbox", { name: "Message", exact: true }).fill("The payment provider is failing.");
    await update.getByLabel("Public API").selectOption({ label: "Major outage" });
    await update.getByRole("button", { name: "Post update" }).click();
    await timeline.getByText("The payment provider is failing.").waitFor();
    if ((await timeline.getByRole("listitem").filter({ hasText: "payment provider" }).count()) < 1) fail("the update is not in the timeline");
    const affected = main.getByRole("table", { name: "Affected components" });
    await affected.getByRole("row").filter({ hasText: "Public API" }).getByText("Major outage").first().waitFor();
    const items = await timeline.locator(":scope > li").count();
    if (items !== 2) fail("expected 2 timeline entries, found " + items);
    await shot(page, artifacts + "/dashboard-incidents-desktop.png");
    // The component shows it too.
    await go(page, "Components");
    await main.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "Public API" }) }).getByText("Major outage").waitFor();
    await main.getByRole("link", { name: "a status incident" }).first().waitFor();
    await go(page, "Incidents");
    await main.getByRole("table", { name: "Open status incidents" }).getByRole("link", { name: "Checkout errors" }).waitFor();
    await shot(page, artifacts + "/dashboard-incidents-list-desktop.png");
    done.push("incident");

    // ---- A recurring maintenance window with its five previewed occurrences.
    await go(page, "Maintenance");
    await main.getByRole("link", { name: "New maintenance window" }).click();
    await page.getByRole("textbox", { name: "Title", exact: true }).fill("Sunday patching");
    await page.getByLabel("Kind").selectOption({ label: "Recurring (on a cron schedule)" });
    await page.getByLabel("Time zone").fill("Europe/Berlin");
    await page.getByLabel("Cron expression").fill("0 25 * * 0");
    const preview = main.getByRole("region", { name: "Next occurrences" });
    await preview.getByText(/hour field/).waitFor();
    await page.getByLabel("Cron expression").fill("0 2 * * 0");
    await page.getByLabel("Duration (minutes)").fill("90");
    const occurrences = preview.getByRole("table", { name: "The next 5 occurrences" });
    await occurrences.waitFor();
    const rows = await occurrences.locator("tbody tr").count();
    if (rows !== 5) fail("expected 5 previewed occurrences, found " + rows);
    const headers = await occurrences.locator("th").allTextContents();
    if (!headers.some((t) => t.includes("Europe/Berlin")) || !headers.some((t) => t.includes("America/New_York"))) {
      fail("the preview does not show both zones: " + headers.join(" | "));
    }
    const firstRow = await occurrences.locator("tbody tr").first().innerText();
    if (!/Sun/.test(firstRow) || !/02:00/.test(firstRow) || !/UTC\+0[12]:00/.test(firstRow)) fail("first occurrence reads " + firstRow);
    await page.getByLabel("Public API").check();
    await shot(page, artifacts + "/dashboard-maintenance-desktop.png");
    await page.getByRole("button", { name: "Create window" }).click();
    await main.getByRole("heading", { level: 1, name: "Maintenance", exact: true }).waitFor();
    await main.getByRole("table", { name: "Upcoming maintenance" }).getByText("Sunday patching").waitFor();
    await shot(page, artifacts + "/dashboard-maintenance-list-desktop.png");
    // Edit: the schedule comes back, previewed, and a change is saved.
    await main.getByRole("link", { name: "Edit Sunday patching" }).click();
    await preview.getByRole("table", { name: "The next 5 occurrences" }).waitFor();
    if ((await page.getByLabel("Cron expression").inputValue()) !== "0 2 * * 0") fail("the edit form lost the cron expression");
    await page.getByLabel("Duration (minutes)").fill("60");
    await page.getByRole("button", { name: "Save changes" }).click();
    await main.getByRole("table", { name: "Upcoming maintenance" }).getByText("60 minutes each").waitFor();
    done.push("maintenance");
  } finally {
    await context.close();
  }

  // ---- Phone width, dark: every view fits.
  context = await browser.newContext({ viewport: { width: 375, height: 812 }, timezoneId: "Europe/Berlin", colorScheme: "dark" });
  try {
    const page = await watched(context, problems);
    await signIn(page, base, adminKey);
    const views = [
      ["#/components", "Components", "dashboard-components-phone.png"],
      ["#/status-pages", "Status pages", null],
      ["#/status-pages/" + pageId, "Acme status", "dashboard-pages-phone.png"],
      ["#/incidents", "Incidents", "dashboard-incidents-list-phone.png"],
      [new URL(incidentUrl).hash, "Checkout errors", "dashboard-incidents-phone.png"],
      ["#/maintenance", "Maintenance", "dashboard-maintenance-list-phone.png"],
      ["#/maintenance/new", "New maintenance window", null],
    ];
    for (const [hash, heading, file] of views) {
      await page.goto(base + "/" + hash);
      await page.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
      await noOverflow(page, hash);
      if (file) await shot(page, artifacts + "/" + file);
    }
    // The maintenance form with its preview, at phone width.
    await page.getByLabel("Kind").selectOption({ label: "Recurring (on a cron schedule)" });
    await page.getByLabel("Cron expression").fill("30 1 1 * *");
    await page.getByRole("table", { name: "The next 5 occurrences" }).waitFor();
    await noOverflow(page, "maintenance preview");
    await shot(page, artifacts + "/dashboard-maintenance-phone.png");
    done.push("phone");
  } finally {
    await context.close();
  }

  // ---- A read-only key: everything, and no control that changes anything.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await watched(context, problems);
    await signIn(page, base, readKey);
    const main = page.getByRole("main");
    const views = [
      ["#/components", "Components", "Public API"],
      ["#/status-pages", "Status pages", "Acme status"],
      ["#/status-pages/" + pageId, "Acme status", "Infrastructure"],
      ["#/incidents", "Incidents", "Checkout errors"],
      [new URL(incidentUrl).hash, "Checkout errors", "The payment provider is failing."],
      ["#/maintenance", "Maintenance", "Sunday patching"],
    ];
    for (const [hash, heading, text] of views) {
      await page.goto(base + "/" + hash);
      await page.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
      await main.getByText(text).first().waitFor();
      const controls = await main.locator("button, form, input, select, textarea").count();
      if (controls) {
        const what = await main.locator("button, form, input, select, textarea").evaluateAll((els) =>
          els.map((e) => e.tagName + " " + (e.textContent || e.getAttribute("aria-label") || "").trim()).join(", "));
        fail(`a read-only key sees edit controls on ${hash}: ${what}`);
      }
      for (const name of ["New component", "New group", "New status page", "New status incident", "New maintenance window", "Edit"]) {
        if (await main.getByRole("link", { name, exact: true }).count()) fail(`a read-only key sees "${name}" on ${hash}`);
      }
      if (hash.startsWith("#/status-pages/")) {
        if ((await main.getByRole("link", { name: "/status/acme-status" }).count()) < 1) fail("the read-only page view has no public link");
        await shot(page, artifacts + "/dashboard-pages-readonly-desktop.png");
      }
    }
    // Live: a change made elsewhere shows up without a reload.
    await page.goto(base + "/#/components");
    await main.getByRole("heading", { name: "Jobs" }).waitFor();
    await page.evaluate(() => { window.__loaded = true; });
    const admin = { Authorization: "Bearer " + adminKey };
    const all = await (await context.request.get(base + "/api/v1/components?limit=100", { headers: admin })).json();
    const jobsId = all.items.find((c) => c.name === "Jobs").id;
    const set = await context.request.post(base + "/api/v1/components/" + jobsId + "/status",
      { headers: admin, data: { status: "partial_outage", message: "Set from elsewhere" } });
    if (set.status() !== 200) fail("could not set a status through the API: " + set.status());
    await main.getByText("Set from elsewhere").waitFor({ timeout: 12000 });
    if (!(await page.evaluate(() => window.__loaded))) fail("the page reloaded to show the change");
    await context.request.post(base + "/api/v1/components/" + jobsId + "/status", { headers: admin, data: { status: "automatic" } });
    done.push("read-only");
  } finally {
    await context.close();
  }

  if (problems.length) fail("console errors or CSP violations:\n" + problems.join("\n"));
  return "dashboard status views ok: " + done.join(", ") + "; screenshots in " + artifacts;
}
