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

/** Connect the injected wallet and sign in (the page is already open). */
export async function signIn(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Connect wallet" }).click();
  await expect(page.getByLabel(`Connected account ${env().renter}`)).toBeVisible();
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("Signed in", { exact: true })).toBeVisible();
}
