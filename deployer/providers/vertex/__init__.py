"""The `vertex` backend: Vertex AI (`aiplatform` v1) Model Registry, endpoints and deployments."""
