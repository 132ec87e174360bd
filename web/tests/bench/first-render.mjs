// The marketplace's first render in headless Chromium (Debian's), for bench/web.py: each run a
// fresh browser context (cold cache) loads URL and waits for the app's performance mark that
// the first page of rows is in the DOM. Prints one JSON line: the mark's time of each run (ms
// since navigation start), the scripts and styles the first page loaded and their bytes as
// sent (the gateway gzips them).
// Usage: node first-render.mjs URL RUNS
import { chromium } from "playwright-core";

const [url, runsArg = "5"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node first-render.mjs URL [RUNS]");
  process.exit(2);
}
const MARK = "gpurent:marketplace-first-rows";
const browser = await chromium.launch({
  executablePath: process.env.GPURENT_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const runs = [];
let assets = [];
let rows = 0;
let transferred = 0;
try {
  for (let i = 0; i <= Number(runsArg); i += 1) { // run 0 warms the server and the OS caches, not counted
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const loaded = [];
    const sizes = [];
    page.on("response", (r) => {
      const type = r.request().resourceType();
      if (type === "script" || type === "stylesheet") {
        loaded.push(new URL(r.url()).pathname);
        sizes.push(r.request().sizes().then((s) => s.responseBodySize)); // as sent: gzipped by the gateway
      }
    });
    await page.goto(url);
    const at = await page.waitForFunction((mark) => performance.getEntriesByName(mark)[0]?.startTime, MARK,
      { timeout: 30_000 });
    const ms = await at.jsonValue();
    rows = await page.locator("table.gpus tbody tr").count();
    if (i > 0) runs.push(ms);
    assets = loaded;
    transferred = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ runs, assets, rows, transferred }));
