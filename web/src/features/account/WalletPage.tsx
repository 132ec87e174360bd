import { useSession } from "../auth";
import { useWallet } from "../wallet";
import { Balances } from "./Balances";
import { History } from "./History";

/** The signed-in address's balances and history; what to do first when not signed in. */
export function WalletPage() {
  const { address } = useWallet();
  const { session } = useSession();
  return (
    <section aria-labelledby="wallet-title">
      <h1 id="wallet-title">Wallet</h1>
      {!session ? (
        <p>{address ? "Sign in to see your balances and history." : "Connect your wallet, then sign in, to see your balances and history."}</p>
      ) : (
        <>
          <Balances session={session} />
          <History session={session} />
        </>
      )}
    </section>
  );
}
