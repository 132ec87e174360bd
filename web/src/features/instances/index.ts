export { ConsolePage } from "./ConsolePage";
export { InstancesPage } from "./InstancesPage";
