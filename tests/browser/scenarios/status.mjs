// Drives Debian's Chromium (through playwright-core, no browser download)
// against a running API with a published status page: the banner, the day
// bars and the active incident are found by role and text as a screen reader
// would; times are rewritten in the reader's zone; nothing overflows at
// 1280 px or 375 px, in light or dark; no CSP violation. Saves screenshots.
//
// With a fifth argument, a page with monitor details: they open by
// keyboard and wrap at 375 px in light and dark.
//
// args: <page-url> <banner-words> <incident-name> <artifact-dir> [details-page-url]
// (run by runner.mjs with the test binary's one browser)
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

export default async function (browser, [url, bannerWords, incidentName, artifacts, detailsUrl]) {
if (!url || !bannerWords || !incidentName || !artifacts) {
  fail("usage: status <page-url> <banner-words> <incident-name> <artifact-dir> [details-page-url]");
}
mkdirSync(artifacts, { recursive: true });
let context;
try {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "Europe/Berlin" });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__violations.push(event.effectiveDirective + " " + event.blockedURI));
  });
  // A controllable clock, to see the once-a-minute refresh without waiting.
  await page.clock.install();
  const response = await page.goto(url);
  if (response.status() !== 200) fail("page answered " + response.status());

  // The stylesheet is applied and the overall banner speaks in words.
  const banner = page.getByRole("status");
  const said = (await banner.innerText()).trim();
  if (said !== bannerWords) fail(`banner says ${JSON.stringify(said)}, expected ${JSON.stringify(bannerWords)}`);
  const bannerColour = await banner.evaluate((el) => getComputedStyle(el).backgroundColor);
  if (bannerColour === "rgba(0, 0, 0, 0)") fail("the stylesheet is not applied to the banner");

  // Landmarks and headings.
  for (const role of ["banner", "main", "contentinfo"]) {
    if ((await page.getByRole(role).count()) !== 1) fail("missing landmark " + role);
  }
  await page.getByRole("heading", { level: 1 }).waitFor();

  // The logo, from the page's own origin, loaded and drawn.
  const logo = page.locator("header img.brand-logo");
  const drawn = await logo.evaluate((img) => img.complete && img.naturalWidth > 0 && new URL(img.src).origin === location.origin);
  if (!drawn) fail("the logo is not shown from the page's origin");

  // Day bars: a list per component with words per day.
  const bars = page.getByRole("list", { name: /^Uptime of API/ });
  const days = await bars.getByRole("listitem").count();
  if (days !== 90) fail("expected 90 day bars for API, found " + days);
  const lastDay = (await bars.getByRole("listitem").last().textContent()).trim();
  if (!/uptime|No data/.test(lastDay)) fail("a day bar has no words: " + lastDay);
  const firstDay = (await bars.getByRole("listitem").first().textContent()).trim();
  if (!firstDay.includes("No data")) fail("days before the component existed should read no data: " + firstDay);

  // The active incident, with a link to its permalink and its timeline.
  await page.getByRole("heading", { name: "Active incidents" }).waitFor();
  const link = page.getByRole("link", { name: incidentName });
  await link.first().waitFor();
  await page.getByText("We are failing over to the standby database.").waitFor();

  // Script: times in the reader's zone (Berlin, not UTC), "updated N s ago".
  await page.waitForFunction(() => /ago$/.test(document.querySelector("[data-updated]").textContent));
  const timeText = await page.locator("time[data-local=datetime]").first().textContent();
  if (timeText.includes("UTC")) fail("times were not converted to the reader's zone: " + timeText);

  // Keyboard: the skip link is the first stop and moves focus to main.
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement.textContent);
  if (focused !== "Skip to content") fail("first tab stop is " + focused);
  await page.evaluate(() => document.activeElement.blur());

  // Today's bar names today's incident.
  const today = (await page.getByRole("list", { name: /^Uptime of Database/ }).getByRole("listitem").last().textContent());
  if (!today.includes(incidentName)) fail("today's bar does not name the incident: " + today);

  await noOverflow(page, "1280 px");
  await page.screenshot({ path: artifacts + "/status-desktop.png", fullPage: true });

  // The permalink page.
  await link.first().click();
  await page.getByRole("heading", { level: 1, name: incidentName }).waitFor();
  await noOverflow(page, "permalink");
  await page.screenshot({ path: artifacts + "/status-incident.png", fullPage: true });
  await page.goBack();
  await page.getByRole("status").waitFor();

  // A phone.
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(200);
  await noOverflow(page, "375 px");
  await page.screenshot({ path: artifacts + "/status-phone.png", fullPage: true });

  // Dark, following the reader's preference (theme auto).
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForTimeout(200);
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (background !== "rgb(13, 17, 23)") fail("dark mode not applied: body is " + background);
  await noOverflow(page, "dark");
  await page.screenshot({ path: artifacts + "/status-dark.png", fullPage: true });

  // The quiet refresh: a minute later <main> is fetched again and swapped,
  // without a reload, keeping an open group and the scroll position.
  const group = page.locator("details[data-key]").first();
  await group.locator("summary").click();
  await page.evaluate(() => {
    window.__loadMarker = 1;
    document.querySelector("main h1").dataset.old = "yes";
  });
  const scrolled = await page.evaluate(() => {
    window.scrollTo(0, 300);
    return window.scrollY;
  });
  if (scrolled !== 300) fail("could not scroll the page: " + scrolled);
  await page.clock.fastForward(61000);
  await page.waitForFunction(() => !document.querySelector("main h1").dataset.old, null, { timeout: 10000 });
  if ((await page.evaluate(() => window.__loadMarker)) !== 1) fail("the refresh reloaded the page");
  if (!(await group.evaluate((d) => d.open))) fail("the refresh closed an open group");
  if ((await page.evaluate(() => window.scrollY)) !== scrolled) fail("the refresh lost the scroll position");

  if (detailsUrl) {
    const details = await context.newPage();
    await details.addInitScript(() => {
      window.__violations = [];
      document.addEventListener("securitypolicyviolation", (event) =>
        window.__violations.push(event.effectiveDirective + " " + event.blockedURI));
    });
    await details.setViewportSize({ width: 375, height: 812 });
    const answer = await details.goto(detailsUrl);
    if (answer.status() !== 200) fail("details page answered " + answer.status());
    const summary = details.getByText("1 check behind API (edge)", { exact: true });
    await summary.focus();
    await details.keyboard.press("Enter");
    await details.getByText("API health probe").waitFor();
    await details.getByText(/timed out after 10 s/).waitFor();
    await noOverflow(details, "details at 375 px");
    await details.screenshot({ path: artifacts + "/status-details-phone.png", fullPage: true });
    await details.emulateMedia({ colorScheme: "dark" });
    await details.waitForTimeout(200);
    await noOverflow(details, "details in dark");
    await details.screenshot({ path: artifacts + "/status-details-dark.png", fullPage: true });
    const broken = await details.evaluate(() => window.__violations);
    if (broken.length) fail("the details page breaks its own CSP: " + broken.join(", "));
    await details.close();
  }

  const violations = await page.evaluate(() => window.__violations);
  if (violations.length) fail("the page breaks its own CSP: " + violations.join(", "));
  const cspErrors = consoleErrors.filter((text) => /Content Security Policy/i.test(text));
  if (cspErrors.length) fail("CSP errors in the console: " + cspErrors.join(" | "));
  return "status page checks passed";
} finally {
  if (context) await context.close();
}
}
