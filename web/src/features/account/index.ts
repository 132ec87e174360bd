export { WalletPage } from "./WalletPage";
export { ReceiptPage, ReceiptView } from "./Receipt";
