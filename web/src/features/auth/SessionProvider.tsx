import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { errorText } from "../../lib/api";
import { browserProvider } from "../../lib/ethers";
import { walletErrorCode, WalletError } from "../../lib/eip1193";
import { checkChallenge, SiweError } from "../../lib/siwe";
import { useWallet } from "../wallet";
import { logIn, requestChallenge } from "./api";

export interface Session {
  token: string;
  address: string; // lower case, as the gateway has it
  expiresAt: number;
}

export interface SessionState {
  session: Session | null; // in memory only: a reload signs out
  busy: boolean;
  error: string | null;
  signIn(): Promise<void>;
  signOut(): void;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const { wallet, address, chain, onRightChain } = useWallet();
  const [session, setSession] = useState<Session | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // another account in the wallet, or none: the session was the old account's
  useEffect(() => {
    if (session && session.address !== address?.toLowerCase()) setSession(null);
  }, [address, session]);

  // the token expires (15 minutes at most): say so rather than fail the next request
  useEffect(() => {
    if (!session) return undefined;
    const left = session.expiresAt * 1000 - Date.now();
    const timer = window.setTimeout(() => {
      setSession(null);
      setError("Your session ended: sign in again.");
    }, Math.max(0, left));
    return () => window.clearTimeout(timer);
  }, [session]);

  const signIn = useCallback(async () => {
    if (!wallet || !address || !chain) return;
    if (!onRightChain) {
      setError(`Switch your wallet to ${chain.chainName} first.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const challenge = await requestChallenge(address);
      checkChallenge(challenge.message, {
        host: window.location.host,
        origin: window.location.origin,
        address,
        chainId: chain.chainId,
      });
      const signer = await (await browserProvider(wallet)).getSigner(address);
      let signature: string;
      try {
        signature = await signer.signMessage(challenge.message);
      } catch (err) {
        throw new WalletError(err);
      }
      const login = await logIn(challenge.message, signature);
      setSession({ token: login.token, address: login.address.toLowerCase(), expiresAt: login.expiresAt });
    } catch (err) {
      if (err instanceof WalletError && err.code === 4001) {
        setError("You declined to sign the sign-in message, so you are not signed in.");
      } else if (err instanceof WalletError || err instanceof SiweError) {
        setError(err.message);
      } else {
        setError(walletErrorCode(err) !== undefined ? new WalletError(err).message : `Sign-in failed: ${errorText(err)}`);
      }
    } finally {
      setBusy(false);
    }
  }, [wallet, address, chain, onRightChain]);

  const signOut = useCallback(() => {
    setSession(null);
    setError(null);
  }, []);

  const value = useMemo(() => ({ session, busy, error, signIn, signOut }), [session, busy, error, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const found = useContext(SessionContext);
  if (!found) throw new Error("useSession outside a SessionProvider");
  return found;
}
