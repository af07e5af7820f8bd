"""`deployer doctor`: before the first apply on a project, check in seconds what would otherwise
fail minutes into one, and say for each problem, in one line, how to fix it.

Checks (each a `Finding`): the credentials and whose they are; the backend's API and Cloud
Storage enabled; the caller's permissions for `plan` and for `apply` (testIamPermissions on the
project, and on the artifacts bucket for `storage.*`); the artifacts bucket exists, sits in each
declared region (or a multi- or dual-region holding it) and is readable by the serving agent;
and, on Vertex, that each region's free serving quota holds the stack at max replicas. The
checks run concurrently, after the credentials (without them nothing else can answer) and the
APIs (a disabled API skips the checks that need it: one problem, one line).

What each backend needs (API, permissions, roles, serving agent) is its `Backend.access`,
with its sources in the backend's catalog. A bucket of the project itself is readable by its
agent through the agent's project role [INF]; any other must grant it a reader role.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deployer.accounting.capabilities import Metered, ServingQuota
from deployer.accounting.footprint import Deployment, footprint
from deployer.accounting.quota import check_quota
from deployer.core.provider import Provider
from deployer.providers import registry

if TYPE_CHECKING:
    from deployer.core.stack import Stack
    from deployer.providers.project.client import ProjectClients

STORAGE_PLAN = ("storage.objects.get", "storage.objects.list")
STORAGE_APPLY = (*STORAGE_PLAN, "storage.objects.create", "storage.objects.delete")

STORAGE_API = ("storage.googleapis.com", "Cloud Storage API")
READER_ROLES = frozenset(
    {
        "roles/storage.objectViewer",
        "roles/storage.objectUser",
        "roles/storage.objectAdmin",
        "roles/storage.admin",
    }
)
"""Predefined roles holding storage.objects.get and .list on a bucket."""
EVERYONE = frozenset({"allUsers", "allAuthenticatedUsers"})
MULTI_REGIONS: dict[str, tuple[str, ...]] = {
    "US": ("us-",),
    "ASIA": ("asia-",),
    "EU": tuple(
        f"{r}"
        for r in (
            "europe-central2",
            "europe-north1",
            "europe-north2",
            "europe-southwest1",
            "europe-west1",
            "europe-west3",
            "europe-west4",
            "europe-west8",
            "europe-west9",
            "europe-west10",
            "europe-west12",
        )
    ),
}
"""Cloud Storage multi-regions and the regions they hold (storage/docs/locations) [INF: a
model in a region the multi-region holds reads from it as from a regional bucket]."""
DUAL_REGIONS: dict[str, frozenset[str]] = {
    "ASIA1": frozenset({"asia-northeast1", "asia-northeast2"}),
    "EUR4": frozenset({"europe-north1", "europe-west4"}),
    "EUR5": frozenset({"europe-west1", "europe-west2"}),
    "EUR7": frozenset({"europe-west2", "europe-west3"}),
    "EUR8": frozenset({"europe-west3", "europe-west6"}),
    "NAM4": frozenset({"us-central1", "us-east1"}),
}


@dataclass(frozen=True)
class Finding:
    """One check's outcome: what holds, or what is wrong and how to fix it."""

    check: str
    ok: bool
    text: str
    fix: str = ""
    skipped: bool = False

    def line(self) -> str:
        if self.skipped:
            return f"skip  {self.text}"
        if self.ok:
            return f"ok    {self.text}"
        return f"FAIL  {self.text}" + (f"; fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Report:
    project: str
    backend: str
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.ok)

    @property
    def ok(self) -> bool:
        return not self.problems


def _skip(check: str, why: str) -> Finding:
    return Finding(check, True, why, skipped=True)


def bucket_of(artifacts: str) -> str:
    return artifacts.removeprefix("gs://").split("/", 1)[0]


def holds_region(bucket: dict[str, Any], region: str) -> bool:
    """Whether a bucket's location is `region` or a multi- or dual-region holding it."""
    location = str(bucket.get("location", "")).upper()
    if location == region.upper():
        return True
    placement = (bucket.get("customPlacementConfig") or {}).get("dataLocations") or []
    if placement:
        return region.lower() in {str(p).lower() for p in placement}
    if location in MULTI_REGIONS:
        return region.startswith(MULTI_REGIONS[location])
    return region in DUAL_REGIONS.get(location, frozenset())


def agent_can_read(policy: dict[str, Any], agent: str) -> bool:
    """Whether the bucket policy grants `agent` a reader role without a condition."""
    for binding in policy.get("bindings") or []:
        if binding.get("condition") or binding.get("role") not in READER_ROLES:
            continue
        members = set(binding.get("members") or [])
        if f"serviceAccount:{agent}" in members or members & EVERYONE:
            return True
    return False


class _AnyDigest(Mapping[str, str]):
    """Artifact digests for a desired state that is only counted: what the manifests deploy
    does not depend on the artifacts' bytes, so none is hashed."""

    def __getitem__(self, source: str) -> str:
        return "0" * 64

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def declared_deployments(stack: Stack, provider: Provider) -> list[Deployment]:
    """What the manifests deploy, with the backend's defaults (machine, replica counts), as
    the provider reads its own desired resources (nothing for a backend that runs none)."""
    if not isinstance(provider, Metered):
        return []
    found = (provider.deployment(r.key, r.fields) for r in provider.desired(stack, _AnyDigest()))
    return [d for d in found if d is not None]


class Doctor:
    """The checks of one stack against its project; `clients` are the project-level API
    clients, `vertex` a Vertex client factory (for what endpoints deploy)."""

    def __init__(
        self,
        stack: Stack,
        clients: ProjectClients,
        emulator: str | None,
        provider: Provider,
    ) -> None:
        self.stack = stack
        self.project = stack.project
        self.access = registry.backend(stack.backend).access
        self.clients = clients
        self.emulator = emulator
        self.provider = provider
        self.bucket = bucket_of(stack.settings.artifacts)
        self.identity = ""
        self.disabled: set[str] = set()
        """APIs found disabled: the checks that need them are skipped, not failed twice."""

    # ---- the checks ------------------------------------------------------------------------

    def credentials(self) -> list[Finding]:
        if self.emulator:
            from deployer.providers import credentials as shared

            self.identity = "anonymous"
            try:
                shared.check_reachable(self.emulator, "the local twin")
            except shared.EnvironmentProblem as exc:
                return [
                    Finding(
                        "credentials",
                        False,
                        str(exc),
                        "start it with `deployer emulator`, or unset AIPLATFORM_EMULATOR_HOST "
                        "to check the real project",
                    )
                ]
            return [
                Finding(
                    "credentials",
                    True,
                    f"credentials: anonymous, against the local twin at {self.emulator} "
                    "(AIPLATFORM_EMULATOR_HOST)",
                )
            ]
        from deployer.providers import credentials as shared
        from deployer.providers.project.identity import identity

        try:
            creds = shared.google_credentials()
        except shared.EnvironmentProblem as exc:
            return [Finding("credentials", False, f"credentials: {exc}")]
        self.identity = identity(creds)
        how = (
            f"from {shared.CREDENTIALS_ENV}"
            if os.environ.get(shared.CREDENTIALS_ENV)
            else "application default credentials"
        )
        return [Finding("credentials", True, f"credentials: {self.identity} ({how})")]

    def apis(self) -> list[Finding]:
        from deployer.providers.errors import ProviderError
        from deployer.providers.project.services import service_state

        findings = []
        for service, title in ((self.access.api, self.access.api_title), STORAGE_API):
            try:
                state = service_state(self.clients.services, service)
            except ProviderError as exc:
                findings.append(
                    Finding(
                        "api", False, f"cannot tell whether {title} ({service}) is enabled: {exc}"
                    )
                )
                continue
            if state == "ENABLED":
                findings.append(Finding("api", True, f"{title} ({service}) is enabled"))
            else:
                self.disabled.add(service)
                findings.append(
                    Finding(
                        "api",
                        False,
                        f"{title} ({service}) is {state.lower()} in project {self.project}",
                        f"gcloud services enable {service} --project {self.project}",
                    )
                )
        return findings

    def _member(self) -> str:
        who = self.identity
        if "@" not in who:
            return "MEMBER"
        kind = "serviceAccount" if who.endswith("gserviceaccount.com") else "user"
        return f"{kind}:{who}"

    def permissions(self) -> list[Finding]:
        from deployer.providers.errors import ProviderError
        from deployer.providers.project.iam import missing_on_project

        smoke = any(v.smoke_test for m in self.stack.models for v in m.spec.versions)
        extra = (self.access.predict,) if smoke else ()
        wanted = {*self.access.apply, *extra}
        try:
            missing = set(missing_on_project(self.clients.projects, sorted(wanted)))
        except ProviderError as exc:
            return [Finding("permissions", False, f"cannot test the caller's permissions: {exc}")]
        findings = []
        for phase in ("plan", "apply"):
            perms, role = (
                (self.access.plan, self.access.plan_role)
                if phase == "plan"
                else (self.access.apply, self.access.apply_role)
            )
            lacking = sorted(missing & {*perms, *(extra if phase == "apply" else ())})
            if not lacking:
                findings.append(
                    Finding(
                        "permissions",
                        True,
                        f"permissions for `deployer {phase}` on project {self.project}",
                    )
                )
                continue
            findings.append(
                Finding(
                    "permissions",
                    False,
                    f"missing permission{'s' if len(lacking) > 1 else ''} for `deployer {phase}` "
                    f"on project {self.project}: {', '.join(lacking)}",
                    f"gcloud projects add-iam-policy-binding {self.project} "
                    f"--member={self._member()} --role={role}",
                )
            )
        return findings

    def bucket_checks(self) -> list[Finding]:
        from deployer.providers.errors import ProviderError
        from deployer.providers.project import buckets

        if STORAGE_API[0] in self.disabled:
            return [_skip("bucket", f"artifacts bucket checks: {STORAGE_API[1]} is disabled")]
        storage = self.clients.storage
        name, where = self.bucket, f"artifacts bucket gs://{self.bucket}"
        regions = [r for r in self.stack.regions() if r != "global"] or [self.stack.settings.region]
        try:
            found = buckets.bucket(storage, name)
        except ProviderError as exc:
            return [Finding("bucket", False, f"cannot read {where}: {exc}")]
        if found is None:
            return [
                Finding(
                    "bucket",
                    False,
                    f"{where} does not exist",
                    f"gcloud storage buckets create gs://{name} --project {self.project} "
                    f"--location {regions[0]} (or point `artifacts:` in deployer.yaml at one)",
                )
            ]
        findings = []
        location = str(found.get("location", "?"))
        for region in regions:
            if holds_region(found, region):
                findings.append(Finding("bucket", True, f"{where} ({location}) holds {region}"))
            else:
                findings.append(
                    Finding(
                        "bucket",
                        False,
                        f"{where} is in {location}, not in {region} where models are served",
                        f"use a bucket in {region} (gcloud storage buckets create gs://NAME "
                        f"--location {region}) and point `artifacts:` in deployer.yaml at it",
                    )
                )
        findings.extend(self._storage_permissions())
        findings.append(self._agent_reads(found))
        return findings

    def _storage_permissions(self) -> list[Finding]:
        from deployer.providers.errors import ProviderError
        from deployer.providers.project.iam import missing_on_bucket

        try:
            missing = set(missing_on_bucket(self.clients.storage, self.bucket, STORAGE_APPLY))
        except ProviderError as exc:
            return [Finding("permissions", False, f"cannot test permissions on the bucket: {exc}")]
        findings = []
        for phase, perms, role in (
            ("plan", STORAGE_PLAN, "roles/storage.objectViewer"),
            ("apply", STORAGE_APPLY, "roles/storage.objectAdmin"),
        ):
            lacking = sorted(missing & set(perms))
            if lacking:
                findings.append(
                    Finding(
                        "permissions",
                        False,
                        f"missing permission{'s' if len(lacking) > 1 else ''} for "
                        f"`deployer {phase}` on gs://{self.bucket}: {', '.join(lacking)}",
                        f"gcloud storage buckets add-iam-policy-binding gs://{self.bucket} "
                        f"--member={self._member()} --role={role}",
                    )
                )
        if not missing:
            findings.append(
                Finding(
                    "permissions", True, f"permissions for plan and apply on gs://{self.bucket}"
                )
            )
        return findings

    def _agent_reads(self, found: dict[str, Any]) -> Finding:
        from deployer.providers.errors import ProviderError
        from deployer.providers.project import buckets, iam

        try:
            number = iam.project_number(self.clients.projects)
            policy = buckets.iam_policy(self.clients.storage, self.bucket)
        except ProviderError as exc:
            return Finding("bucket", False, f"cannot tell who may read gs://{self.bucket}: {exc}")
        agent = self.access.agent.format(number=number)
        if agent_can_read(policy, agent):
            return Finding("bucket", True, f"the serving agent {agent} may read gs://{self.bucket}")
        if str(found.get("projectNumber", "")) == number:
            return Finding(
                "bucket",
                True,
                f"gs://{self.bucket} belongs to project {self.project}: its serving agent reads it",
            )
        return Finding(
            "bucket",
            False,
            f"the serving agent {agent} cannot read gs://{self.bucket} (the bucket belongs to "
            f"project number {found.get('projectNumber', '?')}, not {number}, and grants it no "
            "reader role)",
            f"gcloud storage buckets add-iam-policy-binding gs://{self.bucket} "
            f"--member=serviceAccount:{agent} --role=roles/storage.objectViewer",
        )

    def quotas(self) -> list[Finding]:
        """Per region, the free serving quota against the stack at max replicas (on a backend
        whose service charges one: `ServingQuota`)."""
        if not isinstance(self.provider, ServingQuota):
            return []
        if self.access.api in self.disabled:
            return [_skip("quota", f"serving quota checks: {self.access.api_title} is disabled")]
        from deployer.providers.errors import ProviderError

        regions = list(self.stack.regions())
        wanted = footprint([], declared_deployments(self.stack, self.provider))
        try:
            reading = self.provider.serving_quota(regions, self.stack.name)
        except ProviderError as exc:
            return [Finding("quota", False, f"cannot read the serving quotas: {exc}")]
        peaks = {r: f.after.at_max for r, f in wanted.regions.items()}
        findings = []
        for check in check_quota(
            peaks, self.provider.quota_demands, reading.limits, reading.used_by_others
        ):
            if check.ok:
                free = "unlimited" if check.free is None else f"{check.free:g} free"
                findings.append(
                    Finding(
                        "quota",
                        True,
                        f"quota {check.short_metric} in {check.region}: {free}, the stack needs "
                        f"at most {check.asked:g}",
                    )
                )
            else:
                problem = check.problem("the stack needs", "at max replicas")
                findings.append(Finding("quota", False, problem, check.fix()))
        return findings

    # ---- all of them -----------------------------------------------------------------------

    def run(self) -> Report:
        first = self.credentials()
        if not all(f.ok for f in first):
            return Report(self.project, self.stack.backend, tuple(first))
        findings = [*first, *self.apis()]
        checks = (self.permissions, self.bucket_checks, self.quotas)
        with ThreadPoolExecutor(max_workers=len(checks)) as pool:
            results = [pool.submit(check) for check in checks]
            for result in results:
                findings.extend(result.result())
        return Report(self.project, self.stack.backend, tuple(findings))


def diagnose(stack: Stack) -> Report:
    """Run every check of `stack` against its project (the twin with AIPLATFORM_EMULATOR_HOST)."""
    from deployer.providers import registry
    from deployer.providers.discovery import emulator_host
    from deployer.providers.project.client import project_clients

    emulator = emulator_host()
    clients = project_clients(stack.project, emulator=emulator)
    provider = registry.backend(stack.backend).provider(stack.project)
    return Doctor(stack, clients, emulator, provider).run()
