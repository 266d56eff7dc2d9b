// Entry module of the component: exports interface `model` (world
// `node-model`) for the model class. See ../sdk-js/guest.js.
import { exportModel } from "./guest.js";
import { Gateway } from "./gateway.js";

export const model = exportModel(Gateway);
