// Renting in a real Chromium: the marketplace's Rent link, the permit and the transaction in the
// injected wallet, the job console (phase, cost meter, time left, extend, logs over the gateway's
// WebSocket, cancel / settle and the settlement), against the real gateway, index and Anvil.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { id as selector } from "ethers";
import { expectLabelled, signIn, watchConsole } from "./steps";
import { env, installWallet, sendAs, type WalletLog } from "./wallet";

const CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const gpuId = process.env.GPURENT_RENT_GPU ?? "";
const costlyGpuId = process.env.GPURENT_COSTLY_GPU ?? "";
const provider = process.env.GPURENT_PROVIDER ?? "";
const logMark = process.env.GPURENT_LOG_MARK ?? "";
const SIGNING = new Set(["personal_sign", "eth_signTypedData_v4", "eth_sendTransaction"]);
const shots = process.env.GPURENT_SCREENSHOT_DIR ?? "";

/** What the pytest side checks on chain afterwards. */
function record(key: string, value: unknown): void {
  const file = `${process.env.GPURENT_OUT ?? "."}/jobs.json`;
  const old = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  writeFileSync(file, JSON.stringify({ ...old, [key]: value }));
}

/** The log panel's status line (how its stream ended, or why it could not start): for a failure's message. */
async function logStatus(page: Page): Promise<string> {
  return `the log's status: ${JSON.stringify(await page.locator("#logs-title ~ .actions-row .status").textContent())}`;
}

function signing(log: WalletLog[]): string[] {
  return log.map((c) => c.method).filter((m) => SIGNING.has(m));
}

/** From the marketplace's Rent link to a created job's console; returns the job's id. */
async function rent(page: Page, hours: string, minutes: string, preview: string, most: string): Promise<string> {
  await page.locator(`a[href="/rent/${gpuId}"]`).click();
  await expect(page).toHaveURL(new RegExp(`/rent/${gpuId}$`));
  await expect(page.getByRole("heading", { name: "Rent RTX4090", level: 1 })).toBeVisible();
  await page.getByLabel("Image or job definition CID").fill(CID);
  await page.getByLabel("Hours").fill(hours);
  await page.getByLabel("Minutes").fill(minutes);
  await expect(page.getByTestId("cost-preview")).toHaveText(preview);
  await expect(page.getByTestId("max-charge")).toHaveText(most); // the gateway's permit
  await expectLabelled(page);
  await page.getByRole("button", { name: `Rent for at most ${most}` }).click();
  await expect(page).toHaveURL(/\/instances\/0x[0-9a-f]{64}$/, { timeout: 30_000 });
  return page.url().split("/").pop() ?? "";
}

test("a renter rents a GPU, follows its log over the WebSocket and cancels it with all of it back", async ({ page }) => {
  const problems = watchConsole(page);
  const log = await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto("/");
  await signIn(page);
  const jobId = await rent(page, "2", "30", "2.5 GPU for 2 h 30 min", "2.5 GPU");
  record("cancelled", jobId);
  // one permit (typed data), then one transaction, after the sign-in's message
  expect(signing(log)).toEqual(["personal_sign", "eth_signTypedData_v4", "eth_sendTransaction"]);
  const typed = JSON.parse(String((log.find((c) => c.method === "eth_signTypedData_v4")?.params as unknown[])[1])) as {
    primaryType: string;
    message: { value: string };
  };
  expect(typed.primaryType).toBe("Permit");
  expect(typed.message.value).toBe("2500000000000000000");

  await expect(page.getByTestId("job-status")).toHaveText("Created");
  await expect(page.locator(".timeline li[aria-current=step]")).toContainText("Queued");
  await expect(page.getByText("Not billed yet: the clock starts when the container runs.")).toBeVisible();
  await expect(page.getByTestId("max-cost")).toHaveText("2.5 GPU");
  await expect(page.getByTestId("time-left")).toHaveText("2 h 30 min of 2 h 30 min");

  await page.getByRole("button", { name: "Show the live log" }).click(); // the wallet signs the access
  try {
    await expect(page.getByLabel("Job log")).toContainText(logMark, { timeout: 20_000 });
  } catch (err) {
    throw new Error(`${String(err)}\n${await logStatus(page)}`);
  }
  await expect(page.getByLabel("Job log")).toContainText("<b>markup in a log stays text</b>");
  expect(await page.locator("pre.log b").count()).toBe(0);
  await expect(page.getByLabel("Job log")).not.toContainText("starting the job"); // the log is over 64 KiB:
  await expect(page.getByText(/^Older output not shown: [\d,]+ characters\.$/)).toBeVisible(); // its start went
  expect(((await page.getByLabel("Job log").textContent()) ?? "").length).toBeLessThanOrEqual(64 * 1024);
  await expect(page.getByText("The whole log so far was sent: the stream ended.")).toBeVisible();
  expect(signing(log).at(-1)).toBe("personal_sign");

  await page.getByRole("button", { name: "Cancel the job" }).click();
  await expect(page.getByTestId("job-status")).toHaveText("Cancelled", { timeout: 20_000 });
  await expect(page.getByTestId("refund")).toHaveText("2.5 GPU");
  await expect(page.getByTestId("paid-provider")).toHaveText("0 GPU");
  await expect(page.getByTestId("paid-fee")).toHaveText("0 GPU");
  await expect(page.getByRole("button", { name: "Cancel the job" })).toHaveCount(0);

  await page.getByRole("link", { name: "My jobs" }).click(); // the list, and back to the console
  await page.getByRole("link", { name: `Job ${jobId}` }).click();
  await expect(page.getByTestId("final-cost")).toHaveText("0 GPU");
  expect(problems).toEqual([]);
});

test("a running job's meter ticks, warns before its time runs out, extends and settles 98 / 2", async ({ page }) => {
  const problems = watchConsole(page);
  await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto("/");
  await signIn(page);
  const jobId = await rent(page, "0", "5", "0.0833 GPU for 5 min", "0.0833 GPU");
  record("settled", jobId);
  await expect(page.getByTestId("job-status")).toHaveText("Created");

  const { marketplace } = (await (await page.request.get("/api/v1/chain")).json()) as { marketplace: string };
  await sendAs(provider, marketplace, selector("acceptAndStartJob(bytes32)").slice(0, 10) + jobId.slice(2));
  await expect(page.getByTestId("job-status")).toHaveText("Running");
  await expect(page.locator(".timeline li[aria-current=step]")).toContainText("Running");
  const warning = page.getByRole("alert").filter({ hasText: "Booked time runs out in" });
  await expect(warning).toBeVisible(); // 5 minutes booked: under 10 minutes left
  const costs: number[] = [];
  for (let i = 0; i < 2; i += 1) {
    await page.waitForTimeout(2100);
    costs.push(Number((await page.getByTestId("cost-so-far").textContent())?.replace(/[^\d.]/g, "")));
  }
  expect(costs[1]).toBeGreaterThan(costs[0] ?? 0); // second by second

  await page.getByLabel("Extra time (minutes)").fill("30");
  await page.getByRole("button", { name: "Extend" }).click();
  await expect(page.getByTestId("time-left")).toContainText("of 35 min", { timeout: 20_000 });
  await expect(page.getByTestId("max-cost")).toHaveText("0.5833 GPU");
  await expect(warning).toHaveCount(0);
  await expectLabelled(page);
  if (shots) {
    for (const [width, height] of [[1280, 900], [390, 844]] as const) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: `${shots}/web-console-${width}.png`, fullPage: width > 1000 });
    }
    await page.setViewportSize({ width: 1280, height: 720 });
  }

  await page.getByRole("button", { name: "Stop and settle" }).click();
  await expect(page.getByTestId("job-status")).toHaveText("Completed", { timeout: 20_000 });
  const tokens = async (testId: string) => Number((await page.getByTestId(testId).textContent())?.replace(/[^\d.]/g, ""));
  const [paid, fee, refund, cost] = [await tokens("paid-provider"), await tokens("paid-fee"), await tokens("refund"), await tokens("final-cost")];
  expect(cost).toBeGreaterThan(0);
  expect(Math.abs(paid + fee - cost)).toBeLessThan(0.0003); // shown to 4 places, rounded down
  expect(Math.abs(fee - cost * 0.02)).toBeLessThan(0.0002);
  expect(Math.abs(refund + cost - 0.5833)).toBeLessThan(0.0003);
  expect(problems).toEqual([]);
});

test("by keyboard: a declined permit and a balance too small are said in plain words, and nothing is rented", async ({ page }) => {
  const log = await installWallet(page, { account: env().renter, chainId: env().chainId, reject: ["eth_signTypedData_v4"] });
  await page.goto("/");
  await signIn(page);
  await page.locator(`a[href="/rent/${costlyGpuId}"]`).focus(); // the keyboard alone, here
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Rent H100", level: 1 })).toBeVisible();
  await page.getByLabel("Image or job definition CID").fill(CID);
  await page.getByLabel("Hours").fill("2000"); // 16,000 GPU at 8 an hour: more than the renter holds
  await expect(page.getByRole("alert").filter({ hasText: /balance/ })).toHaveText(
    /^cannot create a job: balance [\d,.]+ GPU, needed 16000 GPU$/, // the gateway's line, before any signature
  );
  await expect(page.getByRole("button", { name: "Rent", exact: true })).toBeDisabled();

  await page.getByLabel("Hours").fill("1");
  await expect(page.getByTestId("max-charge")).toHaveText("8 GPU");
  await expect(page.getByRole("button", { name: "Rent for at most 8 GPU" })).toBeEnabled();
  await page.getByLabel("Hours").press("Enter"); // submits the booking
  await expect(page.getByRole("alert").filter({ hasText: "declined" })).toHaveText(
    "You declined the permit in your wallet, so nothing was rented.",
  );
  await expect(page).toHaveURL(new RegExp(`/rent/${costlyGpuId}$`));
  expect(signing(log)).not.toContain("eth_sendTransaction");

  await page.getByLabel("Hours").fill("");
  await page.getByLabel("Minutes").fill("0");
  await expect(page.getByRole("alert").filter({ hasText: "at least one minute" })).toBeVisible();
});
