export { ImagesPage } from "./ImagesPage";
