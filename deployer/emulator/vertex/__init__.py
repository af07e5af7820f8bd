"""The Vertex AI (`aiplatform` v1) half of the twin: same port, store, worker and knobs as `ml`
v1, under `/v1/projects/P/locations/L/...` (docs/emulator.md says what it does and why)."""
