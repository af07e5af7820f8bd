"""Reading the live state: every model on each endpoint and each model's versions, normalized.

Listings run concurrently on a bounded thread pool: one task per endpoint lists its models (all
pages), and as each endpoint answers, one task per model lists its versions (all pages).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from deployer.core import ownership
from deployer.core.resources import ObservedResource, ResourceKey
from deployer.providers.discovery import all_pages
from deployer.providers.errors import ProviderError
from deployer.providers.mlengine import state
from deployer.providers.mlengine.client import MLClient, check_endpoint

PAGE_SIZE = 100


def list_models(client: MLClient, endpoint: str, page_size: int = PAGE_SIZE) -> list[dict]:
    """Every model body on `endpoint` (follows nextPageToken)."""
    where = f"list models on {endpoint} in project {client.project!r}"
    return all_pages(
        client,
        endpoint,
        where,
        "models",
        lambda r, token: (
            r.projects().models().list(parent=client.parent(), pageSize=page_size, pageToken=token)
        ),
    )


def list_versions(
    client: MLClient, endpoint: str, model: str, page_size: int = PAGE_SIZE
) -> list[dict]:
    """Every version body of `model` on `endpoint` (follows nextPageToken)."""
    key = ResourceKey(endpoint, model)
    return all_pages(
        client,
        endpoint,
        f"list versions of {key.address}",
        "versions",
        lambda r, token: (
            r.projects()
            .models()
            .versions()
            .list(parent=client.model_name(key), pageSize=page_size, pageToken=token)
        ),
    )


def _owned_by(body: dict, stack: str) -> bool:
    labels = body.get("labels") or {}
    return (
        labels.get(ownership.LABEL_MANAGED_BY) == ownership.LABEL_MANAGED_BY_VALUE
        and labels.get(ownership.LABEL_STACK) == stack
    )


def read_state(
    project: str,
    endpoints: Iterable[str],
    stack: str | None = None,
    parallelism: int = 8,
    *,
    client: MLClient | None = None,
    page_size: int = PAGE_SIZE,
) -> list[ObservedResource]:
    """Every model on each endpoint and its versions, normalized for the diff.

    With `stack`, versions are listed only for models that stack owns: the diff never looks at
    the versions of a model it ignores (or refuses to touch), so those calls are skipped. Every
    model is still returned. Sorted by endpoint, model, then versions by name.
    """
    client = client or MLClient(project)
    endpoints = list(dict.fromkeys(endpoints))
    for endpoint in endpoints:
        check_endpoint(endpoint)
    observed: list[ObservedResource] = []
    with ThreadPoolExecutor(max(1, parallelism), thread_name_prefix="ml-read") as pool:
        pending: dict[Future[Any], tuple[str, str | None]] = {
            pool.submit(list_models, client, endpoint, page_size): (endpoint, None)
            for endpoint in endpoints
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    endpoint, model = pending.pop(future)
                    if model is None:
                        for body in future.result():
                            resource = state.observe_model(endpoint, body)
                            observed.append(resource)
                            if stack is None or _owned_by(body, stack):
                                task = pool.submit(
                                    _versions_or_gone, client, endpoint, resource.key.model,
                                    page_size,
                                )  # fmt: skip
                                pending[task] = (endpoint, resource.key.model)
                    else:
                        bodies = future.result()
                        if bodies is None:  # the model went away between the two listings
                            observed = [
                                r for r in observed if r.key != ResourceKey(endpoint, model)
                            ]
                            continue
                        observed.extend(state.observe_version(endpoint, model, b) for b in bodies)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return sorted(observed, key=_order)


def _versions_or_gone(
    client: MLClient, endpoint: str, model: str, page_size: int
) -> list[dict] | None:
    try:
        return list_versions(client, endpoint, model, page_size)
    except ProviderError as exc:
        if exc.not_found:
            return None
        raise


def _order(resource: ObservedResource) -> tuple[str, str, bool, str]:
    key = resource.key
    return (key.endpoint, key.model, key.version is not None, key.version or "")
