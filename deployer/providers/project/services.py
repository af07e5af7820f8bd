"""Which APIs a project has enabled (Service Usage v1 `services.get`)."""

from __future__ import annotations

from deployer.providers.project.client import ServiceUsage


def service_state(client: ServiceUsage, service: str) -> str:
    """`ENABLED` or `DISABLED` (the `State` enum of the shipped `serviceusage.v1.json`)."""
    name = f"projects/{client.project}/services/{service}"
    body = client.execute(
        "",
        f"read the state of {service} in project {client.project!r}",
        lambda r: r.services().get(name=name),
    )
    return str(body.get("state") or "STATE_UNSPECIFIED")
