// Drives Debian's Chromium (through playwright-core, no browser download)
// against a running API and worker: the /workers page asks for a key, shows
// an error for a wrong one, then the worker and recent results, and keeps
// updating them without a reload. The page's strict CSP lets its own
// stylesheet and script work and stops an injected inline handler and
// script. Saves screenshots.
//
// usage: node workers.mjs <base-url> <api-key> <artifact-dir>
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, key, artifacts] = process.argv.slice(2);
if (!base || !key || !artifacts) {
  console.error("usage: node workers.mjs <base-url> <api-key> <artifact-dir>");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });

function fail(message) {
  throw new Error(message);
}

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Record every CSP violation from the first byte on (init scripts run
  // outside the page's policy).
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__violations.push(event.effectiveDirective + " " + event.blockedURI));
  });
  await page.goto(base + "/workers");

  // The stylesheet is applied (the header is dark).
  const headerColour = await page.evaluate(() => getComputedStyle(document.querySelector("header")).backgroundColor);
  if (headerColour !== "rgb(36, 41, 47)") fail("the stylesheet is not applied: header is " + headerColour);

  // No key yet: the page asks for one.
  await page.waitForSelector("#banner.show");
  const asking = await page.textContent("#banner");
  if (!asking.includes("Enter an API key")) fail("no prompt for a key: " + asking);

  // A wrong key: an error banner, no data.
  await page.fill("#api-key", "upt_wrong_key_0000000000000000");
  await page.click("#key-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#banner").textContent.includes("refused"));

  // The right key: the worker and results appear.
  await page.fill("#api-key", key);
  await page.click("#key-form button[type=submit]");
  await page.waitForSelector("[data-worker]", { timeout: 15000 });
  await page.waitForSelector("#results tr[data-result]", { timeout: 15000 });
  if (await page.isVisible("#banner.show")) fail("error banner still shown: " + (await page.textContent("#banner")));
  const host = await page.textContent("[data-worker] h3");
  if (!host.includes("LIVE")) fail("worker not shown as live: " + host);
  const up = Number(await page.textContent("[data-count=up] b"));
  if (!(up >= 1)) fail("monitor counts not shown");

  // It keeps updating without a reload, and typing survives the refreshes.
  const marker = await page.evaluate(() => (window.__loadMarker = Math.random()));
  const first = await page.getAttribute("#results tr[data-result]", "data-result");
  await page.fill("#api-key", "half-typed");
  await page.waitForFunction(
    (previous) => document.querySelector("#results tr[data-result]").getAttribute("data-result") !== previous,
    first,
    { timeout: 10000 },
  );
  if ((await page.evaluate(() => window.__loadMarker)) !== marker) fail("the page reloaded");
  if ((await page.inputValue("#api-key")) !== "half-typed") fail("typing was lost on refresh");
  await page.fill("#api-key", "");
  const ownViolations = await page.evaluate(() => window.__violations);
  if (ownViolations.length) fail("the page breaks its own CSP: " + ownViolations.join(", "));
  await page.screenshot({ path: artifacts + "/workers-desktop.png", fullPage: true });

  // Phone width: nothing spills out of the viewport except the results table's own scroller.
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail("the page is wider than a phone screen by " + overflow + "px");
  await page.screenshot({ path: artifacts + "/workers-phone.png", fullPage: true });

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
  const refused = await page.evaluate(() => window.__violations);
  for (const directive of ["script-src-attr", "script-src-elem"]) {
    if (!refused.some((v) => v.startsWith(directive + " inline"))) {
      fail("no " + directive + " violation reported: " + JSON.stringify(refused));
    }
  }
  console.log("workers page ok: worker, results, updates, errors, phone width, CSP; screenshots in " + artifacts);
} finally {
  await browser.close();
}
