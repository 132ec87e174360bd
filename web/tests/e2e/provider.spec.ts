// The provider dashboard in a real Chromium: the connected wallet is busy_chain's provider
// (jobs settled on two days, reports, a penalty); the page shows what the gateway's
// GET /api/v1/providers/{address} says (checked against the chain by the pytest side); signed
// in, it switches its GPU off and withdraws its earnings, each in the wallet, and the page shows
// the new state once the index and the chain have it.
import { expect, test } from "@playwright/test";
import { expectLabelled, signIn, watchConsole } from "./steps";
import { env, installWallet } from "./wallet";

interface Board {
  stake: string;
  chain: { withdrawable: string };
  score: number;
  gpus: { gpuModel: string; available: boolean; retired: boolean }[];
  jobs: { total: number; ended: number };
  earningsByDay: { day: string; earned: string }[];
  reputationHistory: { block: number; kind: string; detail: { score?: number } }[];
}

const board = JSON.parse(process.env.GPURENT_BOARD ?? "{}") as Board;
const provider = process.env.GPURENT_PROVIDER ?? "";

test("a provider sees its GPUs, stake, jobs run, earnings by day and reputation over time", async ({ page }) => {
  const problems = watchConsole(page);
  await installWallet(page, { account: provider, chainId: env().chainId });
  await page.goto("/");
  await page.getByRole("link", { name: "Provider" }).click();
  await expect(page).toHaveURL(/\/provider$/);
  await expect(page.getByText("Connect your wallet to see it as a provider.")).toBeVisible();
  await page.getByRole("button", { name: "Connect wallet" }).click();

  const facts = page.locator(".provider-summary dd");
  await expect(facts.first()).toHaveText(`${board.stake} GPU`);
  await expect(facts.nth(1)).toHaveText(`${board.score} / 1000`);
  await expect(facts.nth(6)).toHaveText(`${board.jobs.ended} ended of ${board.jobs.total}`);
  const gpus = page.locator("table.provider-gpus tbody tr");
  await expect(gpus).toHaveCount(board.gpus.length);
  expect(await page.locator("table.provider-gpus tbody td[data-label=Availability]").allTextContents())
    .toEqual(board.gpus.map((g) => (g.retired ? "Retired" : g.available ? "Available" : "Not available")));

  // the earnings chart: an image named for screen readers, a bar a day, its data as a table
  const earnings = page.getByRole("img", { name: "Earnings by day (GPU, after the platform fee)" });
  await expect(earnings).toBeVisible();
  await expect(earnings.locator("rect")).toHaveCount(board.earningsByDay.length);
  const summary = page.getByText("Earnings by day (GPU, after the platform fee): the data as a table");
  await summary.focus();
  await page.keyboard.press("Enter"); // opened from the keyboard
  const table = page.locator("figure.chart").first().locator("details table tbody tr");
  await expect(table).toHaveCount(board.earningsByDay.length);
  await expect(table.first()).toBeVisible(); // the details are open
  expect(await table.allTextContents()).toEqual(board.earningsByDay.map((d) => `${d.day}${d.earned}`));

  // reputation over time: a point a score change, score / uptime / response
  const scores = board.reputationHistory.filter((h) => h.kind === "score");
  const reputation = page.getByRole("img", { name: "Reputation score, uptime and response over blocks (percent)" });
  await expect(reputation.locator("polyline")).toHaveCount(3);
  await expect(reputation.locator("circle")).toHaveCount(3 * scores.length);
  const rows = page.locator("figure.chart").nth(1).locator("details table tbody tr th");
  expect(await rows.allTextContents()).toEqual(scores.map((s) => String(s.block)));
  await expectLabelled(page);
  const shots = process.env.GPURENT_SCREENSHOT_DIR ?? "";
  if (shots) {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: `${shots}/web-provider-1280.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${shots}/web-provider-390.png`, fullPage: false });
  }
  expect(problems).toEqual([]);
});

test("signed in, the provider switches its GPU off and withdraws its earnings in the wallet", async ({ page }) => {
  const problems = watchConsole(page);
  const log = await installWallet(page, { account: provider, chainId: env().chainId });
  await page.goto("/provider");
  await signIn(page, provider);
  const withdrawable = page.getByTestId("withdrawable");
  await expect(withdrawable).toContainText(`Withdrawable now: ${board.chain.withdrawable} GPU`);
  const active = board.gpus.filter((g) => !g.retired);
  await expect(page.getByRole("switch")).toHaveCount(active.length); // none for the retired GPU
  const row = page.locator("table.provider-gpus tbody tr").filter({ hasText: active[0]?.gpuModel ?? "?" });
  const toggle = row.getByRole("switch");
  await expect(toggle).toBeChecked();
  await expect(row.locator("td[data-label=Availability]")).toHaveText("Available");
  await page.getByLabel(/^Price per hour \(GPU\) for /).fill("0");
  await expect(row.getByRole("alert")).toHaveText("The price must be above 0.");
  await expect(row.getByRole("button", { name: "Set the price" })).toBeDisabled();
  await expectLabelled(page);

  await toggle.click();
  await expect(row.locator("td[data-label=Availability]")).toHaveText("Not available", { timeout: 20_000 }); // once indexed
  await expect(toggle).not.toBeChecked();
  await page.getByRole("button", { name: "Withdraw the earnings" }).click();
  await expect(withdrawable).toHaveText("Withdrawable now: 0 GPU", { timeout: 20_000 });
  await expect(page.getByRole("button", { name: "Withdraw the earnings" })).toBeDisabled();
  expect(log.filter((c) => c.method === "eth_sendTransaction")).toHaveLength(2);
  expect(problems).toEqual([]);
});
