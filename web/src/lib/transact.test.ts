import type { Eip1193Provider, RequestArguments } from "./eip1193";
import { checkDispute, checkPermit, DeclinedError, permitAndSend, signAccess, utf8Hex, writeErrorText, type Permit } from "./transact";

const OWNER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const WANT = { owner: OWNER, spender: "0x00000000000000000000000000000000000000aa", token: "0x00000000000000000000000000000000000000bb", chainId: 31337 };

function permit(over: { message?: object; domain?: object; maxCost?: string } = {}): Permit {
  return {
    typedData: {
      primaryType: "Permit",
      domain: { chainId: 31337, verifyingContract: WANT.token.toUpperCase().replace("0X", "0x"), ...over.domain },
      message: { owner: OWNER, spender: WANT.spender, value: "2500", deadline: "99", ...over.message },
    },
    maxCost: over.maxCost ?? "2500",
    deadline: 99,
  };
}

describe("checkPermit", () => {
  it("takes the permit the app means to sign", () => {
    expect(() => checkPermit(permit(), WANT)).not.toThrow();
  });
  it("refuses another spender, owner, token, chain or amount", () => {
    expect(() => checkPermit(permit({ message: { spender: "0x" + "c".repeat(40) } }), WANT)).toThrow(/another contract than the marketplace/);
    expect(() => checkPermit(permit({ message: { owner: "0x" + "d".repeat(40) } }), WANT)).toThrow(/another account/);
    expect(() => checkPermit(permit({ domain: { verifyingContract: "0x" + "e".repeat(40) } }), WANT)).toThrow(/another token/);
    expect(() => checkPermit(permit({ domain: { chainId: 1 } }), WANT)).toThrow(/another chain/);
    expect(() => checkPermit(permit({ maxCost: "1" }), WANT)).toThrow(/not the most this can cost/);
  });
});

function wallet(reject?: string) {
  const calls: RequestArguments[] = [];
  const w: Eip1193Provider = {
    request: vi.fn(async (args: RequestArguments) => {
      calls.push(args);
      if (args.method === reject) throw { code: 4001, message: "User rejected the request." };
      if (args.method === "eth_signTypedData_v4") return `0x${"11".repeat(65)}`;
      if (args.method === "eth_sendTransaction") return `0x${"22".repeat(32)}`;
      if (args.method === "personal_sign") return `0x${"33".repeat(65)}`;
      throw new Error(args.method);
    }),
  };
  return { w, calls };
}

const TX = { from: OWNER, to: WANT.spender, data: "0xabcd", value: "0x0", chainId: "0x7a69" };

describe("permitAndSend", () => {
  const asked: { url: string; method: string; body: unknown }[] = [];
  beforeEach(() => {
    asked.length = 0;
    vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit) => {
      asked.push({ url, method: init.method ?? "GET", body: init.body ? JSON.parse(String(init.body)) : undefined });
      const answer = url.endsWith("/prepare") ? permit() : url.includes("/transactions/")
        ? { hash: `0x${"22".repeat(32)}`, ok: true, block: 7, jobId: `0x${"44".repeat(32)}`, error: null, settlement: null }
        : { transaction: TX, action: "create a job on" };
      return new Response(JSON.stringify(answer), { status: 200 });
    }));
  });
  afterEach(() => vi.unstubAllGlobals());

  it("prepares, has the permit signed, gets the transaction, has it sent, and reports the job", async () => {
    const { w, calls } = wallet();
    const outcome = await permitAndSend(w, "jwt", OWNER, { prepare: "/instances/prepare", create: "/instances" }, { gpuId: "0x1", durationSeconds: 60 }, (p) => checkPermit(p, WANT));
    expect(outcome.jobId).toBe(`0x${"44".repeat(32)}`);
    expect(calls.map((c) => c.method)).toEqual(["eth_signTypedData_v4", "eth_sendTransaction"]);
    expect((calls[0]?.params as unknown[])[0]).toBe(OWNER);
    expect(JSON.parse(String((calls[0]?.params as unknown[])[1])).primaryType).toBe("Permit");
    expect(calls[1]?.params).toEqual([{ from: OWNER, to: WANT.spender, data: "0xabcd", value: "0x0" }]);
    expect(asked.map((a) => `${a.method} ${a.url}`)).toEqual([
      "POST /api/v1/instances/prepare", "POST /api/v1/instances", `GET /api/v1/transactions/0x${"22".repeat(32)}`,
    ]);
    expect(asked[1]?.body).toEqual({ gpuId: "0x1", durationSeconds: 60, maxCost: "2500", deadline: 99, permitSignature: `0x${"11".repeat(65)}` });
  });
  it("says which step the renter declined, in words", async () => {
    for (const [method, text] of [
      ["eth_signTypedData_v4", "You declined the permit in your wallet, so nothing was rented."],
      ["eth_sendTransaction", "You declined the transaction in your wallet, so nothing was rented."],
    ] as const) {
      const { w } = wallet(method);
      const err = await permitAndSend(w, "jwt", OWNER, { prepare: "/instances/prepare", create: "/instances" }, {}, () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeclinedError);
      expect(writeErrorText(err, "rented")).toBe(text);
    }
  });
  it("signs no permit the check refuses", async () => {
    const { w, calls } = wallet();
    const err = await permitAndSend(w, "jwt", OWNER, { prepare: "/instances/prepare", create: "/instances" }, {}, (p) => checkPermit(p, { ...WANT, chainId: 1 })).catch((e: unknown) => e);
    expect(String(err)).toMatch(/for another chain/);
    expect(calls).toEqual([]);
  });
});

describe("signAccess", () => {
  it("has the wallet sign the agent's access text (personal_sign, UTF-8 hex)", async () => {
    const { w, calls } = wallet();
    const access = await signAccess(w, OWNER, 31337, `0x${"AB".repeat(32)}`, 1_700_000_000_900);
    expect(access).toEqual({ timestamp: "1700000000", signature: `0x${"33".repeat(65)}` });
    const text = `gpurent job access\nchain: 31337\njob: 0x${"ab".repeat(32)}\ntime: 1700000000`;
    expect(calls[0]?.params).toEqual([utf8Hex(text), OWNER]);
    expect(utf8Hex("hé")).toBe("0x68c3a9");
  });
});

describe("checkDispute", () => {
  const market = WANT.spender;
  const tx = (to: string, data: string, from = OWNER) => ({ transaction: { from, to, data, value: "0x0", chainId: "0x7a69" }, action: "x" });
  const approve = (spender: string, amount: bigint) =>
    `0x095ea7b3${spender.slice(2).padStart(64, "0")}${amount.toString(16).padStart(64, "0")}`;
  const want = { owner: OWNER, marketplace: market, token: WANT.token };
  it("takes a dispute alone, or after an approval of exactly the bond to the marketplace", () => {
    expect(() => checkDispute({ bond: "500", transactions: [tx(market, "0xabcdef")] }, want)).not.toThrow();
    expect(() => checkDispute({ bond: "500", transactions: [tx(WANT.token, approve(market, 500n)), tx(market, "0xabcdef")] }, want)).not.toThrow();
  });
  it("refuses an approval of more, to another spender or token, and a dispute sent elsewhere", () => {
    const cases = [
      [tx(WANT.token, approve(market, 2n ** 256n - 1n)), tx(market, "0x01")],
      [tx(WANT.token, approve(OWNER, 500n)), tx(market, "0x01")],
      [tx(market, approve(market, 500n)), tx(market, "0x01")],
      [tx(WANT.token, "0xa9059cbb" + "0".repeat(128)), tx(market, "0x01")], // transfer, not approve
      [tx(WANT.token, approve(market, 500n)), tx(WANT.token, "0x01")],
      [tx(market, "0x01", WANT.token)],
      [],
    ];
    for (const transactions of cases) {
      expect(() => checkDispute({ bond: "500", transactions }, want)).toThrow(/^The gateway's dispute was not sent: /);
    }
  });
});
