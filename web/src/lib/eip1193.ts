// The injected wallet (MetaMask or any EIP-1193 provider) and its errors in plain words.

export interface RequestArguments {
  readonly method: string;
  readonly params?: readonly unknown[] | object;
}

export interface Eip1193Provider {
  request(args: RequestArguments): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): void;
  removeListener?(event: string, listener: (...args: unknown[]) => void): void;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

/** The wallet the browser injected, if any. */
export function injectedWallet(): Eip1193Provider | null {
  const found = typeof window === "undefined" ? undefined : window.ethereum;
  return found && typeof found.request === "function" ? found : null;
}

/** EIP-1193 and EIP-1474 codes a wallet answers with, and what they mean to the user. */
const CODES: Record<number, string> = {
  4001: "You rejected the request in your wallet.",
  4100: "Your wallet has not allowed this site to use that account; connect it again.",
  4200: "Your wallet does not support this request.",
  4900: "Your wallet is not connected to any network.",
  4901: "Your wallet is not connected to the network this needs.",
  4902: "Your wallet does not know the gpurent network yet.",
  [-32002]: "Your wallet already has a request waiting: open it and answer that first.",
  [-32603]: "Your wallet failed to complete the request.",
};

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** The wallet's error code, also when ethers wrapped it (ACTION_REJECTED, info.error…). */
export function walletErrorCode(err: unknown): number | undefined {
  const code = field(err, "code");
  if (typeof code === "number") return code;
  if (code === "ACTION_REJECTED") return 4001;
  const inner = field(field(err, "info"), "error") ?? field(err, "error");
  return inner !== undefined && inner !== err ? walletErrorCode(inner) : undefined;
}

/** One line in plain words for whatever a wallet (or ethers over it) threw. */
export function walletErrorText(err: unknown): string {
  const code = walletErrorCode(err);
  if (code !== undefined && CODES[code]) return CODES[code];
  const message = field(err, "shortMessage") ?? field(err, "message");
  const text = typeof message === "string" && message ? message : String(err);
  return `Your wallet refused: ${firstLine(text)}`;
}

export function firstLine(text: string, max = 200): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A wallet error of its own kind, so callers can tell a rejection from the rest. */
export class WalletError extends Error {
  readonly code: number | undefined;
  constructor(err: unknown) {
    super(walletErrorText(err));
    this.code = walletErrorCode(err);
  }
}
