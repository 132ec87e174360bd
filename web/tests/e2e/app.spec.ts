// The web app in a real Chromium against a real gateway, index and Anvil (started by
// tests/web/test_web.py), with the injected test wallet of wallet.ts.
import { readFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { expectLabelled, screenshots, signIn, watchConsole } from "./steps";
import { env, installWallet } from "./wallet";

interface Seeded {
  model: string;
  price: string;
  uptimeBps: number | null; // null: not measured yet (filters count it 50%)
  responseBps: number | null;
}

const seeded: Seeded[] = JSON.parse(process.env.GPURENT_EXPECT_GPUS ?? "[]") as Seeded[];
// the renter's settled jobs as the chain paid them (gp.settlement): [base units, tokens] a party
type Paid = Record<"provider" | "fee" | "refund", [string, string]>;
const settlements = JSON.parse(process.env.GPURENT_SETTLEMENTS ?? "{}") as Record<string, Paid>;
const hostile = process.env.GPURENT_HOSTILE_MODEL ?? "";
const shots = process.env.GPURENT_SCREENSHOT_DIR ?? "";

async function modelsShown(page: Page): Promise<string[]> {
  return page.locator("table.gpus tbody th[scope=row]").allTextContents();
}

test("the marketplace lists the indexed GPUs, filters narrow them, strings stay text", async ({ page }) => {
  expect(seeded.length, "the suite passes the seeded GPUs").toBeGreaterThan(3);
  const problems = watchConsole(page);
  await installWallet(page, { account: env().renter, chainId: env().chainId });
  const answer = await page.goto("/");
  const csp = answer?.headers()["content-security-policy"] ?? "";
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain("unsafe-inline");

  await expect(page.locator("table.gpus tbody tr")).toHaveCount(seeded.length);
  expect(await modelsShown(page)).toEqual(seeded.map((g) => g.model)); // price, lowest first
  await expect(page.getByText(hostile, { exact: true })).toBeVisible(); // its markup shown as text…
  expect(await page.locator("table.gpus img, table.gpus b, table.gpus script").count()).toBe(0); // …never parsed

  await expectLabelled(page); // every control has a label (its accessible name)

  await page.getByLabel("Model").fill("rtx"); // any case, part of the name
  const rtx = seeded.filter((g) => g.model.toLowerCase().includes("rtx"));
  expect(rtx.length, "two RTX GPUs seeded").toBeGreaterThan(1);
  await expect(page.locator("table.gpus tbody tr")).toHaveCount(rtx.length);
  expect(await modelsShown(page)).toEqual(rtx.map((g) => g.model));
  await expect(page).toHaveURL(/\?model=rtx/);

  const cheapest = Number(rtx[0]?.price);
  await page.getByLabel("Maximum price (GPU/hour)").fill(String(cheapest));
  const affordable = rtx.filter((g) => Number(g.price) <= cheapest);
  expect(affordable.length).toBeLessThan(rtx.length);
  await expect(page.locator("table.gpus tbody tr")).toHaveCount(affordable.length);

  // the reputation's components: the measured provider's GPUs above 50% uptime, the new one's not
  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(page.locator("table.gpus tbody tr")).toHaveCount(seeded.length);
  const measured = seeded.filter((g) => (g.uptimeBps ?? 5000) >= 5001);
  expect(measured.length, "one provider measured above 50%, one not measured").toBeGreaterThan(0);
  expect(measured.length).toBeLessThan(seeded.length);
  await page.getByLabel("Minimum uptime (%)").fill("50.01");
  await expect(page.locator("table.gpus tbody tr")).toHaveCount(measured.length);
  expect(await modelsShown(page)).toEqual(measured.map((g) => g.model));
  await expect(page).toHaveURL(/minUptime=50\.01/);
  const first = measured[0] as Seeded;
  const pct = (bps: number | null) => `${Number(((bps ?? 0) / 100).toFixed(2))}%`;
  await expect(page.locator("table.gpus tbody td[data-label=Reputation]").first())
    .toContainText(`uptime ${pct(first.uptimeBps)} · response ${pct(first.responseBps)}`);
  await page.getByLabel("Minimum response (%)").fill((((first.responseBps ?? 0) + 1) / 100).toFixed(2)); // just above it
  await expect(page.getByText("No GPU matches these filters.")).toBeVisible();
  await page.getByLabel("Minimum response (%)").fill("100.5"); // said, and not sent
  await expect(page.getByText("Minimum response is at most 100.")).toBeVisible();

  // the keyboard alone: the sort select reached with Tab, changed with the arrow keys
  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(page.locator("table.gpus tbody tr")).toHaveCount(seeded.length);
  await page.getByLabel("Availability").focus();
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Sort by")).toBeFocused();
  await page.keyboard.press("ArrowDown"); // price, highest first
  await expect(page.getByLabel("Sort by")).toHaveValue("price_desc");
  await expect.poll(() => modelsShown(page)).toEqual([...seeded].reverse().map((g) => g.model));

  await page.getByLabel("Sort by").selectOption("price_asc");
  await expect.poll(() => modelsShown(page)).toEqual(seeded.map((g) => g.model));
  if (shots) {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: `${shots}/web-marketplace-1280.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${shots}/web-marketplace-390.png`, fullPage: false });
  }
  expect(problems).toEqual([]);
});

test("naming an image shows at each provider whether it is cached there, and the rent form keeps it", async ({ page }) => {
  const cached = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"; // the second provider's agent holds it
  const holder = (process.env.GPURENT_PROVIDER ?? "").toLowerCase();
  const gpuId = process.env.GPURENT_RENT_GPU ?? "";
  const problems = watchConsole(page);
  await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto("/");
  const rows = page.locator("table.gpus tbody tr");
  await expect(rows).toHaveCount(seeded.length);

  await page.getByLabel("Image you will run (CID)").fill("not a cid");
  await expect(page.getByText("Image: A CID is 10 to 128 letters and digits (like bafy…).")).toBeVisible();
  await expect(rows).toHaveCount(seeded.length); // a half-typed CID hides no GPU
  await page.getByLabel("Image you will run (CID)").fill(cached);
  await expect(page).toHaveURL(new RegExp(`image=${cached}`));
  const theirs = rows.filter({ has: page.locator(`td[title="${holder}"]`) });
  const others = rows.filter({ hasNot: page.locator(`td[title="${holder}"]`) });
  expect(await theirs.count(), "the second provider's four GPUs").toBe(4);
  for (const row of await theirs.all()) {
    await expect(row.getByTestId("image-here")).toHaveText("image already cached here: starts without a download");
  }
  for (const row of await others.all()) { // the first provider's endpoint is no agent: it says nothing
    await expect(row.getByTestId("image-here")).toHaveText(/not known|not here yet/);
  }
  await screenshots(page, "marketplace-image");

  await page.locator(`a[href="/rent/${gpuId}?image=${cached}"]`).click();
  await expect(page.getByRole("heading", { name: "Rent RTX4090", level: 1 })).toBeVisible();
  await expect(page.getByLabel("Image or job definition CID")).toHaveValue(cached);
  await expect(page.getByTestId("image-here")).toHaveText("At this provider: image already cached here: starts without a download.");
  await page.getByLabel("Image or job definition CID").fill("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy");
  await expect(page.getByTestId("image-here")).toHaveText("At this provider: image not here yet: downloaded first.");
  expect(problems).toEqual([]);
});

test("a renter connects, signs in with the wallet and sees balances and history", async ({ page }) => {
  const problems = watchConsole(page);
  const log = await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto("/");
  await signIn(page);
  expect(log.map((c) => c.method)).toContain("personal_sign"); // signed by Anvil's account

  await page.getByRole("link", { name: "Wallet" }).click();
  await expect(page).toHaveURL(/\/wallet$/);
  await expect(page.getByRole("heading", { name: "Wallet", level: 1 })).toBeVisible();
  await expect(page.locator(".balances dd").first()).toHaveText(/^[\d,]+(\.\d+)? GPU$/);
  await expect(page.locator(".balances dd").nth(2)).toHaveText(/^[\d,]+(\.\d+)? ETH$/);
  await expect(page.locator("table.history tbody tr").first()).toBeVisible();
  expect(await page.locator("table.history tbody td[data-label='You were']").allTextContents()).toContain("renter");

  // a settled row's receipt: the split shown is the chain's to the base unit; printed without the
  // page's header and buttons; saved as the same JSON
  await page.getByRole("link", { name: /^Receipt of job 0x/ }).first().click();
  await expect(page).toHaveURL(/\/wallet\/receipts\/0x[0-9a-f]{64}$/);
  const jobId = new URL(page.url()).pathname.split("/").pop() ?? "";
  const paid = settlements[jobId];
  expect(paid, `the chain's settlement of ${jobId}`).toBeTruthy();
  await expect(page.getByRole("heading", { name: "Receipt", level: 1 })).toBeVisible();
  for (const part of ["provider", "fee", "refund"] as const) {
    const [units, tokens] = paid?.[part] ?? ["", ""];
    await expect(page.getByTestId(`receipt-${part}`)).toHaveText(`${tokens} GPU`);
    await expect(page.getByTestId(`receipt-${part}`)).toHaveAttribute("title", `${units} base units`);
  }
  await expect(page.getByText("The total is what was locked in escrow, to the base unit.")).toBeVisible();
  await page.emulateMedia({ media: "print" });
  await expect(page.locator("header.top")).toBeHidden();
  await expect(page.getByRole("button", { name: "Download (JSON)" })).toBeHidden();
  await expect(page.getByTestId("receipt-provider")).toBeVisible();
  await page.emulateMedia({ media: "screen" });
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download (JSON)" }).click()]);
  const saved = JSON.parse(readFileSync(await download.path(), "utf8")) as { jobId: string; split: Record<string, string> };
  expect(saved.jobId).toBe(jobId);
  expect(saved.split).toEqual({ provider: paid?.provider[0], fee: paid?.fee[0], refund: paid?.refund[0] });
  await page.getByRole("link", { name: "← Wallet" }).click();
  await expect(page.getByRole("heading", { name: "Wallet", level: 1 })).toBeVisible();

  await page.reload(); // the token lives in memory only: a reload signs out
  await expect(page.getByText("Connect your wallet, then sign in, to see your balances and history.")).toBeVisible();
  expect(problems).toEqual([]);
});

test("a wallet on another network is told so in plain words and switched with one click", async ({ page }) => {
  const log = await installWallet(page, { account: env().renter, chainId: 1 });
  await page.goto("/");
  await page.getByRole("button", { name: "Connect wallet" }).click();
  const notice = page.getByRole("alert").filter({ hasText: "Wrong network" });
  await expect(notice).toContainText(`your wallet is on chain 1 (Ethereum Mainnet), but gpurent runs on chain ${env().chainId}`);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeDisabled();

  await notice.getByRole("button", { name: /Switch to/ }).click();
  await expect(notice).toHaveCount(0);
  const added = log.find((c) => c.method === "wallet_addEthereumChain");
  expect(added, "the wallet did not know the chain: the app adds it").toBeTruthy();
  expect(JSON.stringify(added?.params)).toContain(env().rpcUrl);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Signed in", { exact: true })).toBeVisible();
});

test("a rejected signature says so and leaves the renter signed out", async ({ page }) => {
  await installWallet(page, { account: env().renter, chainId: env().chainId, rejectSignatures: true });
  await page.goto("/wallet"); // a page of the app, straight from its URL
  await page.getByRole("button", { name: "Connect wallet" }).click();
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("You declined to sign the sign-in message, so you are not signed in.");
  await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  await expect(page.getByText("Signed in", { exact: true })).toHaveCount(0);
});
