import { walletErrorCode, walletErrorText, WalletError } from "./eip1193";

describe("wallet errors in plain words", () => {
  it("names a rejection, also wrapped by ethers", () => {
    expect(walletErrorText({ code: 4001, message: "User rejected the request." })).toBe("You rejected the request in your wallet.");
    const wrapped = { code: "ACTION_REJECTED", shortMessage: "user rejected action", info: { error: { code: 4001 } } };
    expect(walletErrorCode(wrapped)).toBe(4001);
    expect(new WalletError(wrapped).code).toBe(4001);
  });
  it("finds a code nested in ethers' info.error", () => {
    expect(walletErrorCode({ code: "UNKNOWN_ERROR", info: { error: { code: 4902, message: "x" } } })).toBe(4902);
  });
  it("says a pending request is waiting", () => {
    expect(walletErrorText({ code: -32002 })).toContain("already has a request waiting");
  });
  it("keeps an unknown error to its first line", () => {
    expect(walletErrorText(new Error("boom\nstack trace"))).toBe("Your wallet refused: boom");
    expect(walletErrorText({ code: 12345, message: "odd" })).toBe("Your wallet refused: odd");
  });
});
