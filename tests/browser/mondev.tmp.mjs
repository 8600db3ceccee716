// Temporary dev driver (not committed): serves the view's JS/CSS from disk.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
const [base, key, id, out] = process.argv.slice(2);
const root = "/work/main/api/assets/dashboard/";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
async function run(name, viewport, scheme, hook) {
  const context = await browser.newContext({ viewport, colorScheme: scheme });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") errors.push(m.type() + ": " + m.text()); });
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  await page.route(/\/assets\/(view-monitor|dashboard)\.[0-9a-f]+\.(js|css)$/, (route) => {
    const url = route.request().url();
    const file = url.includes("view-monitor") ? "view-monitor.js" : "dashboard.css";
    route.fulfill({ body: readFileSync(root + file, "utf8"), contentType: file.endsWith(".js") ? "text/javascript" : "text/css" });
  });
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("#app:not([hidden])");
  await page.evaluate((id) => { location.hash = "#/monitors/" + id; }, id);
  await page.getByRole("heading", { name: "Latency" }).waitFor();
  await page.waitForTimeout(800);
  if (hook) await hook(page);
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - innerWidth);
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  await page.screenshot({ path: `${out}/${name}-top.png`, fullPage: true, clip: { x: 0, y: 0, width: viewport.width, height: Math.min(1300, viewport.width * 3) } });
  console.log(name, "overflow", overflow, "errors", JSON.stringify(errors));
  await context.close();
}
const only = process.env.ONLY;
if (!only) {
await run("desktop", { width: 1280, height: 900 }, "light");
await run("phone", { width: 375, height: 812 }, "light");
await run("dark", { width: 1280, height: 900 }, "dark");
}
if (only === "periods") {
  for (const p of ["1 h", "7 d", "90 d"]) {
    await run("period-" + p.replace(" ", ""), { width: 1280, height: 900 }, "light", async (page) => {
      await page.getByRole("button", { name: p, exact: true }).click();
      await page.waitForTimeout(700);
      const box = await page.getByRole("img", { name: /Latency chart/ }).boundingBox();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      await page.waitForTimeout(200);
      console.log(p, await page.locator(".chart-readout").textContent(), "|", await page.locator(".chart-summary").textContent(),
        "|", await page.getByRole("img", { name: /Latency chart/ }).getAttribute("aria-label"));
      await page.getByRole("list", { name: /Uptime per day/ }).getByRole("listitem").last().focus();
      await page.keyboard.press("ArrowLeft");
      await page.keyboard.press("ArrowUp");
      console.log("focused:", await page.evaluate(() => document.activeElement.textContent), "| readout:", await page.locator(".calendar-readout").textContent());
    });
  }
}
await browser.close();
