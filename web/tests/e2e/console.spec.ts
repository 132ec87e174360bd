// The marketplace's provider records and the job console's newer parts in a real Chromium:
// each provider's record and time to start from its jobs' chain events, availability "any";
// a running job's live metrics over the gateway's WebSocket and its dispute through the wallet
// (the bond's approval, then the dispute, on chain); a completed job's committed result, its
// CID and size shown and its payload downloaded as committed.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { signIn, watchConsole } from "./steps";
import { env, installWallet } from "./wallet";

const provider = (process.env.GPURENT_PROVIDER ?? "").toLowerCase();
const running = process.env.GPURENT_RUNNING_JOB ?? "";
const done = process.env.GPURENT_DONE_JOB ?? "";
const REASON = "<b>no output</b> after ten minutes";

test("the marketplace shows each provider's record and time to start, and any availability", async ({ page }) => {
  const problems = watchConsole(page);
  await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto("/");
  const row = page.locator("table.gpus tbody tr").filter({ has: page.locator("th", { hasText: /^A100$/ }) })
    .filter({ has: page.locator(`td[title="${provider}"]`) });
  await expect(row).toHaveCount(1);
  // provider_record: two completed, one abandoned, one dispute lost; starts after 60, 120, 300 and 600 s
  await expect(row.getByTestId("record")).toHaveText("2 completed · 1 abandoned · 1 dispute, 1 lost");
  await expect(row.getByTestId("start-estimate")).toHaveText("~3 min 30 s (median of 4 jobs)");
  const h100 = page.locator("table.gpus tbody th", { hasText: /^H100$/ });
  await expect(h100).toHaveCount(0); // unavailable: not among those available now
  await page.getByLabel("Availability").selectOption("any");
  await expect(h100).toHaveCount(1);
  await expect(page).toHaveURL(/available=any/);
  expect(problems).toEqual([]);
});

test("a running job's live metrics, its dispute through the wallet, and a completed job's result", async ({ page }) => {
  const problems = watchConsole(page);
  await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto(`/instances/${running}`);
  await signIn(page);
  await expect(page.getByTestId("job-status")).toHaveText("Running");

  await page.getByRole("button", { name: "Show live metrics" }).click(); // the wallet signs the access
  await expect(page.getByTestId("gpu-util")).toHaveText("87.5 %");
  await expect(page.getByTestId("gpu-mem")).toHaveText("20.0 GiB of 80.0 GiB");
  await expect(page.getByTestId("gpu-temp")).toHaveText("64 °C");
  await expect(page.getByTestId("gpu-power")).toHaveText("310 W");
  await expect(page.getByTestId("cpu")).toHaveText("150 % of a core");
  await expect(page.getByTestId("mem")).toHaveText("512.0 MiB of 2.0 GiB");
  await expect(page.getByTestId("net")).toHaveText("2.0 KiB/s in · 1.0 KiB/s out");
  await expect(page.getByText("The job is past running: the metrics stream ended.")).toBeVisible();

  await page.getByLabel("Why you dispute it (for the oracle)").fill(REASON);
  await page.getByRole("button", { name: "Dispute" }).click();
  await expect(page.getByTestId("job-status")).toHaveText("Disputed", { timeout: 30_000 });
  await expect(page.getByRole("button", { name: "Dispute" })).toHaveCount(0);
  writeFileSync(`${process.env.GPURENT_OUT ?? "."}/reason.txt`, REASON);

  await page.getByRole("link", { name: "All your jobs" }).click();
  await page.locator(`a[href="/instances/${done}"]`).first().click();
  await expect(page.getByTestId("job-status")).toHaveText("Completed");
  await expect(page.getByTestId("result-cid")).toHaveText(process.env.GPURENT_RESULT_CID ?? "?");
  const bytes = Number(process.env.GPURENT_RESULT_BYTES);
  await expect(page.getByTestId("result-size")).toContainText(`(${bytes.toLocaleString("en-US")} bytes)`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download the files (tar)" }).click()]);
  const saved = readFileSync(await download.path());
  expect(saved.length).toBe(bytes);
  expect(createHash("sha256").update(saved).digest("hex")).toBe(process.env.GPURENT_PAYLOAD_SHA256);
  expect(problems).toEqual([]);
});
