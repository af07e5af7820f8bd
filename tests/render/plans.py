"""Plans built by hand for the renderer tests: every action kind, drift, ignored, problems."""

from __future__ import annotations

import os
from pathlib import Path

from deployer.core.plan import Action, ActionKind, FieldChange, Ignored, Plan, Route, note
from deployer.core.resources import ResourceKey

MODEL = ResourceKey("us-central1", "fashion_mnist")


def version(name: str, model: str = "fashion_mnist", endpoint: str = "us-central1") -> ResourceKey:
    return ResourceKey(endpoint, model, name)


def full_plan() -> Plan:
    """One action of every kind, a drifted update, an ignored model, a warning and an error."""
    return Plan(
        stack="prod",
        project="acme-ml",
        backend="mlengine",
        actions=(
            Action(
                "update:us-central1/fashion_mnist",
                ActionKind.UPDATE,
                MODEL,
                note("changed: description"),
                changes=(
                    FieldChange(
                        "description", "Fashion MNIST", "Fashion MNIST v2", mask="description"
                    ),
                ),
                desired={"description": "Fashion MNIST v2", "onlinePredictionLogging": False},
                labels={"managed-by": "deployer", "deployer-stack": "prod"},
                drift=True,
            ),
            Action(
                "create:us-central1/fashion_mnist/v3",
                ActionKind.CREATE,
                version("v3"),
                note("declared in manifests, not found live"),
                changes=(
                    FieldChange("deploymentUri", None, "gs://acme/fashion_mnist/abc123"),
                    FieldChange("autoScaling.minNodes", None, 0),
                    FieldChange("labels", None, {"team": "ml", "env": "prod"}),
                ),
                desired={
                    "deploymentUri": "gs://acme/fashion_mnist/abc123",
                    "autoScaling.minNodes": 0,
                    "autoScaling.metrics": [{"name": "CPU_USAGE", "target": 60}],
                    "acceleratorConfig": None,
                },
                labels={"team": "ml", "env": "prod"},
                artifact_source="models/fashion_mnist/v3",
            ),
            Action(
                "replace:us-central1/fashion_mnist/v2",
                ActionKind.DELETE_THEN_CREATE,
                version("v2"),
                note("replacement forced by: runtimeVersion"),
                changes=(
                    FieldChange("runtimeVersion", "2.8", "2.11", forces_replacement=True),
                    FieldChange("autoScaling.maxNodes", None, 4, mask="autoScaling.maxNodes"),
                ),
                desired={"runtimeVersion": "2.11", "autoScaling.maxNodes": 4},
                labels={},
                artifact_source="gs://acme/shared/v2",
            ),
            Action(
                "set-default:us-central1/fashion_mnist/v3",
                ActionKind.REROUTE,
                version("v3"),
                note("default version: v1 -> v3"),
                changes=(FieldChange("defaultVersion", "v1", "v3"),),
                depends_on=("create:us-central1/fashion_mnist/v3",),
                route=Route("defaultVersion", "default version"),
            ),
            Action(
                "delete:us-central1/fashion_mnist/v1",
                ActionKind.DELETE,
                version("v1"),
                note("managed live version is no longer declared"),
                depends_on=("set-default:us-central1/fashion_mnist/v3",),
            ),
            Action(
                "wait:global/iris/v7",
                ActionKind.WAIT,
                version("v7", model="iris", endpoint="global"),
                note("live version is UPDATING; apply waits until it settles"),
            ),
        ),
        ignored=(Ignored("europe-west1/legacy", "not managed by deployer"),),
        errors=("cannot delete us-central1/old/v1: it is the default version",),
        warnings=("global/iris/v7 is UPDATING: apply waits for it",),
        fingerprint="f" * 64,
        artifacts={"models/fashion_mnist/v3": "sha256:abc123", "gs://acme/shared/v2": "sha256:9"},
        artifacts_uri="gs://acme-artifacts",
    )


GOLDEN_DIR = Path(__file__).parent / "golden"


def golden(name: str, actual: str | None = None) -> str:
    """The golden file `name`; with UPDATE_GOLDEN=1 and `actual`, (re)write it first."""
    path = GOLDEN_DIR / name
    if actual is not None and os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    return path.read_text(encoding="utf-8")
