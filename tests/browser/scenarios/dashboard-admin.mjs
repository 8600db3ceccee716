// The dashboard's channels, API keys and audit log in Debian's Chromium
// (playwright-core), found by role and label as a screen reader would:
// an admin creates a webhook channel pointing at the test's local receiver
// (a 422 shows next to the URL field first), sends a test and reads that it
// was delivered, sees the delivery log and queues the event again, edits
// the channel (its URL comes back in full to an admin); creates an API key
// (the raw key shown once, with a copy button and a warning, then listed
// without it) and revokes it after a confirmation that names it (Escape
// cancels); reads the audit log with the before/after of these changes and
// filters it. A write key edits the channel with its URL masked and keeps
// the stored URL by sending the mask back. A read key sees the channels
// without any edit control, the URL masked, and a sentence on the admin
// views. 375 px without horizontal
// overflow, dark mode, no console errors, no CSP violations. Screenshots:
// dashboard-channels-*, dashboard-keys-*, dashboard-audit-*.
//
// args: <base-url> <admin-key> <write-key> <read-key> <receiver-url> <artifact-dir>
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

/** A page that records console errors and CSP violations. */
async function watchedPage(context) {
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on("console", (message) => {
    // The browser asks for /favicon.ico on its own; the shell has none.
    const from = message.location().url || "";
    if (message.type() === "error" && !from.endsWith("/favicon.ico")) page.consoleErrors.push(message.text() + " " + from);
  });
  page.on("pageerror", (error) => page.consoleErrors.push("uncaught: " + error.message));
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__violations.push(event.effectiveDirective + " " + event.blockedURI));
  });
  return page;
}

async function clean(page, what) {
  const violations = await page.evaluate(() => window.__violations);
  if (violations.length) fail(`${what}: CSP violations: ${violations.join(", ")}`);
  if (page.consoleErrors.length) fail(`${what}: console errors: ${page.consoleErrors.join(" | ")}`);
}

async function signIn(page, base, key) {
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

async function go(page, hash, heading) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

async function nav(page, link, heading) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

/** Removes the passing notices, so that screenshots show the view. */
async function quiet(page) {
  await page.evaluate(() => document.querySelectorAll("#notices > *").forEach((n) => n.remove()));
}

/** Screenshots at 375 px (light, then dark) after checking for overflow; back to 1280 px light. */
async function phoneShots(page, artifacts, name) {
  await quiet(page);
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(150);
  await noOverflow(page, name + " at 375 px");
  await page.screenshot({ path: `${artifacts}/${name}-phone.png`, fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForTimeout(100);
  await noOverflow(page, name + " at 375 px, dark");
  await page.screenshot({ path: `${artifacts}/${name}-dark-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: `${artifacts}/${name}-dark.png`, fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
}

export default async function (browser, [base, adminKey, writeKey, readKey, receiverUrl, artifacts]) {
if (!base || !adminKey || !writeKey || !readKey || !receiverUrl || !artifacts) {
  fail("usage: dashboard-admin <base-url> <admin-key> <write-key> <read-key> <receiver-url> <artifact-dir>");
}
mkdirSync(artifacts, { recursive: true });
const steps = [];
let context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
try {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await watchedPage(context);
  await signIn(page, base, adminKey);

  // ---- Channels: create (a 422 next to the URL first), test, log, edit.
  await nav(page, "Channels", "Notification channels");
  await page.getByText("No channels yet.").waitFor();
  await page.getByRole("link", { name: "New channel" }).click();
  await page.getByRole("heading", { level: 1, name: "New channel" }).waitFor();
  const form = page.getByRole("form", { name: "New channel" });
  await form.getByLabel("Name").fill("Ops webhook");
  if ((await form.getByLabel("Type").inputValue()) !== "webhook") fail("the type does not default to webhook");
  if (await form.getByLabel("Bot token").isVisible()) fail("a webhook form shows the Telegram fields");
  await form.getByLabel("Type").selectOption("telegram");
  if (!(await form.getByLabel("Bot token").isVisible()) || (await form.getByLabel("URL").isVisible())) {
    fail("the fields do not follow the type");
  }
  await form.getByLabel("Type").selectOption("webhook");
  await form.getByLabel("URL").fill("ftp://example.com/hook");
  await form.getByRole("button", { name: "Create channel" }).click();
  await form.getByText("Must be an https:// URL.").waitFor();
  if ((await form.getByLabel("URL").getAttribute("aria-invalid")) !== "true") fail("the URL field is not marked invalid");
  await quiet(page);
  await page.screenshot({ path: `${artifacts}/dashboard-channels-form-desktop.png`, fullPage: true });
  // Chromium logs the 422 response itself; that one is expected.
  page.consoleErrors = page.consoleErrors.filter((text) => !text.includes("status of 422"));
  await form.getByLabel("URL").fill(receiverUrl);
  await form.getByLabel("A monitor turns degraded").check();
  await form.getByRole("button", { name: "Create channel" }).click();
  await page.getByRole("heading", { level: 1, name: "Ops webhook" }).waitFor();
  const secret = await page.getByRole("textbox", { name: "Signing secret" }).inputValue();
  if (!secret.startsWith("whsec_")) fail("the signing secret is not shown once: " + secret);
  await page.getByRole("button", { name: "I have saved it" }).click();
  if (await page.getByRole("textbox", { name: "Signing secret" }).count()) fail("the signing secret stays after it was dismissed");
  steps.push("channel created");

  await page.getByRole("button", { name: "Send test" }).click();
  const result = page.getByRole("status", { name: "Test result" });
  await result.getByText(/The receiver answered HTTP 200 in/).waitFor({ timeout: 15000 });
  const said = await result.innerText();
  if (!said.includes("Delivered")) fail("the test result does not say delivered: " + said);
  const log = page.getByRole("table", { name: "Delivery attempts, newest first" });
  const row = log.getByRole("row").filter({ hasText: "Test" }).first();
  await row.waitFor();
  const rowText = await row.innerText();
  if (!rowText.includes("Delivered") || !rowText.includes("#1") || !rowText.includes("HTTP 200")) {
    fail("the delivery log does not show the attempt: " + rowText);
  }
  await page.getByRole("button", { name: /^Redeliver the test event/ }).click();
  await page.getByText("The event is queued again").waitFor();
  await log.getByRole("row").filter({ hasText: "Pending" }).first().waitFor();
  steps.push("test delivered, log, redelivered");
  await quiet(page);
  await page.screenshot({ path: `${artifacts}/dashboard-channels-detail-desktop.png`, fullPage: true });
  await phoneShots(page, artifacts, "dashboard-channels-detail");

  await page.getByRole("link", { name: "Edit", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Edit “Ops webhook”" }).waitFor();
  const edit = page.getByRole("form", { name: "Edit channel" });
  if ((await edit.getByLabel("URL").inputValue()) !== receiverUrl) fail("an admin does not get the full URL back");
  await edit.getByLabel("Name").fill("Ops webhook (EU)");
  await edit.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("heading", { level: 1, name: "Ops webhook (EU)" }).waitFor();
  await nav(page, "Channels", "Notification channels");
  const listed = await page.getByRole("table", { name: "Notification channels" }).getByRole("row").nth(1).innerText();
  if (!listed.includes("Ops webhook (EU)") || !listed.includes("Enabled")) fail("the channel list: " + listed);
  await quiet(page);
  await page.screenshot({ path: `${artifacts}/dashboard-channels-desktop.png`, fullPage: true });
  await phoneShots(page, artifacts, "dashboard-channels");
  steps.push("channel edited");

  // ---- API keys: the raw key once, copy, list without it, revoke.
  await nav(page, "API keys", "API keys");
  const keyForm = page.getByRole("form", { name: "New API key" });
  await keyForm.getByLabel("Name").fill("CI deploy");
  await keyForm.getByRole("button", { name: "Create key" }).click();
  await page.getByRole("region", { name: "New key “CI deploy”" }).waitFor();
  const rawField = page.getByRole("textbox", { name: "API key", exact: true });
  await rawField.waitFor();
  const raw = await rawField.inputValue();
  if (!raw.startsWith("upt_")) fail("the raw key is not shown: " + raw);
  await page.getByText("This is the only time the key is shown").waitFor();
  await page.getByRole("button", { name: "Copy", exact: true }).click();
  const copied = page.getByText("Copied to the clipboard.");
  const selected = page.getByText("The text is selected");
  await copied.or(selected).waitFor();
  if (await copied.isVisible()) {
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    if (clip !== raw) fail("the clipboard holds something else than the key");
  } else {
    const whole = await rawField.evaluate((el) => el.selectionStart === 0 && el.selectionEnd === el.value.length);
    if (!whole) fail("the fallback does not select the key");
  }
  await quiet(page);
  await page.screenshot({ path: `${artifacts}/dashboard-keys-created-desktop.png`, fullPage: true });
  await page.getByRole("button", { name: "I have saved it" }).click();
  const keys = page.getByRole("table", { name: "API keys" });
  const keyRow = keys.getByRole("row").filter({ hasText: "CI deploy" });
  await keyRow.waitFor();
  const shownText = await page.evaluate(() => document.body.innerText + [...document.querySelectorAll("input")].map((i) => i.value).join(" "));
  if (shownText.includes(raw)) fail("the raw key is still on the page after it was dismissed");
  if (!(await keyRow.innerText()).includes(raw.slice(0, 12))) fail("the key's prefix is not listed");
  steps.push("key created and copied");

  await page.getByRole("button", { name: "Revoke CI deploy" }).click();
  const dialog = page.getByRole("dialog", { name: "Revoke API key?" });
  await dialog.waitFor();
  if (!(await dialog.innerText()).includes("“CI deploy”")) fail("the confirmation does not name the key");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  if (!(await keyRow.innerText()).includes("Active")) fail("Escape revoked the key");
  await page.getByRole("button", { name: "Revoke CI deploy" }).click();
  await dialog.getByRole("button", { name: "Revoke key" }).click();
  await keyRow.getByText("Revoked").waitFor();
  if (await page.getByRole("button", { name: "Revoke CI deploy" }).count()) fail("a revoked key can be revoked again");
  await quiet(page);
  await page.screenshot({ path: `${artifacts}/dashboard-keys-desktop.png`, fullPage: true });
  await phoneShots(page, artifacts, "dashboard-keys");
  steps.push("key revoked");

  // ---- Audit log: these changes with their before/after; a filter.
  await nav(page, "Audit log", "Audit log");
  const audit = page.getByRole("table", { name: "Audit log entries, newest first" });
  for (const words of ["Revoked API key", "Created API key", "Changed channel", "Queued again notification event",
    "Sent a test to channel", "Created channel"]) {
    await audit.getByRole("row").filter({ hasText: words }).first().waitFor();
  }
  const change = audit.getByRole("row").filter({ hasText: "Changed channel" });
  const before = await change.getByRole("deletion").first().innerText();
  const afterText = await change.getByRole("insertion").first().innerText();
  if (before !== "Ops webhook" || afterText !== "Ops webhook (EU)") fail(`the change reads ${before} → ${afterText}`);
  const revoked = await audit.getByRole("row").filter({ hasText: "Revoked API key" }).innerText();
  if (!revoked.includes("revokedAt") || !revoked.includes("CI deploy")) fail("the revocation shows no before/after: " + revoked);
  const filters = page.getByRole("form", { name: "Filter the audit log" });
  await filters.getByLabel("Entity type").selectOption("api_key");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await audit.getByRole("row").filter({ hasText: "Changed channel" }).waitFor({ state: "detached" });
  const rows = await audit.getByRole("row").count();
  if (rows < 3) fail("the api_key filter left " + (rows - 1) + " rows");
  await filters.getByRole("button", { name: "Clear" }).click();
  await audit.getByRole("row").filter({ hasText: "Changed channel" }).waitFor();
  await quiet(page);
  await page.screenshot({ path: `${artifacts}/dashboard-audit-desktop.png`, fullPage: true });
  await change.getByText("Before and after as JSON").click();
  await phoneShots(page, artifacts, "dashboard-audit");
  steps.push("audit log");
  await clean(page, "admin");
  await context.close();

  // ---- A write key: the URL masked in the form; sent back, it keeps the stored one.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const writer = await watchedPage(context);
  await signIn(writer, base, writeKey);
  await nav(writer, "Channels", "Notification channels");
  await writer.getByRole("link", { name: "Ops webhook (EU)" }).click();
  await writer.getByRole("link", { name: "Edit", exact: true }).click();
  const masked = writer.getByRole("form", { name: "Edit channel" });
  const maskedUrl = await masked.getByLabel("URL").inputValue();
  if (!maskedUrl.includes("/***") || maskedUrl === receiverUrl) fail("a write key gets the URL unmasked: " + maskedUrl);
  await masked.getByText("Leave it as it is to keep the stored URL").waitFor();
  await masked.getByLabel("Throttle (seconds)").fill("600");
  await masked.getByRole("button", { name: "Save changes" }).click();
  await writer.getByRole("heading", { level: 1, name: "Ops webhook (EU)" }).waitFor();
  await writer.getByRole("definition").filter({ hasText: "10 minutes" }).waitFor();
  if (await writer.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).count() !== 1) fail("no API keys link");
  await nav(writer, "API keys", "API keys");
  await writer.getByText("This page needs an admin key.").waitFor();
  await clean(writer, "write key");
  await context.close();
  steps.push("write key kept the masked URL");

  // ---- A read key: everything visible, nothing to change.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const reader = await watchedPage(context);
  await signIn(reader, base, readKey);
  await nav(reader, "Channels", "Notification channels");
  if (await reader.getByRole("link", { name: "New channel" }).count()) fail("a read key sees New channel");
  await reader.getByRole("link", { name: "Ops webhook (EU)" }).click();
  await reader.getByRole("heading", { level: 1, name: "Ops webhook (EU)" }).waitFor();
  await reader.getByRole("table", { name: "Delivery attempts, newest first" }).waitFor();
  for (const name of ["Send test", "Delete", /^Redeliver/]) {
    if (await reader.getByRole("button", { name }).count()) fail("a read key sees the button " + name);
  }
  if (await reader.getByRole("link", { name: "Edit", exact: true }).count()) fail("a read key sees Edit");
  const facts = await reader.getByRole("definition").allInnerTexts();
  if (!facts.some((f) => f.includes("/***") && f.includes("masked"))) fail("a read key sees the URL unmasked: " + facts.join(" | "));
  await reader.setViewportSize({ width: 375, height: 812 });
  await noOverflow(reader, "a read key's channel at 375 px");
  await reader.screenshot({ path: `${artifacts}/dashboard-channels-readonly-phone.png`, fullPage: true });
  await reader.setViewportSize({ width: 1280, height: 900 });
  await go(reader, "#/channels/new", "New channel");
  await reader.getByText("Changing this needs a key with the write scope").waitFor();
  await nav(reader, "API keys", "API keys");
  await reader.getByText("This page needs an admin key.").waitFor();
  if (await reader.getByRole("form").count()) fail("a read key sees the key form");
  await phoneShots(reader, artifacts, "dashboard-keys-readonly");
  await nav(reader, "Audit log", "Audit log");
  await reader.getByText("This page needs an admin key.").waitFor();
  await clean(reader, "read key");
  steps.push("read key");
  return "dashboard admin ok: " + steps.join(", ") + "; screenshots in " + artifacts;
} finally {
  await context.close();
}
}
