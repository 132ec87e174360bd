// ethers is loaded when the wallet is first asked to sign or read, not with the first page:
// the marketplace renders without it (bench/web.py measures the first page's bundle).
import type { BrowserProvider } from "ethers";
import type { Eip1193Provider } from "./eip1193";

/** An ethers provider over the injected wallet ("any": the wallet may switch chains). */
export async function browserProvider(wallet: Eip1193Provider): Promise<BrowserProvider> {
  const { BrowserProvider: Provider } = await import("ethers");
  return new Provider(wallet, "any");
}
