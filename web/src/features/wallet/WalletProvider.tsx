import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { injectedWallet, walletErrorCode, WalletError, type Eip1193Provider } from "../../lib/eip1193";
import { errorText } from "../../lib/api";
import { addChainParams, fetchChain, hexChainId, type ChainInfo } from "./chain";

export interface WalletState {
  wallet: Eip1193Provider | null; // null: no injected wallet in this browser
  chain: ChainInfo | null; // the gpurent chain, from the gateway
  address: string | null;
  chainId: number | null; // the wallet's current chain
  busy: boolean;
  error: string | null;
  onRightChain: boolean;
  connect(): Promise<void>;
  switchChain(): Promise<void>;
  disconnect(): void;
}

const WalletContext = createContext<WalletState | null>(null);

function parseChainId(value: unknown): number | null {
  if (typeof value === "string") return Number.parseInt(value, value.startsWith("0x") ? 16 : 10);
  return typeof value === "number" ? value : null;
}

function firstAccount(value: unknown): string | null {
  return Array.isArray(value) && typeof value[0] === "string" ? value[0] : null;
}

/** Our own errors as they are; the wallet's (they carry a code) in plain words. */
function describe(err: unknown): string {
  return walletErrorCode(err) === undefined && err instanceof Error ? err.message : new WalletError(err).message;
}

export function WalletProvider({ children, wallet = injectedWallet() }: { children: ReactNode; wallet?: Eip1193Provider | null }) {
  const [chain, setChain] = useState<ChainInfo | null>(null);
  const [address, setAddress] = useState<string | null>(null);
  const [chainId, setChainId] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    fetchChain(abort.signal).then(setChain, (err: unknown) => {
      if (!abort.signal.aborted) setError(`The gateway did not say which chain it runs on: ${errorText(err)}`);
    });
    return () => abort.abort();
  }, []);

  // a wallet that already allowed this site (MetaMask remembers): connected without a prompt
  useEffect(() => {
    if (!wallet) return undefined;
    let live = true;
    (async () => {
      const account = firstAccount(await wallet.request({ method: "eth_accounts" }));
      if (!live || !account) return;
      const id = parseChainId(await wallet.request({ method: "eth_chainId" }));
      if (!live) return;
      setAddress(account);
      setChainId(id);
    })().catch(() => undefined); // nothing allowed yet: the Connect button asks
    return () => {
      live = false;
    };
  }, [wallet]);

  useEffect(() => {
    if (!wallet?.on) return undefined;
    const onAccounts = (accounts: unknown) => setAddress(firstAccount(accounts));
    const onChain = (id: unknown) => setChainId(parseChainId(id));
    wallet.on("accountsChanged", onAccounts);
    wallet.on("chainChanged", onChain);
    return () => {
      wallet.removeListener?.("accountsChanged", onAccounts);
      wallet.removeListener?.("chainChanged", onChain);
    };
  }, [wallet]);

  const connect = useCallback(async () => {
    if (!wallet) {
      setError("No wallet found in this browser: install MetaMask (or another Ethereum wallet) and reload.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const accounts = await wallet.request({ method: "eth_requestAccounts" });
      const account = firstAccount(accounts);
      if (!account) throw new Error("Your wallet shared no account.");
      setAddress(account);
      setChainId(parseChainId(await wallet.request({ method: "eth_chainId" })));
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }, [wallet]);

  const switchChain = useCallback(async () => {
    if (!wallet || !chain) return;
    setBusy(true);
    setError(null);
    try {
      try {
        await wallet.request({ method: "wallet_switchEthereumChain", params: [{ chainId: hexChainId(chain.chainId) }] });
      } catch (err) {
        if (walletErrorCode(err) !== 4902) throw err;
        await wallet.request({ method: "wallet_addEthereumChain", params: [addChainParams(chain)] });
      }
      setChainId(parseChainId(await wallet.request({ method: "eth_chainId" })));
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }, [wallet, chain]);

  const disconnect = useCallback(() => {
    setAddress(null);
    setChainId(null);
    setError(null);
  }, []);

  const value = useMemo<WalletState>(
    () => ({
      wallet,
      chain,
      address,
      chainId,
      busy,
      error,
      onRightChain: chain !== null && chainId === chain.chainId,
      connect,
      switchChain,
      disconnect,
    }),
    [wallet, chain, address, chainId, busy, error, connect, switchChain, disconnect],
  );
  return <WalletContext.Provider value={value}>{children}</WalletContext.Provider>;
}

export function useWallet(): WalletState {
  const found = useContext(WalletContext);
  if (!found) throw new Error("useWallet outside a WalletProvider");
  return found;
}
