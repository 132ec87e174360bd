// The operator page in a real Chromium, gated on the chain's roles: the renter holds none and
// is told so; the oracle sees the pause state, the disputes (the open one first, the resolved
// one with its evidence CID) and the parameters, as the gateway read them from the chain; signed
// in, the oracle rules on the open dispute and the pauser pauses and unpauses, in the wallet; the
// timelock's proposer proposes a parameter change and sees it pending, counting down to its delay.
import { expect, test } from "@playwright/test";
import { expectLabelled, screenshots, signIn, watchConsole } from "./steps";
import { env, installWallet } from "./wallet";

interface View {
  disputes: { jobId: string; reason: string; outcome: string | null; evidenceCid: string | null }[];
  parameters: Record<string, string | number | boolean>;
}

const EVIDENCE = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
const view = JSON.parse(process.env.GPURENT_OPERATOR_VIEW ?? "{}") as View;

test("an address without an operator role is told so and sees nothing more", async ({ page }) => {
  const problems = watchConsole(page);
  await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto("/operator");
  await expect(page.getByText("Connect a wallet that holds an operator role.")).toBeVisible();
  await page.getByRole("button", { name: "Connect wallet" }).click();
  await expect(page.getByText("This address holds no operator role (admin, oracle, pauser or slasher) on gpurent's contracts, nor a role on its timelock.")).toBeVisible();
  await expect(page.locator("table.disputes")).toHaveCount(0);
  expect(problems).toEqual([]);
});

test("the oracle sees the pause state, the disputes with their evidence and the parameters", async ({ page }) => {
  const problems = watchConsole(page);
  await installWallet(page, { account: process.env.GPURENT_ORACLE ?? "", chainId: env().chainId });
  await page.goto("/");
  await page.getByRole("link", { name: "Operator" }).click();
  await page.getByRole("button", { name: "Connect wallet" }).click();
  await expect(page.getByText(/^Your roles: .*oracle/)).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "The marketplace is running (not paused)." })).toBeVisible();
  const rows = page.locator("table.disputes tbody tr");
  await expect(rows).toHaveCount(view.disputes.length);
  expect(await page.locator("table.disputes td[data-label=Outcome]").allTextContents())
    .toEqual(view.disputes.map((d) => d.outcome ?? "open"));
  expect(await page.locator("table.disputes td[data-label='Evidence CID']").allTextContents())
    .toEqual(view.disputes.map((d) => d.evidenceCid ?? "—"));
  await expect(page.getByText(view.disputes[0]?.reason ?? "?", { exact: true })).toBeVisible(); // markup stays text
  expect(await page.locator("table.disputes b").count()).toBe(0);
  const shown = Object.entries(view.parameters).filter(([key]) => key !== "paused");
  expect(await page.locator(".parameters dd").allTextContents()).toEqual(shown.map(([, value]) => String(value)));
  await expect(page.getByText("fee (bps)", { exact: true })).toBeVisible();
  await expectLabelled(page);
  expect(problems).toEqual([]);
});

test("signed in, the oracle sees how long the open dispute waited and rules on it with its evidence", async ({ page }) => {
  const problems = watchConsole(page);
  const oracle = process.env.GPURENT_ORACLE ?? "";
  const log = await installWallet(page, { account: oracle, chainId: env().chainId });
  await page.goto("/operator");
  await expect(page.getByText("Connect a wallet that holds an operator role.")).toBeVisible();
  await signIn(page, oracle);
  const open = view.disputes.find((d) => d.outcome === null);
  const row = page.locator("table.disputes tbody tr").filter({ hasText: open?.reason ?? "?" });
  await expect(row.locator("td[data-label=Deadline]")).toHaveText(/^waited .+ of 3 d$/);
  const job = `${open?.jobId.slice(0, 8)}…${open?.jobId.slice(-4)}`;
  const rule = page.getByRole("button", { name: "Rule" });
  await page.getByLabel(`Evidence CID for job ${job}`).fill("not a cid!");
  await expect(page.getByRole("alert").filter({ hasText: "A CID is 10 to 128 letters and digits" })).toBeVisible();
  await expect(rule).toBeDisabled();
  await page.getByLabel(`Evidence CID for job ${job}`).fill(EVIDENCE);
  await page.getByLabel(`Ruling on job ${job}`).selectOption("split");
  await expectLabelled(page);
  await screenshots(page, "operator");
  await rule.click();
  await expect(row.locator("td[data-label=Outcome]")).toHaveText("split", { timeout: 20_000 }); // once indexed
  await expect(row.locator("td[data-label='Evidence CID']")).toHaveText(EVIDENCE);
  await expect(page.getByRole("button", { name: "Rule" })).toHaveCount(0); // nothing open is left to rule on
  expect(log.filter((c) => c.method === "eth_sendTransaction")).toHaveLength(1);
  expect(problems).toEqual([]);
});

test("the pauser pauses both contracts and unpauses them, each in the wallet", async ({ page }) => {
  const problems = watchConsole(page);
  const pauser = process.env.GPURENT_PAUSER ?? "";
  const log = await installWallet(page, { account: pauser, chainId: env().chainId });
  await page.goto("/operator");
  await signIn(page, pauser);
  await expect(page.getByText(/^Your roles: .*pauser/)).toBeVisible();
  await page.getByRole("button", { name: "Pause the marketplace" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The marketplace is paused: no job can be created." })).toBeVisible({ timeout: 20_000 });
  expect(log.filter((c) => c.method === "eth_sendTransaction")).toHaveLength(2); // the marketplace and the registry
  await page.getByRole("button", { name: "Unpause the marketplace" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The marketplace is running (not paused)." })).toBeVisible({ timeout: 20_000 });
  expect(log.filter((c) => c.method === "eth_sendTransaction")).toHaveLength(4);
  expect(problems).toEqual([]);
});

test("the timelock's proposer proposes a fee change, refused out of bounds, and sees it pending with its countdown", async ({ page }) => {
  const problems = watchConsole(page);
  const proposer = process.env.GPURENT_PROPOSER ?? "";
  const log = await installWallet(page, { account: proposer, chainId: env().chainId });
  await page.goto("/operator");
  await signIn(page, proposer);
  await expect(page.getByText(/^Your roles: .*proposer/)).toBeVisible();
  await expect(page.getByText("No change is waiting on the timelock.")).toBeVisible();
  await expect(page.getByText("at least 1 h after it is scheduled", { exact: false })).toBeVisible();
  const fee = page.getByLabel("Fee in basis points (100 = 1%)");
  const propose = page.getByRole("button", { name: "Propose the change" });
  await fee.fill("5000");
  await propose.click();
  await expect(page.getByRole("alert").filter({ hasText: "fee 5000 bps is above the maximum of 1000 bps" })).toBeVisible();
  expect(log.filter((c) => c.method === "eth_sendTransaction")).toHaveLength(0); // refused before the wallet is asked
  await fee.fill("300");
  await expectLabelled(page);
  await propose.click();
  const row = page.locator("table.operations tbody tr").filter({ hasText: "platform fee 2% → 3%" });
  await expect(row).toHaveCount(1, { timeout: 20_000 });
  await expect(row.locator("td[data-label=Executable]")).toHaveText(/^executable in (59 min \d+ s|1 h) \(/);
  await expect(row.getByRole("button", { name: "Execute: platform fee 2% → 3%" })).toBeDisabled(); // the delay first
  await expect(row.getByRole("button", { name: "Cancel: platform fee 2% → 3%" })).toBeEnabled();
  expect(log.filter((c) => c.method === "eth_sendTransaction")).toHaveLength(1);
  expect(problems).toEqual(["Failed to load resource: the server responded with a status of 400 (Bad Request)"]); // the refusal, only
});
