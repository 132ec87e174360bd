// Non-custodial writes: the gateway prepares, the wallet signs (and sends), the gateway reports.
// Plain EIP-1193 requests (eth_signTypedData_v4, eth_sendTransaction, personal_sign): what every
// wallet takes, with no library loaded for them.
import { apiGet, apiPost } from "./api";
import { WalletError, type Eip1193Provider } from "./eip1193";

/** An EIP-2612 permit as the gateway's prepare routes answer it. */
export interface Permit {
  typedData: {
    primaryType: string;
    domain: { chainId: number; verifyingContract: string };
    message: { owner: string; spender: string; value: string; deadline: string };
  } & Record<string, unknown>;
  maxCost: string; // base units
  deadline: number; // unix seconds
}

/** What eth_sendTransaction takes, as the gateway prepared it. */
export interface TxRequest {
  from: string;
  to: string;
  data: string;
  value: string;
  chainId: string;
}

export interface Prepared {
  transaction: TxRequest;
  action: string; // "create a job on", "cancel", "complete", "extend"
}

/** Tokens, decimal strings. */
export interface Settlement {
  provider: string;
  fee: string;
  refund: string;
}

/** The gateway's report of a transaction: the job it created, a settlement, or the revert in words. */
export interface Outcome {
  hash: string;
  ok: boolean;
  block: number;
  jobId: string | null;
  error: string | null;
  settlement: Settlement | null;
}

/** Which step the wallet refused: the caller says it in its own words. */
export class DeclinedError extends Error {
  readonly step: "permit" | "transaction" | "access";
  constructor(step: "permit" | "transaction" | "access", message: string) {
    super(message);
    this.step = step;
  }
}

async function ask<T>(wallet: Eip1193Provider, step: DeclinedError["step"], method: string, params: unknown[]): Promise<T> {
  try {
    return (await wallet.request({ method, params })) as T;
  } catch (err) {
    const refused = new WalletError(err);
    if (refused.code === 4001) throw new DeclinedError(step, refused.message);
    throw refused;
  }
}

/** Refuses a permit that is not the one the app means to sign: for this owner, letting this
 * deployment's marketplace take at most `maxCost` of this chain's token. A gateway that asked
 * for more, or for another spender, gets no signature. */
export function checkPermit(permit: Permit, want: { owner: string; spender: string; token: string; chainId: number }): void {
  const { typedData: t } = permit;
  const same = (a: unknown, b: string) => typeof a === "string" && a.toLowerCase() === b.toLowerCase();
  const problems = [
    t.primaryType !== "Permit" && "it is not an EIP-2612 permit",
    !same(t.message.owner, want.owner) && "it is for another account",
    !same(t.message.spender, want.spender) && "it lets another contract than the marketplace spend",
    !same(t.domain.verifyingContract, want.token) && "it is for another token",
    Number(t.domain.chainId) !== want.chainId && "it is for another chain",
    t.message.value !== permit.maxCost && "its amount is not the most this can cost",
  ].filter(Boolean);
  if (problems.length) throw new Error(`The gateway's permit was not signed: ${problems[0]}.`);
}

/** A prepared dispute: the bond (base units) and the transactions to send in order. */
export interface PreparedDispute {
  bond: string;
  transactions: Prepared[];
}

const APPROVE = "0x095ea7b3"; // approve(address,uint256)
const word = (hex: string, i: number) => hex.slice(10 + 64 * i, 10 + 64 * (i + 1));

/** Refuses a dispute that is not the one the app means to send: at most one approval, of
 * exactly the bond to this deployment's marketplace on this chain's token, then a transaction
 * to the marketplace, all from the signed-in address. */
export function checkDispute(prepared: PreparedDispute, want: { owner: string; marketplace: string; token: string }): void {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const steps = prepared.transactions;
  const last = steps[steps.length - 1];
  const approvals = steps.slice(0, -1);
  const badApproval = approvals.some((step) => {
    const { to, data, from } = step.transaction;
    return !same(to, want.token) || !same(from, want.owner) || !data.toLowerCase().startsWith(APPROVE) || data.length !== 10 + 128
      || !same(`0x${word(data, 0).slice(24)}`, want.marketplace) || BigInt(`0x${word(data, 1)}`) !== BigInt(prepared.bond);
  });
  const problems = [
    (!last || steps.length > 2) && "it is not one dispute with at most one approval",
    badApproval && "its approval is not of exactly the bond to the marketplace",
    last && (!same(last.transaction.to, want.marketplace) || !same(last.transaction.from, want.owner)) && "it does not go to the marketplace from you",
  ].filter(Boolean);
  if (problems.length) throw new Error(`The gateway's dispute was not sent: ${problems[0]}.`);
}

/** The wallet's signature of the permit (EIP-712 typed data, v4). */
export function signPermit(wallet: Eip1193Provider, address: string, permit: Permit): Promise<string> {
  return ask<string>(wallet, "permit", "eth_signTypedData_v4", [address, JSON.stringify(permit.typedData)]);
}

/** The wallet signs and sends the prepared transaction; the gateway waits for it and reports.
 * A transaction that reverted is an Error in the SDK's words (never hex). */
export async function sendPrepared(wallet: Eip1193Provider, token: string, prepared: Prepared): Promise<Outcome> {
  const { from, to, data, value } = prepared.transaction;
  const hash = await ask<string>(wallet, "transaction", "eth_sendTransaction", [{ from, to, data, value }]);
  const outcome = await apiGet<Outcome>(`/transactions/${hash}`, { token });
  if (!outcome.ok) throw new Error(`The transaction failed: ${outcome.error ?? "it reverted"}`);
  return outcome;
}

/** Prepare a permit at `route`, sign it, get the transaction from `route` without /prepare,
 * send it: one signature and one transaction in the wallet. */
export async function permitAndSend(
  wallet: Eip1193Provider,
  token: string,
  address: string,
  routes: { prepare: string; create: string },
  body: Record<string, unknown>,
  check: (permit: Permit) => void,
  permit?: Permit,
): Promise<Outcome> {
  const signed = permit ?? (await apiPost<Permit>(routes.prepare, body, { token }));
  check(signed);
  const signature = await signPermit(wallet, address, signed);
  const prepared = await apiPost<Prepared>(
    routes.create,
    { ...body, maxCost: signed.maxCost, deadline: signed.deadline, permitSignature: signature },
    { token },
  );
  return sendPrepared(wallet, token, prepared);
}

/** UTF-8 text as 0x-hex, what personal_sign takes. */
export function utf8Hex(text: string): string {
  return `0x${Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The renter's `gpurent job access` signature (src/gpurent/wire/access.py): the provider hears
 * the renter themself, through a gateway that holds no key. */
export async function signAccess(
  wallet: Eip1193Provider,
  address: string,
  chainId: number,
  jobId: string,
  now = Date.now(),
): Promise<{ timestamp: string; signature: string }> {
  const timestamp = String(Math.floor(now / 1000));
  const text = `gpurent job access\nchain: ${chainId}\njob: ${jobId.toLowerCase()}\ntime: ${timestamp}`;
  const signature = await ask<string>(wallet, "access", "personal_sign", [utf8Hex(text), address]);
  return { timestamp, signature };
}

/** One line for what stopped a write; `what` names what did not happen ("rented"). */
export function writeErrorText(err: unknown, what: string): string {
  if (err instanceof DeclinedError) {
    if (err.step === "permit") return `You declined the permit in your wallet, so nothing was ${what}.`;
    if (err.step === "transaction") return `You declined the transaction in your wallet, so nothing was ${what}.`;
  }
  return err instanceof Error ? err.message : String(err);
}
