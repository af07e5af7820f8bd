"""Manifests: YAML with positions, the schema, variables, validation rules, and the loaded Stack.

Knows nothing about the cloud beyond the service facts in `deployer.catalog`.
"""

from deployer.config.diagnostics import Diagnostic, ManifestError
from deployer.config.loader import load_stack
from deployer.config.stack import DeclaredModel, Stack

__all__ = ["DeclaredModel", "Diagnostic", "ManifestError", "Stack", "load_stack"]
