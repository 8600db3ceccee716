// The dashboard's create / edit monitor form, driven as a person would:
// controls found by role and label. Signs in, opens New monitor, sees the
// API's 422 message next to the URL field for a bad URL, fixes it, tests
// the settings (a result with timings), saves and lands on the monitor's
// page; edits its interval; sees the DNS fields when the type is DNS;
// creates a monitor with the keyboard only; fits 375 px; reads in dark
// mode; and a read-only key gets a sentence instead of the form. No console
// errors and no CSP violations throughout. Saves screenshots.
//
// args: <base-url> <admin-key> <read-only-key> <target-url> <artifact-dir>
import { mkdirSync } from "node:fs";

function fail(message) {
  throw new Error(message);
}

const MONITOR_HASH = /#\/monitors\/([0-9a-f-]{36})$/;

/** A page that records console errors, page errors and CSP violations. */
async function watchedPage(context) {
  const page = await context.newPage();
  const problems = [];
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__violations.push(event.effectiveDirective + " " + event.blockedURI));
  });
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // A 422 answer is part of the flow, and the shell has no icon: the
    // browser logs both as failed loads.
    const from = message.location().url || "";
    if (/status of 422/.test(message.text()) && from.includes("/api/v1/monitors")) return;
    if (from.endsWith("/favicon.ico")) return;
    problems.push("console: " + message.text() + " (" + from + ")");
  });
  page.on("pageerror", (error) => problems.push("page error: " + error.message));
  page.check = async () => {
    const violations = await page.evaluate(() => window.__violations);
    if (violations.length) fail("CSP violations: " + violations.join(", "));
    if (problems.length) fail(problems.join(" | "));
  };
  return page;
}

async function signIn(page, base, key) {
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
}

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

/** The monitor as the API has it, with the page's own key. */
async function fetchMonitor(page, key, id) {
  return page.evaluate(async ([k, i]) => {
    const response = await fetch("/api/v1/monitors/" + i, { headers: { Authorization: "Bearer " + k } });
    return response.ok ? response.json() : null;
  }, [key, id]);
}

/** The control labelled exactly `label` (a required field's label ends in a "*"). */
function labelled(scope, label) {
  return scope.getByLabel(new RegExp("^" + label.replace(/[()*.]/g, "\\$&") + "( \\*)?$"));
}

async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** The text a screen reader reads as the description of `control` (help and error). */
async function description(control) {
  return control.evaluate((node) => (node.getAttribute("aria-describedby") || "").split(" ")
    .map((id) => document.getElementById(id)?.textContent || "").join(" "));
}

async function waitForSave(page) {
  await page.waitForFunction((pattern) => new RegExp(pattern).test(location.hash), MONITOR_HASH.source, { timeout: 10000 });
  return MONITOR_HASH.exec(await page.evaluate(() => location.hash))[1];
}

export default async function (browser, [base, key, readKey, target, artifacts]) {
  if (!base || !key || !readKey || !target || !artifacts) {
    fail("usage: dashboard-monitor-form <base-url> <admin-key> <read-only-key> <target-url> <artifact-dir>");
  }
  mkdirSync(artifacts, { recursive: true });
  const done = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await watchedPage(context);
    await signIn(page, base, key);

    // New monitor from the overview.
    await page.getByRole("link", { name: "New monitor" }).click();
    await page.getByRole("heading", { level: 1, name: "New monitor" }).waitFor();
    const form = page.getByRole("form", { name: "New monitor" });
    if ((await form.getByLabel("Type", { exact: true }).inputValue()) !== "http") fail("the form does not start as HTTP");
    for (const [label, value] of [["Method", "GET"], ["Expected status", "2xx"], ["Check every (seconds)", "60"],
      ["Failures before an incident", "3"], ["Successes before recovery", "1"]]) {
      const shown = await form.getByLabel(label, { exact: true }).inputValue();
      if (shown !== value) fail(`${label} shows ${JSON.stringify(shown)}, not the default ${value}`);
    }
    if (!(await form.getByLabel("Check on schedule").isChecked())) fail("a new monitor is not enabled by default");
    if (!(await form.getByText("Empty: the server's default (10 s as shipped)").isVisible())) fail("the timeout's default is not named");
    if (!(await form.getByLabel(/Ops webhook/).isVisible())) fail("the channels are not offered as checkboxes");
    done.push("defaults");

    // A bad URL: the API's message next to the URL field.
    await form.getByRole("textbox", { name: "Name", exact: true }).fill("Checkout API");
    const url = form.getByRole("textbox", { name: "URL", exact: true });
    await url.fill("not a url");
    await form.getByRole("button", { name: "Create monitor" }).click();
    await page.waitForFunction(() => document.querySelector("[aria-invalid=true]"));
    if ((await url.getAttribute("aria-invalid")) !== "true") fail("the URL field is not marked invalid");
    const said = await description(url);
    if (!said.includes("Must be an http:// or https:// URL.")) fail("no message next to the URL field: " + said);
    const wrapper = url.locator("xpath=..");
    if (!(await wrapper.getByText("Must be an http:// or https:// URL.").isVisible())) fail("the URL message is not shown by its field");
    if (await url.evaluate((node) => node !== document.activeElement)) fail("focus did not move to the field in error");
    await page.screenshot({ path: artifacts + "/dashboard-form-error.png", fullPage: true });
    done.push("422 by its field");

    // Fixed, then tested: a result with timings, nothing saved.
    await url.fill(target);
    await form.getByLabel("Tags").fill("shop, prod");
    await form.getByRole("button", { name: "Test" }).click();
    const result = page.getByRole("status").filter({ hasText: "Test result" });
    await result.waitFor({ timeout: 15000 });
    const resultText = await result.innerText();
    for (const words of ["Up", "HTTP 200", "Connect", "First byte", "Total", "Nothing was saved"]) {
      if (!resultText.includes(words)) fail(`the test result lacks ${words}: ${resultText}`);
    }
    if (!/Total\s*[\d.]+ ms/.test(resultText)) fail("the test result has no total time: " + resultText);
    if (await url.getAttribute("aria-invalid")) fail("the fixed URL is still marked invalid");
    await page.screenshot({ path: artifacts + "/dashboard-form-desktop.png", fullPage: true });
    done.push("test run");

    // Saved: the monitor's page, and the monitor in the API.
    await form.getByRole("button", { name: "Create monitor" }).click();
    const id = await waitForSave(page);
    const created = await fetchMonitor(page, key, id);
    if (!created || created.name !== "Checkout API" || created.target !== target || created.intervalSeconds !== 60) {
      fail("the created monitor is not as entered: " + JSON.stringify(created));
    }
    if (created.tags.join(",") !== "prod,shop") fail("tags not saved: " + JSON.stringify(created.tags));
    done.push("created");

    // The new monitor's page: checked now by the worker, with its timings,
    // in its latest results and its chart.
    await page.getByRole("heading", { level: 1, name: "Checkout API" }).waitFor();
    await page.getByRole("button", { name: "Check now", exact: true }).click();
    const checked = page.getByRole("status").filter({ has: page.getByRole("heading", { name: "Check now: result" }) });
    await checked.waitFor({ timeout: 15000 });
    await checked.getByText("Up", { exact: true }).waitFor();
    await checked.getByRole("img", { name: /total [\d.]+ ms/ }).waitFor();
    const latest = page.getByRole("table", { name: /^Latest check results/ });
    await latest.getByRole("row").nth(1).waitFor({ timeout: 15000 });
    done.push("checked by the worker");

    // Edit: the saved values are shown; a new interval is saved.
    await go(page, `#/monitors/${id}/edit`);
    await page.getByRole("heading", { level: 1, name: "Edit Checkout API" }).waitFor();
    const edit = page.getByRole("form", { name: "Edit monitor Checkout API" });
    if ((await edit.getByRole("textbox", { name: "URL", exact: true }).inputValue()) !== target) fail("the edit form does not show the URL");
    if ((await edit.getByLabel("Tags").inputValue()) !== "prod, shop") fail("the edit form does not show the tags");
    await edit.getByLabel("Check every (seconds)").fill("30");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await page.waitForFunction((h) => location.hash === h, `#/monitors/${id}`, { timeout: 10000 });
    const edited = await fetchMonitor(page, key, id);
    if (edited.intervalSeconds !== 30) fail("the new interval was not saved: " + JSON.stringify(edited));
    if (edited.name !== "Checkout API" || edited.target !== target) fail("editing changed other fields");
    done.push("edited");

    // The fields follow the type.
    await go(page, "#/monitors/new");
    await page.getByRole("heading", { level: 1, name: "New monitor" }).waitFor();
    const type = form.getByLabel("Type", { exact: true });
    await type.selectOption("dns");
    for (const label of ["Hostname", "Record type", "Expected answers", "Resolver"]) {
      if (!(await labelled(form, label).isVisible())) fail(`no ${label} field for DNS`);
    }
    for (const label of ["URL", "Method", "Expected status"]) {
      if (await labelled(form, label).count()) fail(`${label} is still shown for DNS`);
    }
    if ((await form.getByLabel("Record type").inputValue()) !== "A") fail("the record type does not default to A");
    await type.selectOption("tls");
    if (!(await form.getByLabel("Warn days before expiry").isVisible())) fail("no expiry warning field for TLS");
    await type.selectOption("tcp");
    if (!(await form.getByLabel("Host and port").isVisible())) fail("no host:port field for TCP");
    await type.selectOption("keyword");
    if (!(await form.getByRole("textbox", { name: "Keyword", exact: true }).isVisible())) fail("no keyword field");
    await form.getByLabel("Method").selectOption("POST");
    if (!(await form.getByLabel("Request body").isVisible())) fail("no body field for POST");
    await form.getByLabel("Method").selectOption("GET");
    if (await form.getByLabel("Request body").isVisible()) fail("a body field for GET");
    done.push("fields follow the type");

    // Leaving a form with unsaved input asks first; staying keeps it.
    await go(page, "#/");
    const ask = page.getByRole("dialog", { name: "Leave without saving?" });
    await ask.waitFor();
    await page.keyboard.press("Escape");
    if (!(await form.getByLabel("Method").isVisible())) fail("staying on the form lost it");
    await go(page, "#/");
    await ask.getByRole("button", { name: "Leave the page" }).click();
    done.push("unsaved input is not dropped silently");

    // Keyboard only: Tab, Space and Enter (and typing), no clicks.
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    const focused = () => page.evaluate(() => {
      const a = document.activeElement;
      return a ? (a.getAttribute("aria-label") || a.textContent || a.name || "").trim() + "|" + a.tagName : "";
    });
    const tabTo = async (want, limit = 60) => {
      for (let i = 0; i < limit; i += 1) {
        await page.keyboard.press("Tab");
        if ((await focused()).startsWith(want + "|")) return;
      }
      fail(`Tab never reached ${want}`);
    };
    await tabTo("New monitor");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "New monitor" }).waitFor();
    await page.keyboard.press("Tab"); // Type (HTTP(S))
    if ((await page.evaluate(() => document.activeElement.name)) !== "type") fail("Tab from the heading does not reach Type");
    await page.keyboard.press("Tab");
    await page.keyboard.type("Keyboard check");
    await page.keyboard.press("Tab");
    await page.keyboard.type(target);
    await tabTo("Test");
    await page.keyboard.press("Space");
    await result.waitFor({ timeout: 15000 });
    await page.keyboard.press("Shift+Tab");
    if (!(await focused()).startsWith("Create monitor|")) fail("Shift+Tab from Test is not Create monitor: " + (await focused()));
    await page.keyboard.press("Enter");
    const keyed = await fetchMonitor(page, key, await waitForSave(page));
    if (!keyed || keyed.name !== "Keyboard check" || keyed.target !== target) fail("keyboard creation failed: " + JSON.stringify(keyed));
    done.push("keyboard only");

    // A phone: no horizontal overflow, with a 422 and a test result shown.
    await page.setViewportSize({ width: 375, height: 812 });
    await go(page, "#/monitors/new");
    await page.getByRole("heading", { level: 1, name: "New monitor" }).waitFor();
    await form.getByRole("textbox", { name: "Name", exact: true }).fill("A monitor with a rather long name to wrap");
    await form.getByLabel("Headers").fill("Accept application/json");
    await form.getByRole("textbox", { name: "URL", exact: true }).fill(target + "?with=a-long-query-string-that-must-wrap-on-a-phone");
    await form.getByRole("button", { name: "Test" }).click();
    const headersSaid = await description(form.getByLabel("Headers"));
    if (!headersSaid.includes("Line 1 must read Name: value")) fail("no message for a header line without a colon: " + headersSaid);
    await form.getByLabel("Headers").fill("Accept: application/json");
    await form.getByRole("button", { name: "Test" }).click();
    await result.waitFor({ timeout: 15000 });
    await page.waitForTimeout(200);
    let wider = await overflow(page);
    if (wider > 1) fail("the form is wider than a phone by " + wider + "px");
    await page.screenshot({ path: artifacts + "/dashboard-form-phone.png", fullPage: true });
    done.push("375 px");

    // Dark.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: "dark" });
    await go(page, "#/");
    // The phone form holds unsaved input: leave it deliberately.
    await page.getByRole("dialog", { name: "Leave without saving?" }).getByRole("button", { name: "Leave the page" }).click();
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await go(page, "#/monitors/new");
    await page.getByRole("heading", { level: 1, name: "New monitor" }).waitFor();
    await form.getByRole("textbox", { name: "Name", exact: true }).fill("Checkout API (EU)");
    await form.getByRole("textbox", { name: "URL", exact: true }).fill("ftp://example.com/");
    await form.getByRole("button", { name: "Create monitor" }).click();
    await page.waitForFunction(() => document.querySelector("[aria-invalid=true]"));
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (background !== "rgb(13, 17, 23)") fail("dark mode is not applied: " + background);
    await page.screenshot({ path: artifacts + "/dashboard-form-dark.png", fullPage: true });
    done.push("dark");
    await page.check();
  } finally {
    await context.close();
  }

  // A read-only key: a sentence, no form.
  const readContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await watchedPage(readContext);
    await signIn(page, base, readKey);
    if (await page.getByRole("link", { name: "New monitor" }).count()) fail("a read-only key is offered New monitor");
    await go(page, "#/monitors/new");
    await page.getByRole("heading", { level: 1, name: "New monitor" }).waitFor();
    const main = page.getByRole("main");
    if (!(await main.getByText("cannot create monitors").isVisible())) fail("no sentence saying the key cannot create monitors");
    if (await main.getByRole("form").count()) fail("a read-only key sees the form");
    if (await main.getByRole("textbox").count()) fail("a read-only key sees inputs");
    await page.check();
    done.push("read-only");
  } finally {
    await readContext.close();
  }
  return "monitor form ok: " + done.join(", ") + "; screenshots in " + artifacts;
}
