// The gpurent chain, as the gateway describes it (GET /api/v1/chain): one place for the chain
// config the wallet is asked to add or switch to.
import { apiGet } from "../../lib/api";

export interface ChainInfo {
  chainId: number;
  chainName: string;
  rpcUrl: string | null;
  marketplace: string;
  token: { address: string; symbol: string; decimals: number };
}

export function fetchChain(signal?: AbortSignal): Promise<ChainInfo> {
  return apiGet<ChainInfo>("/chain", { signal });
}

export function hexChainId(chainId: number): string {
  return `0x${chainId.toString(16)}`;
}

/** The wallet_addEthereumChain parameters (EIP-3085) for this chain. */
export function addChainParams(chain: ChainInfo): Record<string, unknown> {
  if (!chain.rpcUrl) throw new Error(`This gateway names no RPC URL: add chain ${chain.chainId} to your wallet by hand.`);
  return {
    chainId: hexChainId(chain.chainId),
    chainName: chain.chainName,
    rpcUrls: [chain.rpcUrl],
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  };
}

const KNOWN: Record<number, string> = {
  1: "Ethereum Mainnet",
  10: "OP Mainnet",
  137: "Polygon",
  8453: "Base",
  42161: "Arbitrum One",
  11155111: "Sepolia",
};

/** "chain 1 (Ethereum Mainnet)" */
export function chainLabel(chainId: number, chain?: ChainInfo | null): string {
  const name = chain && chain.chainId === chainId ? chain.chainName : KNOWN[chainId];
  return name ? `chain ${chainId} (${name})` : `chain ${chainId}`;
}
