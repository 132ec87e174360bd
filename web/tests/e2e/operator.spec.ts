// The operator page in a real Chromium, gated on the chain's roles: the renter holds none and
// is told so; the oracle sees the pause state, the disputes (the open one first, the resolved
// one with its evidence CID) and the parameters, as the gateway read them from the chain.
import { expect, test } from "@playwright/test";
import { expectLabelled, watchConsole } from "./steps";
import { env, installWallet } from "./wallet";

interface View {
  disputes: { jobId: string; reason: string; outcome: string | null; evidenceCid: string | null }[];
  parameters: Record<string, string | number | boolean>;
}

const view = JSON.parse(process.env.GPURENT_OPERATOR_VIEW ?? "{}") as View;

test("an address without an operator role is told so and sees nothing more", async ({ page }) => {
  const problems = watchConsole(page);
  await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto("/operator");
  await expect(page.getByText("Connect a wallet that holds an operator role.")).toBeVisible();
  await page.getByRole("button", { name: "Connect wallet" }).click();
  await expect(page.getByText("This address holds no operator role (admin, oracle, pauser or slasher) on gpurent's contracts.")).toBeVisible();
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
