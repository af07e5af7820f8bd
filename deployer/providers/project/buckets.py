"""A bucket's location, owner and IAM policy (Cloud Storage JSON API `buckets.get`,
`buckets.getIamPolicy`)."""

from __future__ import annotations

from typing import Any

from deployer.providers.errors import ProviderError
from deployer.providers.project.client import StorageJson

Json = dict[str, Any]


def bucket(client: StorageJson, name: str) -> Json | None:
    """The bucket resource, or None when it does not exist."""
    try:
        return client.execute(
            "", f"read bucket gs://{name}", lambda r: r.buckets().get(bucket=name)
        )
    except ProviderError as exc:
        if exc.not_found:
            return None
        raise


def iam_policy(client: StorageJson, name: str) -> Json:
    return client.execute(
        "",
        f"read the IAM policy of gs://{name}",
        lambda r: r.buckets().getIamPolicy(bucket=name, optionsRequestedPolicyVersion=3),
    )
