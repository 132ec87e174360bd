export { WalletProvider, useWallet, type WalletState } from "./WalletProvider";
export { ConnectWallet } from "./ConnectWallet";
export { NetworkNotice } from "./NetworkNotice";
export { chainLabel, type ChainInfo } from "./chain";
