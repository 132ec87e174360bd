export { MarketplacePage } from "./MarketplacePage";
