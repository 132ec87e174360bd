// Images and data in a real Chromium: a real docker-archive (built by tests/web/test_web.py)
// uploaded through the gateway into a real Kubo node with its progress shown, then listed with
// its CID and size and its details read back; a file that is not a tar, and one over the
// gateway's limit, refused in the gateway's own line; a dataset file uploaded the same way, its
// CID, size and digest shown with how a job mounts it, and one over the data limit refused.
import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { expect, test } from "@playwright/test";
import { expectLabelled, screenshots, signIn, watchConsole } from "./steps";
import { env, installWallet } from "./wallet";

const need = (name: string): string => process.env[name] ?? "";

test("a renter uploads an image with its progress, sees it listed with its details, and refusals in words", async ({ page }) => {
  const problems = watchConsole(page);
  await installWallet(page, { account: env().renter, chainId: env().chainId });
  await page.goto("/");
  await page.getByRole("link", { name: "Images and data" }).click();
  await expect(page.getByRole("heading", { name: "Images and data", level: 1 })).toBeVisible();
  await expect(page.getByText("Connect your wallet and sign in to upload an image or data.")).toBeVisible();
  await signIn(page);
  await expectLabelled(page);

  // a slow uplink (as over a real network): the progress bar is seen while the body goes
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 400_000 });
  await page.getByLabel("Docker image archive (.tar)").setInputFiles(need("GPURENT_IMAGE_TAR"));
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const progress = page.getByLabel("Upload progress");
  await expect(progress).toBeVisible();
  await expect(page.getByText(/^\d+% sent$/)).toBeVisible();
  await expect(page.getByRole("button", { name: "Upload", exact: true })).toBeDisabled(); // one at a time
  const done = page.getByRole("status").filter({ hasText: "Uploaded gpurent-test/web:1" });
  await expect(done).toBeVisible({ timeout: 30_000 });
  await expect(progress).toHaveCount(0);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const cid = /as (\w+)\.$/.exec((await done.textContent()) ?? "")?.[1] ?? "";
  expect(cid).toMatch(/^[A-Za-z0-9]{40,}$/);
  writeFileSync(`${need("GPURENT_OUT")}/image.txt`, cid);

  // listed first, with its size and no jobs yet; its details from IPFS
  const row = page.locator("table.images tbody tr").first();
  await expect(row.locator("th")).toHaveText(cid);
  const size = Number(need("GPURENT_IMAGE_SIZE"));
  const cells = await row.locator("td").allTextContents();
  expect(cells.slice(0, 3)).toEqual(["gpurent-test/web:1", expect.stringMatching(/^[\d.]+ (KiB|MiB)$/), "0"]);
  await row.getByRole("button", { name: `Details of ${cid}` }).press("Enter"); // the keyboard reaches it
  const details = page.locator(".image-details");
  await expect(details.getByRole("heading", { name: `Image ${cid}` })).toBeVisible();
  await expect(details.locator("dd").nth(3)).toHaveText(env().renter.toLowerCase()); // the uploader: the signed-in renter
  await expect(details.locator("dd").nth(2)).toHaveText(/^sha256:[0-9a-f]{64}$/);
  expect(size).toBeGreaterThan(1000);
  await screenshots(page, "images");

  // a file that is not a docker-archive: the gateway's one line, as it says it
  await page.getByLabel("Docker image archive (.tar)").setInputFiles(need("GPURENT_NOT_TAR"));
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText(`The upload was refused: ${need("GPURENT_NOT_TAR_ERROR")}`);
  await expect(page.locator("table.images tbody tr").first().locator("th")).toHaveText(cid); // nothing new listed

  // over the gateway's limit: refused from its Content-Length, before the body is read
  await page.getByLabel("Docker image archive (.tar)").setInputFiles(need("GPURENT_TOO_BIG"));
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText(`The upload was refused: ${need("GPURENT_TOO_BIG_ERROR")}`);
  // a dataset file: its progress, then its CID, size and digest and how a job mounts it
  const data = page.getByRole("form", { name: "Upload data" });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 400_000 });
  await data.getByLabel("Data file").setInputFiles(need("GPURENT_DATA_FILE"));
  await data.getByRole("button", { name: "Upload the file", exact: true }).click();
  await expect(data.getByLabel("Data upload progress")).toBeVisible();
  await expect(data.getByText(/^\d+% sent$/)).toBeVisible();
  const pushed = data.getByRole("status");
  await expect(pushed).toContainText(`Uploaded ${basename(need("GPURENT_DATA_FILE"))} (`, { timeout: 30_000 });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await expect(data.getByLabel("Data upload progress")).toHaveCount(0);
  const facts = pushed.locator("dd");
  const dataCid = ((await facts.nth(0).textContent()) ?? "").trim();
  expect(dataCid).toMatch(/^[a-z2-7]{50,}$/); // a CIDv1 in base32
  await expect(facts.nth(1)).toContainText(`(${Number(need("GPURENT_DATA_SIZE")).toLocaleString("en-US")} bytes)`);
  await expect(facts.nth(2)).toHaveText(need("GPURENT_DATA_DIGEST"));
  await expect(pushed.getByText(`--input ${dataCid}:/data`)).toBeVisible();
  writeFileSync(`${need("GPURENT_OUT")}/data.txt`, dataCid);
  await screenshots(page, "images-data");

  // over the data limit: the gateway's own line in the data form
  await data.getByLabel("Data file").setInputFiles(need("GPURENT_DATA_TOO_BIG"));
  await data.getByRole("button", { name: "Upload the file", exact: true }).click();
  await expect(data.getByRole("alert")).toHaveText(`The upload was refused: ${need("GPURENT_DATA_TOO_BIG_ERROR")}`);
  await expect(data.getByRole("status")).toHaveCount(0);

  // the browser logs each refused request (400, 413) itself; nothing else may be there
  expect(problems.filter((p) => !/status of (400|413)/.test(p))).toEqual([]);
});
