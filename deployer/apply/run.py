"""One apply or destroy run: lock the stack, check a saved plan is still current, upload
artifacts, execute, and report. The CLI calls `run_plan` after deciding what to run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.apply.executor import Events, Outcome, Status, Stop, execute
from deployer.apply.progress import LiveProgress, upload_text
from deployer.artifacts.gcs import GcsUri
from deployer.core import ownership
from deployer.core.errors import DeployerError
from deployer.core.layout import destination
from deployer.core.plan import Action, ActionKind, Plan
from deployer.core.provider import Provider
from deployer.core.resources import ObservedResource, ResourceKey

REPLACES = (ActionKind.DELETE_THEN_CREATE, ActionKind.CREATE_THEN_DELETE)


class StalePlanError(DeployerError):
    pass


class OwnershipError(DeployerError):
    pass


@dataclass(frozen=True)
class Report:
    outcomes: tuple[Outcome, ...]

    @property
    def interrupted(self) -> tuple[Outcome, ...]:
        from deployer.apply.executor import INTERRUPTED

        return tuple(o for o in self.outcomes if o.error == INTERRUPTED)

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status is not Status.DONE)

    @property
    def unmoved_defaults(self) -> tuple[str, ...]:
        """One line per single-target reroute (a default version) that did not happen, saying
        why."""
        lines = []
        for o in self.outcomes:
            a = o.action
            single = a.route is not None and not a.route.split and a.route.serves
            if not single or o.status is Status.DONE:
                continue
            if o.blocked_by is not None:
                b = o.blocked_by
                why = f"skipped because {b.kind.verb} of {b.address} did not complete"
            else:
                why = f"{o.status.value}: {o.error}"
            stays = a.changes[0].before if a.changes else None
            kept = f"; the default stays {stays}" if stays else ""
            lines.append(
                f"default of {a.key.model_key.address} not moved to {a.key.version}: {why}{kept}"
            )
        return tuple(lines)

    def summary(self) -> str:
        done = [o.action for o in self.outcomes if o.status is Status.DONE]

        def count(*kinds: ActionKind) -> int:
            return sum(1 for a in done if a.kind in kinds)

        # the delete of a replacement's old instance is part of that replacement
        destroyed = sum(1 for a in done if a.kind is ActionKind.DELETE and not a.superseded)
        counts = (
            f"{count(ActionKind.CREATE)} added, "
            f"{count(ActionKind.UPDATE)} changed, "
            f"{count(ActionKind.DELETE_THEN_CREATE, ActionKind.CREATE_THEN_DELETE)} replaced, "
            f"{destroyed} destroyed, {count(ActionKind.REROUTE)} rerouted"
        )
        if not self.failed:
            return f"Apply complete! Resources: {counts}."
        return (
            f"Apply failed: {len(self.failed)} of {len(self.outcomes)} actions did not complete "
            f"(done: {counts}). Run apply again to converge."
        )


def check_current(plan: Plan, fingerprint: str, digests: dict[str, str]) -> None:
    """Refuse a saved plan whose live state or artifacts changed since it was made."""
    if fingerprint != plan.fingerprint:
        raise StalePlanError(
            "saved plan is stale: the live state changed since it was created; "
            "run `deployer plan --out FILE` again"
        )
    for source, digest in plan.artifacts.items():
        if digests.get(source) != digest:
            raise StalePlanError(
                f"saved plan is stale: artifact {source} changed since the plan was created; "
                "run `deployer plan --out FILE` again"
            )


def check_ownership(plan: Plan, observed: Iterable[ObservedResource]) -> None:
    """Refuse a plan with an action whose live target (or the model it belongs to) exists and
    is not labelled as this stack's: a saved plan is a file anyone can edit, and deployer
    touches only what its stack owns. Backend-neutral: labels and ResourceKeys only."""
    live: dict[ResourceKey, list[ObservedResource]] = {}
    for resource in observed:
        live.setdefault(resource.key.current, []).append(resource)
    for action in plan.actions:
        targets = [action.key.current]
        if action.key.model_key != action.key.current:
            targets.append(action.key.model_key)
        for key in targets:
            for resource in live.get(key, ()):
                if key.part and not resource.labels:
                    continue  # a part without labels of its own (a deployment): its model decides
                owner = ownership.owner(resource.labels)
                if owner != plan.stack:
                    held = (
                        "is not managed by deployer"
                        if owner is None
                        else (f"belongs to stack '{owner}'")
                    )
                    raise OwnershipError(
                        f"refusing the plan: action {action.id} ({action.kind.verb} "
                        f"{action.address}) targets {resource.key.address}, which {held}, "
                        f"not to stack '{plan.stack}'; nothing was changed"
                    )


class Uploader:
    """Uploads each local artifact an action needs, once, before the action's create call."""

    def __init__(
        self,
        client: Any,
        note: Callable[[str], None],
        plan: Plan,
        parallelism: int = 8,
        detail: Callable[[Action, str], None] | None = None,
        live: bool = False,
    ) -> None:
        self.client = client
        self.note = note
        self.plan = plan
        self.detail = detail
        self.live = live
        self.parallelism = parallelism
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, action: Action) -> None:
        from deployer.artifacts.upload import upload_directory

        source = action.artifact_source
        if (
            action.kind not in (ActionKind.CREATE, *REPLACES)
            or not source
            or source.startswith("gs://")
        ):
            return
        digest = self.plan.artifacts[source]
        dest = GcsUri.parse(destination(self.plan.artifacts_uri, action.key.model, digest))
        with self._guard:
            lock = self._locks.setdefault(str(dest), threading.Lock())
        marks: set[int] = set()

        def progress(done: int, total: int) -> None:
            # The live view redraws each call; a log gets 0%, every 25% and 100%.
            quarter = 4 * done // total if total else 4
            if self.detail is not None and (self.live or quarter not in marks):
                marks.add(quarter)
                self.detail(action, upload_text(done, total))

        with lock:
            uploaded = upload_directory(
                self.client,
                Path(source),
                dest,
                digest,
                parallelism=self.parallelism,
                progress=progress,
            )
        if uploaded:
            self.note(f"Uploaded {source} to {dest}/")


def run_plan(
    plan: Plan,
    provider: Provider,
    storage: Any,
    events: Events,
    note: Callable[[str], None],
    parallelism: int | None,
    gate: Callable[[Action], None] | None = None,
    stop: Stop | None = None,
) -> Report:
    """`gate` runs before each action after its upload (smoke tests); raising fails it."""
    upload = Uploader(
        storage,
        note,
        plan,
        detail=getattr(events, "detail", None),
        live=isinstance(events, LiveProgress),
    )

    def prepare(action: Action) -> None:
        upload(action)
        if gate is not None:
            gate(action)

    outcomes = execute(plan, provider, events, parallelism=parallelism, prepare=prepare, stop=stop)
    return Report(tuple(outcomes))
