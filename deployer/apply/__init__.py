"""Executing a Plan: the dependency graph with bounded concurrency, uploads, smoke tests, the
stack lock, progress, interruption. It reads the plan's action kinds and the provider's resource
model; it names no backend."""
