import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Eip1193Provider, RequestArguments } from "../../lib/eip1193";
import { ConnectWallet } from "./ConnectWallet";
import { NetworkNotice } from "./NetworkNotice";
import { useWallet, WalletProvider } from "./WalletProvider";

function WalletError() {
  const { error } = useWallet();
  return error ? <p>{error}</p> : null;
}

const CHAIN = {
  chainId: 31337,
  chainName: "gpurent local (Anvil)",
  rpcUrl: "http://127.0.0.1:8545",
  marketplace: "0x0000000000000000000000000000000000000001",
  token: { address: "0x0000000000000000000000000000000000000002", symbol: "GPU", decimals: 18 },
};

/** A wallet on mainnet that knows no gpurent chain until it is added. */
function fakeWallet(reject = false, allowed = false) {
  const calls: string[] = [];
  let chain = "0x1";
  const wallet: Eip1193Provider = {
    request: vi.fn(async ({ method }: RequestArguments) => {
      calls.push(method);
      if (reject) throw { code: 4001, message: "User rejected the request." };
      if (method === "eth_accounts") return allowed ? ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"] : [];
      if (method === "eth_requestAccounts") return ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"];
      if (method === "eth_chainId") return chain;
      if (method === "wallet_switchEthereumChain") throw { code: 4902, message: "Unrecognized chain" };
      if (method === "wallet_addEthereumChain") {
        chain = "0x7a69";
        return null;
      }
      throw new Error(`unexpected ${method}`);
    }),
  };
  return { wallet, calls };
}

beforeEach(() => {
  vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(CHAIN), { status: 200 })));
});
afterEach(() => vi.unstubAllGlobals());

function app(wallet: Eip1193Provider | null) {
  return render(
    <WalletProvider wallet={wallet}>
      <ConnectWallet />
      <NetworkNotice />
      <WalletError />
    </WalletProvider>,
  );
}

describe("connecting a wallet", () => {
  it("on another chain: says so, then adds and switches to the gpurent chain", async () => {
    const { wallet, calls } = fakeWallet();
    app(wallet);
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Connect wallet" })));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Wrong network: your wallet is on chain 1 (Ethereum Mainnet), but gpurent runs on chain 31337");
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Switch to gpurent local (Anvil)" })));
    await waitFor(() => expect(screen.queryByRole("alert")).toBeNull());
    expect(calls).toEqual(["eth_accounts", "eth_requestAccounts", "eth_chainId", "wallet_switchEthereumChain", "wallet_addEthereumChain", "eth_chainId"]);
    expect(screen.getByText("chain 31337 (gpurent local (Anvil))")).toBeTruthy();
  });
  it("stays disconnected when the request is rejected", async () => {
    const { wallet } = fakeWallet(true);
    app(wallet);
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Connect wallet" })));
    expect(screen.getByRole("button", { name: "Connect wallet" })).toBeTruthy();
    expect(screen.getByText("You rejected the request in your wallet.")).toBeTruthy();
  });
  it("a wallet that already allowed this site is connected without a prompt", async () => {
    const { wallet, calls } = fakeWallet(false, true);
    app(wallet);
    expect(await screen.findByLabelText("Connected account 0x70997970C51812dc3A010C7d01b50e0d17dc79C8")).toBeTruthy();
    expect(calls).not.toContain("eth_requestAccounts");
  });
  it("without any wallet: says what to install", async () => {
    app(null);
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Connect wallet" })));
    expect(screen.getByText(/No wallet found in this browser: install MetaMask/)).toBeTruthy();
  });
});
