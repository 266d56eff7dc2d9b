// Entry module of the component: exports interface `model` (world
// `node-model`) for the model class. See ./guest.js (a copy of
// ../sdk-js/guest.js, as `xedgesim new` writes one into a model's folder).
import { exportModel } from "./guest.js";
import { Gateway } from "./gateway.js";

export const model = exportModel(Gateway);
