"""The neutral vocabulary every layer shares: addresses and resources, the resource model a
provider declares, the Plan, ownership labels, the manifest format, errors.

It imports nothing else from deployer, and names no backend (docs/architecture.md).
"""
