import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Eip1193Provider, RequestArguments } from "../../lib/eip1193";
import type { Gpu } from "../marketplace/types";
import { checkPrice, unstakeState, type ProviderChain } from "./api";
import { AvailabilityToggle, PriceForm, UnstakeControl, WithdrawEarnings } from "./ProviderActions";
import { ProviderGpus } from "./ProviderGpus";

const PROVIDER = "0x90f79bf6eb2c4f870365e785982e1f101e93b906";
const ID = `${PROVIDER}000000000000000000000001`;
const MAX = "1208925.819614629174706175";
const HASH = `0x${"22".repeat(32)}`;
const TX = { from: PROVIDER, to: `0x${"aa".repeat(20)}`, data: "0xabcd", value: "0x0", chainId: "0x7a69" };

const gpu = (over: Partial<Gpu> = {}): Gpu => ({
  id: ID, providerAddress: PROVIDER, gpuModel: "RTX4090", vcpu: 8, memoryGb: 32, storageGb: 100, pricePerHour: "10",
  available: true, retired: false, reputation: 700, totalUptime: 600, uptimeBps: null, responseBps: null, ...over,
});
const chain = (over: Partial<ProviderChain> = {}): ProviderChain => ({
  withdrawable: "9.8", feeHeld: "0.2", stake: "100", unlockAt: 0, unstakeCooldownS: 7 * 86400, activeGpus: 1,
  maxPricePerHour: MAX, chainTime: 1_800_000_000, ...over,
});

describe("checkPrice", () => {
  it("takes a plain decimal of tokens, exact, and sends it in its shortest form", () => {
    expect(checkPrice("2.5", MAX)).toEqual({ price: "2.5" });
    expect(checkPrice(" 007.50 ", MAX)).toEqual({ price: "7.5" });
    expect(checkPrice("5.", MAX)).toEqual({ price: "5" });
    expect(checkPrice("0.000000000000000001", MAX)).toEqual({ price: "0.000000000000000001" }); // one base unit
    expect(checkPrice(MAX, MAX)).toEqual({ price: MAX });
  });
  it("refuses nothing, zero, a sign, an exponent, a 19th decimal and more than the registry's bound", () => {
    for (const bad of ["", "abc", "-1", "1e3", "0x10", "1,5", "0.0000000000000000001"]) {
      expect(checkPrice(bad, MAX)).toEqual({ problem: "Enter a price in tokens per hour, like 2.5 (at most 18 decimals)." });
    }
    expect(checkPrice("0.000", MAX)).toEqual({ problem: "The price must be above 0." });
    expect(checkPrice("1208925.819614629174706176", MAX)).toEqual({ problem: "The registry takes at most 1,208,925.8196 per hour." });
    expect(checkPrice("9".repeat(31), undefined)).toHaveProperty("problem"); // no bound known: still within what the gateway takes
  });
});

describe("unstakeState", () => {
  it("is none, cooling until the unlock time, then unlocked", () => {
    expect(unstakeState(chain())).toBe("none");
    expect(unstakeState(chain({ unlockAt: 1_800_000_060 }))).toBe("cooling");
    expect(unstakeState(chain({ unlockAt: 1_800_000_000 }))).toBe("unlocked");
  });
});

function wallet(reject = false) {
  const calls: RequestArguments[] = [];
  const w: Eip1193Provider = {
    request: vi.fn(async (args: RequestArguments) => {
      calls.push(args);
      if (reject) throw { code: 4001, message: "User rejected the request." };
      if (args.method === "eth_sendTransaction") return HASH;
      throw new Error(args.method);
    }),
  };
  return { w, calls };
}

describe("the provider's writes", () => {
  const asked: { url: string; method: string; body: unknown }[] = [];
  beforeEach(() => {
    asked.length = 0;
    vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit) => {
      asked.push({ url, method: init.method ?? "GET", body: init.body ? JSON.parse(String(init.body)) : undefined });
      if (url.includes("/transactions/")) {
        return new Response(JSON.stringify({ hash: HASH, ok: true, block: 77, jobId: null, error: null, settlement: null }), { status: 200 });
      }
      if (url.includes("/price") && (JSON.parse(String(init.body)) as { pricePerHour: string }).pricePerHour === "13") {
        return new Response(JSON.stringify({ error: "0xabc is not the provider of GPU 0x90f79bf6…" }), { status: 403 });
      }
      return new Response(JSON.stringify({ transaction: TX, action: "reprice", amount: "9.8", fee: "0.2" }), { status: 200 });
    }));
  });
  afterEach(() => vi.unstubAllGlobals());
  const session = { address: PROVIDER, token: "jwt", expiresAt: 0 } as never;

  it("switches a GPU off in one transaction and reports the block it landed in", async () => {
    const { w, calls } = wallet();
    const onDone = vi.fn();
    render(<AvailabilityToggle gpu={gpu()} session={session} wallet={w} onDone={onDone} />);
    const toggle = screen.getByRole("switch", { name: "Available for new jobs: RTX4090 0x90f79b…0001" });
    expect((toggle as HTMLInputElement).checked).toBe(true);
    fireEvent.click(toggle);
    await waitFor(() => expect(onDone).toHaveBeenCalledWith(77));
    expect(asked[0]).toEqual({ url: `/api/v1/provider/gpus/${ID}/availability`, method: "POST", body: { available: false } });
    expect(calls.map((c) => c.method)).toEqual(["eth_sendTransaction"]);
  });
  it("checks the price before asking, sends it exact, and says the gateway's refusal in words", async () => {
    const { w } = wallet();
    const onDone = vi.fn();
    render(<PriceForm gpu={gpu()} max={MAX} symbol="GPU" session={session} wallet={w} onDone={onDone} />);
    const field = screen.getByLabelText("Price per hour (GPU) for RTX4090 0x90f79b…0001");
    const button = screen.getByRole("button", { name: "Set the price" });
    expect((button as HTMLButtonElement).disabled).toBe(true); // the price it has already
    fireEvent.change(field, { target: { value: "0" } });
    expect(screen.getByRole("alert").textContent).toBe("The price must be above 0.");
    expect((button as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(field, { target: { value: "12.50" } });
    expect(screen.queryByRole("alert")).toBeNull();
    fireEvent.click(button);
    await waitFor(() => expect(onDone).toHaveBeenCalledWith(77));
    expect(asked[0]?.body).toEqual({ pricePerHour: "12.5" });
    fireEvent.change(field, { target: { value: "13" } });
    fireEvent.click(button);
    expect(await screen.findByRole("alert")).toHaveProperty("textContent", "0xabc is not the provider of GPU 0x90f79bf6…");
    expect(asked).toHaveLength(3); // the refused one was never sent to the wallet
  });
  it("shows what is withdrawable and withdraws it; nothing held: nothing to press", async () => {
    const { w } = wallet();
    const onDone = vi.fn();
    const { rerender } = render(<WithdrawEarnings chain={chain()} symbol="GPU" session={session} wallet={w} onDone={onDone} />);
    expect(screen.getByTestId("withdrawable").textContent).toBe("Withdrawable now: 9.8 GPU (the platform fee of 0.2 GPU on it goes to the treasury)");
    fireEvent.click(screen.getByRole("button", { name: "Withdraw the earnings" }));
    await waitFor(() => expect(onDone).toHaveBeenCalledWith(77));
    expect(asked[0]).toMatchObject({ url: "/api/v1/provider/earnings/withdraw", method: "POST" });
    rerender(<WithdrawEarnings chain={chain({ withdrawable: "0", feeHeld: "0" })} symbol="GPU" session={session} wallet={w} onDone={onDone} />);
    expect(screen.getByTestId("withdrawable").textContent).toBe("Withdrawable now: 0 GPU");
    expect((screen.getByRole("button", { name: "Withdraw the earnings" }) as HTMLButtonElement).disabled).toBe(true);
  });
  it("says a declined transaction in words", async () => {
    const { w } = wallet(true);
    render(<WithdrawEarnings chain={chain()} symbol="GPU" session={session} wallet={w} onDone={vi.fn()} />);
    fireEvent.click(screen.getByRole("button", { name: "Withdraw the earnings" }));
    expect((await screen.findByRole("alert")).textContent).toBe("You declined the transaction in your wallet, so nothing was withdrawn.");
  });
  it("walks the stake through request, the cooldown's time left, and withdraw or cancel", async () => {
    const { w } = wallet();
    const props = { symbol: "GPU", session, wallet: w, onDone: vi.fn() };
    const { rerender } = render(<UnstakeControl chain={chain()} {...props} />);
    expect(screen.getByTestId("unstake-state").textContent).toBe("Staked: 100 GPU. An unstake waits 7 d before the withdrawal.");
    expect((screen.getByRole("button", { name: "Request an unstake" }) as HTMLButtonElement).disabled).toBe(true); // a GPU is active
    expect(screen.getByText(/^Retire all your GPUs first \(1 active\)/)).toBeTruthy();
    rerender(<UnstakeControl chain={chain({ activeGpus: 0 })} {...props} />);
    fireEvent.click(screen.getByRole("button", { name: "Request an unstake" }));
    await waitFor(() => expect(props.onDone).toHaveBeenCalledWith(77));
    expect(asked[0]).toMatchObject({ url: "/api/v1/provider/stake/unstake", body: { step: "request" } });
    rerender(<UnstakeControl chain={chain({ activeGpus: 0, unlockAt: 1_800_000_000 + 2 * 86400 + 3600 })} {...props} />);
    expect(screen.getByTestId("unstake-state").textContent).toBe(
      "Unstake requested: the stake unlocks at 2027-01-17 09:00:00 UTC (in 2 d 1 h).");
    expect(screen.queryByRole("button", { name: "Withdraw the stake" })).toBeNull();
    expect(screen.getByRole("button", { name: "Cancel the unstake" })).toBeTruthy();
    rerender(<UnstakeControl chain={chain({ activeGpus: 0, unlockAt: 1_800_000_000 })} {...props} />);
    fireEvent.click(screen.getByRole("button", { name: "Withdraw the stake" }));
    await waitFor(() => expect(asked.at(-2)).toMatchObject({ body: { step: "withdraw" } }));
  });
  it("offers a retired GPU no switch and no price, and a reader who is not signed in neither", () => {
    const { w } = wallet();
    const acting = { session, wallet: w, onDone: vi.fn() };
    const gpus = [gpu(), gpu({ id: `${PROVIDER}${"0".repeat(23)}2`, gpuModel: "A100", available: false, retired: true })];
    const { container, rerender } = render(<ProviderGpus gpus={gpus} symbol="GPU" acting={acting} maxPrice={MAX} />);
    expect(screen.getAllByRole("switch")).toHaveLength(1);
    expect([...container.querySelectorAll("td[data-label=Change]")].map((c) => c.textContent?.includes("Set the price"))).toEqual([true, false]);
    rerender(<ProviderGpus gpus={gpus} symbol="GPU" />);
    expect(screen.queryAllByRole("switch")).toHaveLength(0);
    expect(container.querySelector("td[data-label=Change]")).toBeNull();
  });
});
