// The dashboard's sign-in and overview (#/): a wrong key is refused in a
// sentence; an admin key sees counts by status, the open incident and every
// monitor, filters and searches them, and gets the "New monitor" action; a
// read key sees the same without it; the menu works at 375 px with no
// horizontal overflow; dark mode; keyboard; no console error, no CSP
// violation. Saves screenshots.
//
// args: <base-url> <admin-key> <read-key> <artifact-dir>
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
    if (message.type() === "error" && !/status of 401/.test(message.text())) problems.push(message.text());
  });
  context.on("weberror", (error) => problems.push(String(error.error())));
  return problems;
}

async function signIn(page, base, key) {
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export default async function (browser, [base, adminKey, readKey, artifacts]) {
  if (!base || !adminKey || !readKey || !artifacts) fail("usage: dashboard-overview <base-url> <admin-key> <read-key> <artifact-dir>");
  mkdirSync(artifacts, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const problems = await watch(context);
  try {
    const page = await context.newPage();

    // A wrong key: refused in words, still on the sign-in screen.
    await signIn(page, base, "not-a-key");
    await page.getByText("That key was not accepted. Check it and try again.").waitFor();

    // The admin key: the overview.
    await page.getByLabel("API key").fill(adminKey);
    await page.getByLabel("API key").press("Enter");
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    const counts = page.getByRole("list", { name: "Monitors by status" });
    const down = (await counts.locator("[data-count=down]").innerText()).replace(/\s+/g, " ").trim();
    if (down !== "1 Down") fail("down count reads " + JSON.stringify(down));
    const paused = (await counts.locator("[data-count=paused]").innerText()).replace(/\s+/g, " ").trim();
    if (paused !== "1 Paused") fail("paused count reads " + JSON.stringify(paused));
    // The open incident, with its monitor and error.
    const incidents = page.getByRole("table", { name: "Open monitor incidents" });
    await incidents.getByRole("link", { name: "Payments API" }).waitFor();
    await incidents.getByText("connection refused").waitFor();
    // Every monitor, worst first; status in words; the paused one says so.
    const monitors = page.getByRole("table", { name: "Monitors" });
    const names = await monitors.locator("tbody tr td:nth-child(2)").allInnerTexts();
    if (names.join("|") !== "Payments API|Search|Checkout|Old site") fail("monitor order: " + names.join("|"));
    await monitors.getByRole("row", { name: /Old site/ }).getByText("Paused").waitFor();
    // Uptime over 24 h from the checks the test stored.
    await monitors.getByRole("row", { name: /Checkout/ }).getByText("75 %").waitFor();
    await page.getByRole("img", { name: /Checkout: last hour, mean/ }).waitFor();
    // Filters and search.
    await page.getByLabel("Status", { exact: true }).selectOption("down");
    if ((await monitors.locator("tbody tr").count()) !== 1) fail("the status filter did not narrow the list");
    await page.getByLabel("Status", { exact: true }).selectOption("");
    await page.getByLabel("Search").fill("chec");
    await page.getByText("1 of 4 monitors").waitFor();
    await page.getByLabel("Search").fill("");
    await page.getByRole("link", { name: "New monitor" }).waitFor();
    await noOverflow(page, "overview at 1280 px");
    await page.screenshot({ path: artifacts + "/dashboard-overview-desktop.png", fullPage: true });

    // A refresh keeps the page and the scroll position.
    await page.evaluate(() => { document.querySelector("#main h1").dataset.kept = "yes"; window.scrollTo(0, 200); });
    const y = await page.evaluate(() => window.scrollY);
    await page.waitForTimeout(5600);
    if (!(await page.evaluate(() => document.querySelector("#main h1").dataset.kept))) fail("the refresh rebuilt the page");
    if ((await page.evaluate(() => window.scrollY)) !== y) fail("the refresh moved the scroll position");
    // ... and the keyboard focus: a focused link is focused again after it.
    await monitors.getByRole("link", { name: "Checkout" }).focus();
    await page.waitForTimeout(5600);
    const still = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
    if (still !== "Checkout") fail("the refresh lost the keyboard focus (now on " + JSON.stringify(still) + ")");

    // A phone: the menu opens by keyboard, nothing overflows.
    await page.setViewportSize({ width: 375, height: 812 });
    await page.waitForTimeout(200);
    await noOverflow(page, "overview at 375 px");
    await page.screenshot({ path: artifacts + "/dashboard-overview-phone.png", fullPage: true });
    const menu = page.getByRole("button", { name: "Menu" });
    await menu.focus();
    await page.keyboard.press("Enter");
    if ((await menu.getAttribute("aria-expanded")) !== "true") fail("the menu did not open");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workers" }).waitFor();
    await noOverflow(page, "menu open at 375 px");
    await page.screenshot({ path: artifacts + "/dashboard-menu-phone.png" });
    await page.keyboard.press("Enter");

    // Dark.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.evaluate(() => { location.hash = "#/"; });
    await page.waitForTimeout(300);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (background !== "rgb(13, 17, 23)") fail("dark mode not applied: body is " + background);
    await page.screenshot({ path: artifacts + "/dashboard-overview-dark.png", fullPage: true });

    // A crafted address cannot steer a view to another API path.
    await page.evaluate(() => { location.hash = "#/monitors/..%2Fapi-keys"; });
    await page.getByRole("heading", { level: 1, name: "Not found" }).waitFor();
    await page.evaluate(() => { location.hash = "#/"; });
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();

    // Signing out forgets the key.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to UpTime" }).waitFor();
    if (await page.evaluate(() => sessionStorage.length)) fail("the key stayed in sessionStorage");

    // A read key: everything, and no edit control.
    await signIn(page, base, readKey);
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await page.getByRole("table", { name: "Monitors" }).waitFor();
    if (await page.getByRole("link", { name: "New monitor" }).count()) fail("a read key is offered New monitor");

    const violations = await page.evaluate(() => window.__violations);
    if (violations.length) fail("CSP violations: " + violations.join(", "));
    if (problems.length) fail("console errors: " + problems.join(" | "));
    return "dashboard overview ok";
  } finally {
    await context.close();
  }
}
