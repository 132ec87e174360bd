import { useEffect, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { errorText, isAbort } from "../../lib/api";
import { browserProvider } from "../../lib/ethers";
import { formatAmount, formatTokens, fromBaseUnits } from "../../lib/format";
import type { Session } from "../auth";
import { useWallet } from "../wallet";
import { fetchBalances, type Balances as BalanceData } from "./api";

/** Tokens and earnings (from the gateway) and the ether for gas (from the wallet's chain). */
export function Balances({ session }: { session: Session }) {
  const { wallet, chain } = useWallet();
  const [data, setData] = useState<BalanceData | null>(null);
  const [gas, setGas] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    fetchBalances(session.token, abort.signal).then(setData, (err: unknown) => {
      if (!isAbort(err)) setError(`Could not read your balances: ${errorText(err)}`);
    });
    return () => abort.abort();
  }, [session.token]);

  useEffect(() => {
    if (!wallet) return;
    let live = true;
    browserProvider(wallet).then((provider) => provider.getBalance(session.address)).then(
      (wei) => live && setGas(fromBaseUnits(wei, 18)),
      () => live && setGas(null),
    );
    return () => {
      live = false;
    };
  }, [wallet, session.address]);

  const symbol = chain?.token.symbol ?? "GPU";
  return (
    <section aria-labelledby="balances-title">
      <h2 id="balances-title">Balances</h2>
      <ErrorLine error={error} />
      <dl className="balances">
        <div><dt>Tokens</dt><dd>{data ? formatTokens(data.tokens, symbol) : "…"}</dd></div>
        <div><dt>Provider earnings to withdraw</dt><dd>{data ? formatTokens(data.earnings, symbol) : "…"}</dd></div>
        <div><dt>Ether for gas</dt><dd>{gas === null ? "—" : `${formatAmount(gas)} ETH`}</dd></div>
      </dl>
    </section>
  );
}
