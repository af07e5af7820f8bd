"""What a backend hands the rest of deployer: its name, where it lives, how it checks manifests,
its resource model, and how to build its provider.

Each package under `deployer/providers/` declares one `Backend` as `BACKEND` in its
`__init__.py`; `deployer.providers.registry` finds them, so adding a backend adds a folder
there and nothing else. A `Backend` is cheap to import: its provider (and the Google clients
behind it) is built on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from deployer.core.diagnostics import Checker, PathKey
from deployer.core.manifest import Settings, VersionSpec
from deployer.core.model import ResourceModel
from deployer.core.provider import Provider
from deployer.core.stack import DeclaredModel


class ManifestRules(Protocol):
    """What a backend checks in manifests beyond what every backend agrees on, each problem
    reported at its position so `validate` fails before any API call."""

    def region_problem(self, region: str) -> str | None:
        """Why `region` is not one of this backend's locations, or None when it is."""
        ...

    def check_model(self, c: Checker, base: PathKey, model: DeclaredModel) -> None: ...

    def check_version(
        self, c: Checker, path: PathKey, model: DeclaredModel, version: VersionSpec
    ) -> None: ...

    def check_settings(self, c: Checker, settings: Settings) -> None:
        """Rules of the settings file (keys only this backend has, or refuses)."""
        ...

    def check_stack(
        self,
        models: Sequence[DeclaredModel],
        checker: Callable[[DeclaredModel], Checker],
        settings: Settings | None,
    ) -> None:
        """Rules across models (one resource two models would share) and between models and
        the settings (None when deployer.yaml did not validate); `checker(model)` reports in
        that model's file."""
        ...


@dataclass(frozen=True)
class ProjectAccess:
    """What a project must grant for a backend to work there, as `deployer doctor` checks it:
    the API to enable, the permissions (with the predefined role holding them) that `plan` and
    `apply` need, the one smoke tests add, and the serving agent that reads artifacts."""

    api: str
    api_title: str
    plan: tuple[str, ...]
    plan_role: str
    apply: tuple[str, ...]
    apply_role: str
    predict: str
    agent: str
    """The serving agent's e-mail, `{number}` standing for the project number."""


@dataclass(frozen=True)
class ArtifactLimits:
    """What the service accepts of one version's artifact."""

    size: int
    size_owner: str
    """Who imposes the size limit, e.g. "machine type mls1-c1-m2"; named in the message."""
    files: int | None
    size_fix: str = ""
    one_model_file: str = ""
    """The service whose prebuilt scikit-learn/XGBoost server loads exactly one model file
    ("" when any number is fine)."""


@dataclass(frozen=True)
class Backend:
    name: str
    title: str
    """What it is, for people: "Vertex AI (aiplatform v1)"."""
    locations: tuple[str, ...]
    """Every location a stack may have resources in: a plan reads them all, so a model
    dropped from every manifest is still deleted."""
    rules: ManifestRules
    resources: ResourceModel
    provider: Callable[[str], Provider]
    """The provider for one project (built on demand: it brings the Google clients)."""
    access: ProjectAccess
    artifact_limits: Callable[[DeclaredModel, VersionSpec], ArtifactLimits]
    """The tightest limits on a version's artifact, over every machine it runs on."""
    key_name: Callable[[str], str] = str
    """How a manifest version name appears in resource keys (a registry alias on Vertex)."""
    default: bool = False
    """The backend of a stack that names none."""
    accelerators: tuple[str, ...] = ()
    """GPU types a manifest may name (editors complete them from `deployer schema`)."""
