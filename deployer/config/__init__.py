"""Manifests: YAML with positions, variables, and the rules every backend shares.

A backend's own rules come in as hooks (`deployer.core.backend.ManifestRules`): this package
knows no backend. `deployer.stacks.load_stack` loads a stack with every known backend's rules.
"""
