// Entry module of the component: exports interface `model` (world
// `node-model`) for the model class.
import { exportModel } from "./guest.js";
import { {{type}} } from "./{{module}}.js";

export const model = exportModel({{type}});
