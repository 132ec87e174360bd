import { chainLabel } from "./chain";
import { useWallet } from "./WalletProvider";

/** When the connected wallet is on another chain: says so in plain words, offers the switch. */
export function NetworkNotice() {
  const { address, chainId, chain, onRightChain, busy, switchChain } = useWallet();
  if (!address || !chain || chainId === null || onRightChain) return null;
  return (
    <div className="notice warning" role="alert">
      <p>
        Wrong network: your wallet is on {chainLabel(chainId)}, but gpurent runs on {chainLabel(chain.chainId, chain)}.
        Switch networks to sign in and rent.
      </p>
      <button type="button" className="primary" onClick={() => void switchChain()} disabled={busy}>
        Switch to {chain.chainName}
      </button>
    </div>
  );
}
