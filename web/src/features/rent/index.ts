export { RentPage } from "./RentPage";
