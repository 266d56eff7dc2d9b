// Entry module of the JS gateway component (world `node-model`). It binds the
// SDK to the imported interfaces and exports interface `model` ({Node,
// stepBatch}). The same file builds with componentize-js (jco) and
// componentize-qjs: the imports are read through namespace objects, since
// jco provides named exports and componentize-qjs a default export.

import * as outboxNs from "xedgesim:node/outbox@0.2.0";
import * as sandboxNs from "xedgesim:node/sandbox@0.2.0";
import * as logNs from "xedgesim:node/log@0.2.0";
import { exportModel, setLog } from "./xedgesim_model.js";
import { Gateway } from "./gateway.js";

// componentize-qjs gives each imported interface as a default export (and
// named ones); componentize-js only named ones. That tells them apart.
const qjs = outboxNs.default !== undefined;
const iface = (ns) => (qjs ? ns.default : ns);

setLog(iface(logNs));
export const model = exportModel(Gateway, {
  outbox: iface(outboxNs),
  sandbox: iface(sandboxNs),
  taggedConstructorResult: qjs,
});
