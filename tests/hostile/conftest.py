"""The hostile-input suite: each module is one class of input a user (or a script, or a broken
environment) can throw at deployer. Every case asserts a clear one-line error, a non-zero exit
code, no traceback, no hang, and that nothing was lost. Reuses the CLI tests' repositories."""

from __future__ import annotations

from cli.conftest import live, make_repo, pristine, repo  # noqa: F401
