import { useWallet } from "../wallet";
import { useSession } from "./SessionProvider";

/** Sign in with the connected wallet (EIP-4361), or the signed-in state. */
export function SignIn() {
  const { address, onRightChain } = useWallet();
  const { session, busy, signIn, signOut } = useSession();
  if (!address) return null;
  if (session) {
    return (
      <div className="session">
        <span className="signed-in">Signed in</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </div>
    );
  }
  return (
    <button type="button" className="primary" onClick={() => void signIn()} disabled={busy || !onRightChain}>
      {busy ? "Check your wallet…" : "Sign in"}
    </button>
  );
}
