"""deployer: declarative deployments of ML model versions on Google Cloud."""

__version__ = "0.1.0"
