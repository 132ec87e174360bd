import { defineConfig } from "@playwright/test";

// Debian's Chromium (tools/install-chromium.sh), never a browser Playwright downloads. The
// suite (tests/web/test_web.py) starts the stack and passes its URLs in GPURENT_* variables.
export default defineConfig({
  testDir: "tests/e2e",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  retries: 0,
  forbidOnly: true,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: process.env.GPURENT_WEB_URL,
    browserName: "chromium",
    headless: true,
    launchOptions: {
      executablePath: process.env.GPURENT_CHROMIUM ?? "/usr/bin/chromium",
      // the closed network refuses the browser's own background connections: none are made
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "off",
    screenshot: "off",
  },
});
