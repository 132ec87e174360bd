export { OperatorPage } from "./OperatorPage";
