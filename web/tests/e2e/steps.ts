// Steps the browser tests share: a console watched for errors, a renter signed in.
import { expect, type Page } from "@playwright/test";
import { env } from "./wallet";

export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (err) => problems.push(err.message));
  return problems;
}

/** Connect the injected wallet and sign in (the page is already open), as the renter unless told. */
export async function signIn(page: Page, account = env().renter): Promise<void> {
  await page.getByRole("button", { name: "Connect wallet" }).click();
  await expect(page.getByLabel(`Connected account ${account}`)).toBeVisible();
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Signed in", { exact: true })).toBeVisible();
}

/** Every control on the page has an accessible name: a label, its text or an aria-label. */
export async function expectLabelled(page: Page): Promise<void> {
  for (const control of await page.locator("main input, main select, main button, header button").all()) {
    const id = await control.getAttribute("id");
    const text = (await control.textContent())?.trim();
    const labelled = id ? await page.locator(`label[for="${id}"]`).count() : 0;
    expect(labelled > 0 || !!text || !!(await control.getAttribute("aria-label")), await control.evaluate((e) => e.outerHTML)).toBe(true);
  }
}

/** The page at 1280 px (whole) and 390 px (the first screen) into GPURENT_SCREENSHOT_DIR, when
 * set (docs/web-<name>-<width>.png); the viewport back to 1280 after. */
export async function screenshots(page: Page, name: string): Promise<void> {
  const shots = process.env.GPURENT_SCREENSHOT_DIR ?? "";
  if (!shots) return;
  for (const [width, height] of [[1280, 900], [390, 844]] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: `${shots}/web-${name}-${width}.png`, fullPage: width > 1000 });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}
