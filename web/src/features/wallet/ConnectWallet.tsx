import { shortAddress } from "../../lib/format";
import { chainLabel } from "./chain";
import { useWallet } from "./WalletProvider";

/** The header's wallet control: connect, or the connected account and its chain. */
export function ConnectWallet() {
  const { address, chainId, chain, busy, connect, disconnect } = useWallet();
  if (!address) {
    return (
      <button type="button" className="primary" onClick={() => void connect()} disabled={busy}>
        {busy ? "Connecting…" : "Connect wallet"}
      </button>
    );
  }
  return (
    <div className="wallet-status">
      <span className="account" role="status" title={address} aria-label={`Connected account ${address}`}>
        {shortAddress(address)}
      </span>
      {chainId !== null && <span className="chain">{chainLabel(chainId, chain)}</span>}
      <button type="button" onClick={disconnect}>
        Disconnect
      </button>
    </div>
  );
}
