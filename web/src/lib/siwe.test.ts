import { checkChallenge, parseSiwe, SiweError } from "./siwe";

const ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

// what the gateway's siwe.py renders (its statement, expiry)
function message(over: Partial<Record<string, string>> = {}): string {
  const f = { domain: "127.0.0.1:8200", address: ADDRESS, uri: "http://127.0.0.1:8200", chain: "31337", ...over };
  return [
    `${f.domain} wants you to sign in with your Ethereum account:`,
    f.address,
    "",
    "Sign in to gpurent. This signature moves no funds and costs no gas.",
    "",
    `URI: ${f.uri}`,
    "Version: 1",
    `Chain ID: ${f.chain}`,
    "Nonce: 5f0c3a9e1b2d4c6a8e0f1a2b3c4d5e6f",
    "Issued At: 2026-12-03T08:00:00Z",
    "Expiration Time: 2026-12-03T08:05:00Z",
  ].join("\n");
}

const EXPECTED = { host: "127.0.0.1:8200", origin: "http://127.0.0.1:8200", address: ADDRESS.toLowerCase(), chainId: 31337 };

describe("parseSiwe", () => {
  it("reads every field the gateway writes", () => {
    expect(parseSiwe(message())).toEqual({
      domain: "127.0.0.1:8200",
      address: ADDRESS,
      statement: "Sign in to gpurent. This signature moves no funds and costs no gas.",
      uri: "http://127.0.0.1:8200",
      version: "1",
      chainId: 31337,
      nonce: "5f0c3a9e1b2d4c6a8e0f1a2b3c4d5e6f",
      issuedAt: "2026-12-03T08:00:00Z",
      expirationTime: "2026-12-03T08:05:00Z",
    });
  });
  it("reads a message without a statement", () => {
    const text = message().replace("Sign in to gpurent. This signature moves no funds and costs no gas.\n\n", "");
    expect(parseSiwe(text).statement).toBeNull();
  });
  it("refuses what is not EIP-4361", () => {
    expect(() => parseSiwe("hello")).toThrow(SiweError);
    expect(() => parseSiwe(message({ address: "0x12" }))).toThrow("names no account");
    expect(() => parseSiwe(message().replace("Nonce: ", "Nonce "))).toThrow("has a line it should not");
  });
});

describe("checkChallenge", () => {
  it("passes this site's message for this account and chain (any address case)", () => {
    expect(checkChallenge(message(), EXPECTED).chainId).toBe(31337);
  });
  it.each([
    [{ domain: "evil.example" }, "is for evil.example, not this site"],
    [{ uri: "https://evil.example/login" }, "URI is https://evil.example"],
    [{ uri: "not a url" }, "not a URL"],
    [{ address: "0x976EA74026E726554dB657fA54763abd0C3a0aa9" }, "not yours"],
    [{ chain: "1" }, "is for chain 1, not 31337"],
  ])("refuses %o before the wallet signs", (over, says) => {
    expect(() => checkChallenge(message(over), EXPECTED)).toThrow(says);
  });
});
