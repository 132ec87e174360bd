// A test wallet: an injected EIP-1193 provider whose chain requests go to Anvil (which signs for
// its unlocked accounts), added before the app's scripts run. The app's wallet code path is the
// one MetaMask takes; the calls reach Anvil from the test process (as an extension's would, not
// through the page, whose CSP allows only its own origin).
import type { Page } from "@playwright/test";

export interface WalletOptions {
  account: string;
  chainId: number; // the chain the wallet is on at first
  rejectSignatures?: boolean; // answer every signature request with EIP-1193 4001
  reject?: string[]; // answer these methods only with 4001 (the renter declines one step)
}

export interface Env {
  url: string;
  rpcUrl: string;
  chainId: number;
  renter: string;
}

export function env(): Env {
  const need = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: the suite (tests/web/test_web.py) sets it`);
    return value;
  };
  return {
    url: need("GPURENT_WEB_URL"),
    rpcUrl: need("GPURENT_RPC_URL"),
    chainId: Number(need("GPURENT_CHAIN_ID")),
    renter: need("GPURENT_RENTER"),
  };
}

/** A JSON-RPC call to Anvil from the test process (not the page). */
export async function rpc<T>(method: string, params: unknown[]): Promise<T> {
  const answer = await fetch(env().rpcUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await answer.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/** Sends a transaction from one of Anvil's unlocked accounts (the provider's, here) and waits
 * for it to be mined; fails when it reverted. */
export async function sendAs(from: string, to: string, data: string): Promise<void> {
  const hash = await rpc<string>("eth_sendTransaction", [{ from, to, data }]);
  for (let i = 0; i < 100; i += 1) {
    const receipt = await rpc<{ status: string } | null>("eth_getTransactionReceipt", [hash]);
    if (receipt) {
      if (receipt.status !== "0x1") throw new Error(`${hash} reverted`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${hash} was not mined`);
}

export interface WalletLog {
  method: string;
  params: unknown;
}

/** Installs the wallet in `page`; the returned list fills with the requests the app made. */
export async function installWallet(page: Page, options: WalletOptions): Promise<WalletLog[]> {
  const { rpcUrl } = env();
  const log: WalletLog[] = [];
  await page.exposeBinding("__gpurentTestLog", (_source, method: string, params: unknown) => {
    log.push({ method, params });
  });
  await page.exposeBinding("__gpurentTestRpc", async (_source, method: string, params: unknown) => {
    const answer = await fetch(rpcUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: log.length, method, params: params ?? [] }),
    });
    const body = (await answer.json()) as { result?: unknown; error?: { code: number; message: string } };
    return body.error ? { error: body.error } : { result: body.result };
  });
  await page.addInitScript(
    (cfg) => {
      type Listener = (value: unknown) => void;
      type Rpc = (method: string, params: unknown) => Promise<{ result?: unknown; error?: { code: number; message: string } }>;
      const bindings = window as unknown as { __gpurentTestRpc: Rpc; __gpurentTestLog: (m: string, p: unknown) => Promise<void> };
      const listeners = new Map<string, Set<Listener>>();
      const known = new Set<number>([1, cfg.chainId]);
      let chainId = cfg.chainId;
      let connected = false;
      const hex = (id: number) => `0x${id.toString(16)}`;
      const emit = (event: string, value: unknown) => listeners.get(event)?.forEach((f) => f(value));
      const fail = (code: number, message: string) => Object.assign(new Error(message), { code });
      const SIGNING = new Set(["personal_sign", "eth_sign", "eth_signTypedData_v4", "eth_sendTransaction"]);
      (window as unknown as { ethereum: unknown }).ethereum = {
        isGpurentTestWallet: true,
        async request({ method, params }: { method: string; params?: unknown[] }) {
          const first = (params?.[0] ?? {}) as { chainId?: string };
          await bindings.__gpurentTestLog(method, params ?? []); // every request, seen by the test
          switch (method) {
            case "eth_requestAccounts":
              connected = true;
              emit("accountsChanged", [cfg.account]);
              return [cfg.account];
            case "eth_accounts":
              return connected ? [cfg.account] : [];
            case "eth_chainId":
              return hex(chainId);
            case "net_version":
              return String(chainId);
            case "wallet_switchEthereumChain": {
              const id = Number.parseInt(first.chainId ?? "", 16);
              if (!known.has(id)) throw fail(4902, `Unrecognized chain ID ${first.chainId}`);
              chainId = id;
              emit("chainChanged", hex(id));
              return null;
            }
            case "wallet_addEthereumChain": {
              const id = Number.parseInt(first.chainId ?? "", 16);
              known.add(id);
              chainId = id; // as MetaMask does: added, then switched to
              emit("chainChanged", hex(id));
              return null;
            }
            default: {
              if (SIGNING.has(method) && (cfg.rejectSignatures || cfg.reject.includes(method))) {
                throw fail(4001, "User rejected the request.");
              }
              if (SIGNING.has(method) && !connected) throw fail(4100, "Unauthorized");
              const answer = await bindings.__gpurentTestRpc(method, params ?? []);
              if (answer.error) throw fail(answer.error.code, answer.error.message);
              return answer.result;
            }
          }
        },
        on(event: string, listener: Listener) {
          if (!listeners.has(event)) listeners.set(event, new Set());
          listeners.get(event)?.add(listener);
        },
        removeListener(event: string, listener: Listener) {
          listeners.get(event)?.delete(listener);
        },
      };
    },
    {
      account: options.account,
      chainId: options.chainId,
      rejectSignatures: options.rejectSignatures ?? false,
      reject: options.reject ?? [],
    },
  );
  return log;
}
