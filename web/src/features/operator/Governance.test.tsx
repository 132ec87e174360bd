import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Eip1193Provider, RequestArguments } from "../../lib/eip1193";
import { readiness, type Operation } from "./api";
import { PendingOperations, ProposeForm } from "./Governance";

const ADMIN = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const TIMELOCK = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9";
const session = { token: "jwt", address: ADMIN, expiresAt: 9e9 };
const op = (over: Partial<Operation> = {}): Operation => ({
  opId: `0x${"ab".repeat(32)}`, target: "0x9fe4", change: "platform fee 2% → 3%", call: "Marketplace.setFee(300)",
  readyAt: 10_000, ready: false, ...over,
});

function wallet() {
  const calls: RequestArguments[] = [];
  const w: Eip1193Provider = {
    request: vi.fn(async (args: RequestArguments) => {
      calls.push(args);
      return `0x${"22".repeat(32)}`;
    }),
  };
  return { w, calls };
}

const asked: { url: string; body: unknown }[] = [];
beforeEach(() => {
  asked.length = 0;
  vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit) => {
    asked.push({ url, body: init.body ? JSON.parse(String(init.body)) : undefined });
    if (url.includes("/transactions/")) {
      return new Response(JSON.stringify({ hash: `0x${"22".repeat(32)}`, ok: true, block: 9, jobId: null, error: null, settlement: null }));
    }
    if (url.endsWith("/proposals") && (init.body as string).includes("5000")) {
      return new Response(JSON.stringify({ error: "fee 5000 bps is above the maximum of 1000 bps" }), { status: 400 });
    }
    return new Response(JSON.stringify({ transaction: { from: ADMIN, to: TIMELOCK, data: "0x01d5062a", value: "0x0", chainId: "0x7a69" },
      action: "schedule", operation: op() }));
  }));
});
afterEach(() => vi.unstubAllGlobals());

describe("the timelock's pending changes", () => {
  it("count down to when each may be executed, at chain time", () => {
    expect(readiness(op(), 10_000 - 3599)).toEqual({ text: "executable in 59 min 59 s (1970-01-01 02:46:40 UTC)", ready: false });
    expect(readiness(op(), 10_000 - 7200).text).toMatch(/^executable in 2 h /);
    expect(readiness(op(), 10_000)).toEqual({ text: "ready to execute", ready: true });
  });
  it("list what each changes in words; Execute waits for the delay, Cancel does not", () => {
    const { w } = wallet();
    const acting = { session, wallet: w, onDone: vi.fn(), execute: true, cancel: true };
    const { rerender } = render(<PendingOperations operations={[op()]} now={5000} acting={acting} />);
    expect(screen.getByText("platform fee 2% → 3%")).toBeTruthy();
    expect(screen.getByText(/^executable in 1 h 23 min/)).toBeTruthy();
    expect((screen.getByRole("button", { name: "Execute: platform fee 2% → 3%" }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole("button", { name: "Cancel: platform fee 2% → 3%" }) as HTMLButtonElement).disabled).toBe(false);
    rerender(<PendingOperations operations={[op()]} now={10_001} acting={acting} />);
    expect((screen.getByRole("button", { name: "Execute: platform fee 2% → 3%" }) as HTMLButtonElement).disabled).toBe(false);
    rerender(<PendingOperations operations={[op()]} now={10_001} acting={null} />);
    expect(screen.queryAllByRole("button")).toHaveLength(0); // not signed in, or no timelock role: nothing to press
    rerender(<PendingOperations operations={[]} now={1} acting={null} />);
    expect(screen.getByText("No change is waiting on the timelock.")).toBeTruthy();
  });
  it("executes a ready one through the wallet", async () => {
    const { w, calls } = wallet();
    const onDone = vi.fn();
    render(<PendingOperations operations={[op()]} now={10_001} acting={{ session, wallet: w, onDone, execute: true, cancel: false }} />);
    expect(screen.queryByRole("button", { name: /^Cancel/ })).toBeNull(); // no CANCELLER_ROLE
    fireEvent.click(screen.getByRole("button", { name: "Execute: platform fee 2% → 3%" }));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(asked[0]?.url).toBe(`/api/v1/operator/operations/0x${"ab".repeat(32)}/execute`);
    expect(calls.map((c) => c.method)).toEqual(["eth_sendTransaction"]);
  });
});

describe("proposing a parameter change", () => {
  it("asks for each value of the chosen parameter, sends them as text and schedules in the wallet", async () => {
    const { w, calls } = wallet();
    const onDone = vi.fn();
    render(<ProposeForm delay={172800} session={session} wallet={w} onDone={onDone} />);
    expect(screen.getByText(/at least 2 d after it is scheduled/)).toBeTruthy();
    const submit = screen.getByRole("button", { name: "Propose the change" }) as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText("Parameter to change"), { target: { value: "dispute_bond" } });
    expect(screen.getByLabelText("Bond in basis points of the job's max cost")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Bond in basis points of the job's max cost"), { target: { value: "500" } });
    expect(submit.disabled).toBe(true); // the minimum bond too
    fireEvent.change(screen.getByLabelText("Minimum bond (GPU)"), { target: { value: " 2.5 " } });
    fireEvent.click(submit);
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(asked[0]).toEqual({ url: "/api/v1/operator/proposals", body: { parameter: "dispute_bond", values: ["500", "2.5"] } });
    expect(calls.map((c) => c.method)).toEqual(["eth_sendTransaction"]);
    expect((calls[0]?.params as { to: string }[])[0]?.to).toBe(TIMELOCK);
  });
  it("shows the gateway's refusal in one line and asks the wallet nothing", async () => {
    const { w, calls } = wallet();
    render(<ProposeForm delay={0} session={session} wallet={w} onDone={vi.fn()} />);
    fireEvent.change(screen.getByLabelText("Fee in basis points (100 = 1%)"), { target: { value: "5000" } });
    fireEvent.click(screen.getByRole("button", { name: "Propose the change" }));
    expect(await screen.findByText(/fee 5000 bps is above the maximum of 1000 bps/)).toBeTruthy();
    expect(calls).toHaveLength(0);
  });
});
