// Drives Debian's Chromium (through playwright-core, no browser download)
// against a running API and worker: GET /workers lands in the dashboard on
// its workers view, which asks for a key, says so in a sentence when the key
// is wrong, then shows the monitor counts, the live worker and the latest
// results with their phase bars, and keeps updating them without a reload
// or moving the scroll. The dashboard's strict CSP lets its own stylesheet
// and scripts work and stops an injected inline handler and script. Phone
// width without horizontal overflow, dark mode. Saves screenshots.
//
// args: <base-url> <api-key> <artifact-dir> (run by runner.mjs with the
// test binary's one browser)
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

export default async function (browser, [base, key, artifacts]) {
if (!base || !key || !artifacts) fail("usage: workers <base-url> <api-key> <artifact-dir>");
mkdirSync(artifacts, { recursive: true });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
try {
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (message) => {
    // The browser asks for /favicon.ico on its own; the shell has none.
    const from = message.location().url || "";
    if (message.type() === "error" && !from.endsWith("/favicon.ico")) consoleErrors.push(message.text() + " " + from);
  });
  // Record every CSP violation from the first byte on (init scripts run
  // outside the page's policy).
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__violations.push(event.effectiveDirective + " " + event.blockedURI));
  });
  await page.goto(base + "/workers");
  if (new URL(page.url()).hash !== "#/workers") fail("/workers did not land on the dashboard's workers view: " + page.url());

  // The stylesheet is applied (the sign-in box is a card).
  const box = await page.locator(".signin-box").evaluate((el) => getComputedStyle(el).borderRadius);
  if (box !== "10px") fail("the stylesheet is not applied: sign-in box radius " + box);

  // No key yet: the dashboard asks for one.
  await page.getByRole("heading", { name: "Sign in to UpTime" }).waitFor();

  // A wrong key: a sentence, no data.
  await page.getByLabel("API key").fill("upt_wrong_key_0000000000000000");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That key was not accepted. Check it and try again.").waitFor();
  // Chromium logs the refused request itself; that one is expected.
  const refused = consoleErrors.splice(0).filter((text) => !text.includes("status of 401"));
  if (refused.length) fail("console errors: " + refused.join(" | "));

  // The right key: the workers view, the worker and results appear.
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workers", level: 1 }).waitFor();
  const current = await page.getByRole("link", { name: "Workers" }).getAttribute("aria-current");
  if (current !== "page") fail("the Workers link is not marked as the current page");
  const worker = page.getByRole("article").first();
  await worker.waitFor({ timeout: 15000 });
  await worker.getByText("Live", { exact: true }).waitFor({ timeout: 15000 });
  const results = page.getByRole("table", { name: "Latest check results, newest first" });
  await results.getByRole("row").nth(1).waitFor({ timeout: 15000 });
  const up = Number(await page.getByRole("list", { name: "Monitors by status" }).getByRole("listitem")
    .filter({ hasText: /^\d+Up$/ }).locator("strong").textContent());
  if (!(up >= 1)) fail("monitor counts not shown");
  const bar = results.getByRole("img").first();
  const words = await bar.getAttribute("aria-label");
  if (!/total \d/.test(words)) fail("a phase bar has no words: " + words);
  const segments = await bar.locator("span").count();
  if (segments < 1) fail("a phase bar has no segments");

  // It keeps updating without a reload and without moving the scroll.
  await page.setViewportSize({ width: 1280, height: 500 });
  await page.evaluate(() => window.scrollTo(0, 300));
  const scrolled = await page.evaluate(() => window.scrollY);
  const marker = await page.evaluate(() => (window.__loadMarker = Math.random()));
  const firstRow = () => results.getByRole("row").nth(1).textContent();
  const first = await firstRow();
  await page.waitForFunction(
    (previous) => {
      const table = [...document.querySelectorAll("table")].find((t) => t.caption && t.caption.textContent.startsWith("Latest check results"));
      return table && table.tBodies[0].rows[0].textContent !== previous;
    },
    first,
    { timeout: 15000 },
  );
  if ((await page.evaluate(() => window.__loadMarker)) !== marker) fail("the page reloaded");
  const after = await page.evaluate(() => window.scrollY);
  if (after !== scrolled) fail(`the refresh moved the scroll from ${scrolled} to ${after}`);
  await page.setViewportSize({ width: 1280, height: 900 });
  const ownViolations = await page.evaluate(() => window.__violations);
  if (ownViolations.length) fail("the dashboard breaks its own CSP: " + ownViolations.join(", "));
  await page.evaluate(() => window.scrollTo(0, 0));
  // The top of the view (as the README shows it): counts, workers, the latest results.
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.screenshot({ path: artifacts + "/dashboard-workers-desktop.png" });

  // Phone width: nothing spills out of the viewport.
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(300);
  await noOverflow(page, "workers at 375 px");
  await page.screenshot({ path: artifacts + "/dashboard-workers-phone.png" });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForTimeout(200);
  await noOverflow(page, "workers at 375 px, dark");
  await page.screenshot({ path: artifacts + "/dashboard-workers-dark-phone.png" });
  await page.emulateMedia({ colorScheme: "light" });

  // Injected markup: an inline event handler and an inline script. The CSP
  // must refuse both, and say so.
  await page.evaluate(() => {
    const image = document.createElement("img");
    image.setAttribute("onerror", "window.__injected = 'handler'");
    image.src = "data:,not-an-image";
    document.body.append(image);
    const script = document.createElement("script");
    script.textContent = "window.__injected = 'script'";
    document.body.append(script);
  });
  await page
    .waitForFunction(() => window.__violations.length >= 2, null, { timeout: 3000 })
    .catch(() => {});
  await page.waitForTimeout(300);
  const injected = await page.evaluate(() => window.__injected);
  if (injected !== undefined) fail("an injected inline " + injected + " ran");
  const violations = await page.evaluate(() => window.__violations);
  for (const directive of ["script-src-attr", "script-src-elem"]) {
    if (!violations.some((v) => v.startsWith(directive + " inline"))) {
      fail("no " + directive + " violation reported: " + JSON.stringify(violations));
    }
  }
  const errors = consoleErrors.filter((text) => !text.includes("Content Security Policy"));
  if (errors.length) fail("console errors: " + errors.join(" | "));
  return "workers view ok: redirect, sign-in, worker, results, live updates, phone width, dark, CSP; screenshots in " + artifacts;
} finally {
  await context.close();
}
}
