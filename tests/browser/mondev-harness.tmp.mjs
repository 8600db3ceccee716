// Temporary (not committed): runs a scenario with the view's JS/CSS served from disk.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
const [scenarioName, ...args] = process.argv.slice(2);
const root = "/work/main/api/assets/dashboard/";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const wrapped = {
  async newContext(options) {
    const context = await browser.newContext(options);
    await context.route(/\/assets\/(view-monitor|dashboard)\.[0-9a-f]+\.(js|css)$/, (route) => {
      const url = route.request().url();
      const file = url.includes("view-monitor") ? "view-monitor.js" : "dashboard.css";
      route.fulfill({ body: readFileSync(root + file, "utf8"), contentType: file.endsWith(".js") ? "text/javascript" : "text/css" });
    });
    return context;
  },
};
const started = Date.now();
try {
  const module = await import(`./scenarios/${scenarioName}.mjs`);
  console.log("OK", await module.default(wrapped, args), (Date.now() - started) / 1000, "s");
} catch (error) {
  console.log("FAILED after", (Date.now() - started) / 1000, "s:", error.stack || error);
} finally {
  await browser.close();
}
