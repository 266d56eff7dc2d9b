"""Entry module of the Python gateway component.

componentize-py looks for the world's exports here by name: class `Model`
(interface `model`: step-batch) and class `Node` (its resource `node`).
The module must be called `model`, after the exported interface.
"""

from xedgesim_model.guest import export_model
from gateway import Gateway

Model, Node = export_model(Gateway)
