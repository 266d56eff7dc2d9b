"""Entry module of the component. componentize-py looks for the world's
exports here by name (class `Model` for interface `model`, class `Node`
for its resource), so the module is called `model`."""

from xedgesim_model.guest import export_model
from {{module}} import {{type}}

Model, Node = export_model({{type}})
