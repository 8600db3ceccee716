// One Chromium (Debian's, through playwright-core; no browser download) for
// a whole test binary. Reads one JSON request per line on stdin,
//   {"id": 1, "scenario": "status", "args": ["http://...", ...]}
// runs the default export of scenarios/<scenario>.mjs as
//   await scenario(browser, args)        // returns a line of text
// (each scenario opens and closes its own browser contexts), and answers
// one JSON line on stdout: {"id": 1, "ok": true, "output": "..."} or
// {"id": 1, "ok": false, "error": "..."}. A scenario that takes longer than
// SCENARIO_TIMEOUT_MS fails. Exits, closing the browser, when stdin closes
// (the test binary ended).
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const SCENARIO_TIMEOUT_MS = 180000;
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });

function answer(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    answer({ id: null, ok: false, error: "not JSON: " + line });
    continue;
  }
  const { id, scenario, args } = request;
  if (!/^[a-z0-9-]+$/.test(String(scenario))) {
    answer({ id, ok: false, error: "bad scenario name " + JSON.stringify(scenario) });
    continue;
  }
  let timer;
  try {
    const module = await import(`./scenarios/${scenario}.mjs`);
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`scenario ${scenario} took over ${SCENARIO_TIMEOUT_MS / 1000} s`)), SCENARIO_TIMEOUT_MS);
    });
    const output = await Promise.race([module.default(browser, args || []), timeout]);
    answer({ id, ok: true, output: String(output ?? "") });
  } catch (error) {
    answer({ id, ok: false, error: String(error && error.stack ? error.stack : error) });
  } finally {
    clearTimeout(timer);
  }
}
await browser.close();
