export { ProviderPage } from "./ProviderPage";
