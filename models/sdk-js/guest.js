// The component side of the JavaScript SDK: binds xedgesim_model.js to the
// interfaces the component imports. Only a component build has these
// modules (build.sh stages this file beside the model's), so the rest of
// the SDK stays importable by plain Node.js, for a model's own tests.
//
// A model's entry module, model.js, is then two imports and one line:
//
//   import { exportModel } from "./guest.js";
//   import { Gateway } from "./gateway.js";
//   export const model = exportModel(Gateway);

import * as outboxNs from "xedgesim:node/outbox@0.2.0";
import * as sandboxNs from "xedgesim:node/sandbox@0.2.0";
import * as logNs from "xedgesim:node/log@0.2.0";
import * as randomNs from "wasi:random/random@0.2.12";
import { exportModel as bind, setLog } from "./xedgesim_model.js";

// componentize-qjs gives each imported interface as a default export (and
// named ones); componentize-js only named ones. That tells them apart.
const qjs = outboxNs.default !== undefined;
const iface = (ns) => (qjs ? ns.default : ns);

setLog(iface(logNs));

/** The value to export as interface `model` for the model class `ModelClass`. */
export function exportModel(ModelClass) {
  return bind(ModelClass, {
    outbox: iface(outboxNs),
    sandbox: iface(sandboxNs),
    random: iface(randomNs),
    taggedConstructorResult: qjs,
  });
}
