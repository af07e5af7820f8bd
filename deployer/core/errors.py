"""Errors a user can cause: the CLI prints them as one line and exits non-zero, no traceback."""

from __future__ import annotations


class DeployerError(Exception):
    """A failure the user can act on; `str()` is the one line the CLI prints."""

    exit_code = 1
    prefix = "Error: "


class UsageError(DeployerError):
    """Bad command-line arguments (a flag value, a missing file)."""


class OptionError(UsageError):
    """A bad command-line option value: exit 2, as the argument parser's own usage errors."""

    exit_code = 2


class AdoptionError(DeployerError):
    """`deployer import` cannot adopt what it was asked to (not found, another stack's, a shape
    the manifests cannot declare)."""
