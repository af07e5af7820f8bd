"""The history of a stack's applies and destroys, kept next to its lock in the artifacts bucket.

Each run writes one JSON object `<artifacts>/.deployer/history/<stack>/<started>-<id>.json`: who
ran it, when, from which commit and CI run (read from the usual CI variables when present), the
plan's summary, the duration and the outcome. Recording is best effort: a failure to write is a
warning on stderr, never a failed apply. `deployer history` lists the records newest first.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from deployer.artifacts.gcs import GcsUri, storage_error
from deployer.core.sensitive import scrub

FORMAT_VERSION = "1.0"


def history_uri(artifacts: str, stack: str) -> GcsUri:
    return GcsUri.parse(artifacts).child(".deployer", "history", stack)


@dataclass(frozen=True)
class CIRun:
    """The CI run behind an apply, from the CI system's own environment variables."""

    system: str = ""
    run_id: str = ""
    url: str = ""
    ref: str = ""
    event: str = ""


def _get(env: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def ci_run(environ: Mapping[str, str] | None = None) -> CIRun:
    """GitHub Actions, GitLab CI, Cloud Build, Buildkite, Jenkins, or a generic `CI=true`."""
    env = environ if environ is not None else os.environ
    if env.get("GITHUB_ACTIONS") == "true":
        server = _get(env, "GITHUB_SERVER_URL") or "https://github.com"
        repo, run = _get(env, "GITHUB_REPOSITORY"), _get(env, "GITHUB_RUN_ID")
        attempt = _get(env, "GITHUB_RUN_ATTEMPT")
        url = f"{server}/{repo}/actions/runs/{run}" if repo and run else ""
        if url and attempt and attempt != "1":
            url += f"/attempts/{attempt}"
        return CIRun(
            "github-actions", run, url, _get(env, "GITHUB_REF_NAME"), _get(env, "GITHUB_EVENT_NAME")
        )
    if env.get("GITLAB_CI") == "true":
        return CIRun(
            "gitlab-ci",
            _get(env, "CI_PIPELINE_ID"),
            _get(env, "CI_JOB_URL", "CI_PIPELINE_URL"),
            _get(env, "CI_COMMIT_REF_NAME"),
            _get(env, "CI_PIPELINE_SOURCE"),
        )
    if _get(env, "BUILD_ID") and _get(env, "PROJECT_ID"):  # Cloud Build (passed via `env:`)
        build, project = _get(env, "BUILD_ID"), _get(env, "PROJECT_ID")
        region = _get(env, "LOCATION") or "global"
        url = (
            f"https://console.cloud.google.com/cloud-build/builds;region={region}/{build}"
            f"?project={project}"
        )
        return CIRun("cloud-build", build, url, _get(env, "BRANCH_NAME", "TAG_NAME"), "")
    if env.get("BUILDKITE") == "true":
        return CIRun(
            "buildkite",
            _get(env, "BUILDKITE_BUILD_NUMBER"),
            _get(env, "BUILDKITE_BUILD_URL"),
            _get(env, "BUILDKITE_BRANCH"),
            _get(env, "BUILDKITE_SOURCE"),
        )
    if _get(env, "JENKINS_URL"):
        return CIRun(
            "jenkins", _get(env, "BUILD_NUMBER"), _get(env, "BUILD_URL"), _get(env, "GIT_BRANCH")
        )
    if env.get("CI", "").lower() in ("true", "1"):
        return CIRun("ci")
    return CIRun()


def who(environ: Mapping[str, str] | None = None) -> str:
    """The person (or CI identity) behind the run: the CI actor when known, else user@host."""
    env = environ if environ is not None else os.environ
    actor = _get(
        env, "DEPLOYER_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR"
    )
    if actor:
        return actor
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass
class Record:
    stack: str
    operation: str
    """"apply" or "destroy"."""
    project: str
    backend: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    environment: str = ""
    who: str = ""
    started: str = ""
    """UTC, ISO 8601 (`2025-03-01T12:00:00.123456Z`)."""
    duration_s: float = 0.0
    outcome: str = ""
    """success | no-changes | failed | refused | cancelled | interrupted | error."""
    message: str = ""
    commit: str = ""
    ci: CIRun = field(default_factory=CIRun)
    plan: dict[str, int] = field(default_factory=dict)
    """The plan's summary: add, change, replace, destroy, reroute."""
    done: dict[str, int] = field(default_factory=dict)
    """What completed, in the same terms (failed: actions that did not complete)."""
    saved_plan: str = ""
    """The saved plan file applied, if any."""
    format_version: str = FORMAT_VERSION

    @property
    def object_name(self) -> str:
        stamp = self.started.replace("-", "").replace(":", "").replace(".", "")
        return f"{stamp}-{self.id}.json"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: Any) -> Record:
        """The record a document holds; ValueError naming the first field of a wrong type (a
        record is a file in a bucket that anyone with write access can change)."""
        if not isinstance(doc, Mapping):
            raise ValueError("not a JSON object")
        values: dict[str, Any] = {}
        for name, kind in _FIELD_TYPES.items():
            if name not in doc:
                continue
            value = doc[name]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if kind is dict:
                value = _counts(name, value)
            elif kind is CIRun:
                value = _ci(value)
            elif not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"'{name}' is {type(value).__name__}, not {kind.__name__}")
            values[name] = value
        for required in ("stack", "operation", "project", "backend"):
            if required not in values:
                raise ValueError(f"'{required}' is missing")
        return cls(**values)


_FIELD_TYPES: dict[str, type] = {
    **{
        name: str
        for name in (
            "stack",
            "operation",
            "project",
            "backend",
            "id",
            "environment",
            "who",
            "started",
            "outcome",
            "message",
            "commit",
            "saved_plan",
            "format_version",
        )
    },
    "duration_s": float,
    "ci": CIRun,
    "plan": dict,
    "done": dict,
}


def _counts(name: str, value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise ValueError(f"'{name}' is not a map of counts")
    return dict(value)


def _ci(value: Any) -> CIRun:
    if not isinstance(value, Mapping):
        raise ValueError("'ci' is not an object")
    known = {k: v for k, v in value.items() if k in CIRun.__dataclass_fields__}
    if not all(isinstance(v, str) for v in known.values()):
        raise ValueError("'ci' has a field that is not a string")
    return CIRun(**known)


def _summary(summary: Any) -> dict[str, int]:
    return {
        "add": summary.add,
        "change": summary.change,
        "replace": summary.replace,
        "destroy": summary.destroy,
        "reroute": summary.reroute,
    }


class Recorder:
    """What a run learns as it goes: the plan, then the executor's report."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.plan: Any = None
        self.report: Any = None

    def finish(self, outcome: str, message: str = "") -> Record:
        from deployer.apply.executor import Status
        from deployer.core.plan import ActionKind

        record = self.record
        plan = self.plan
        if plan is not None:
            record.plan = _summary(plan.summary)
            record.environment = record.environment or plan.environment
            record.commit = record.commit or plan.commit
        if self.report is not None:
            done = [o.action for o in self.report.outcomes if o.status is Status.DONE]
            kinds = {
                "add": (ActionKind.CREATE,),
                "change": (ActionKind.UPDATE,),
                "replace": (ActionKind.DELETE_THEN_CREATE, ActionKind.CREATE_THEN_DELETE),
                "destroy": (ActionKind.DELETE,),
                "reroute": (ActionKind.REROUTE,),
            }
            record.done = {k: sum(1 for a in done if a.kind in v) for k, v in kinds.items()}
            record.done["failed"] = len(self.report.failed)
        record.outcome = outcome
        record.message = scrub(message)  # a sensitive value quoted by an error stays hidden
        return record


def _outcome(exc: BaseException | None, recorder: Recorder) -> tuple[str, str]:
    from deployer.apply.run import StalePlanError
    from deployer.core.errors import DeployerError

    if exc is None:
        if recorder.plan is not None and not recorder.plan.has_changes:
            return "no-changes", ""
        return "success", ""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", "interrupted"
    code = getattr(exc, "exit_code", getattr(exc, "code", None))
    if isinstance(exc, SystemExit) or type(exc).__name__ == "Exit":
        if code in (0, None):
            return (
                ("no-changes", "")
                if recorder.plan and not recorder.plan.has_changes
                else (
                    "success",
                    "",
                )
            )
        if recorder.report is not None and recorder.report.failed:
            return "failed", recorder.report.summary()
        if recorder.plan is not None and recorder.plan.errors:
            return "error", "; ".join(recorder.plan.errors)[:500]
        if code == 130 or code == 143:
            return "interrupted", f"exit {code}"
        return "failed", f"exit {code}"
    if isinstance(exc, StalePlanError):
        return "refused", str(exc)
    if isinstance(exc, DeployerError) and str(exc).startswith("cancelled"):
        return "cancelled", str(exc)
    return "error", str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__


def write_record(client: Any, artifacts: str, record: Record) -> str:
    """Write one record; returns its gs:// URI."""
    uri = history_uri(artifacts, record.stack).child(record.object_name)
    blob = client.bucket(uri.bucket).blob(uri.prefix)
    blob.upload_from_string(
        json.dumps(record.to_json(), sort_keys=True, indent=1) + "\n",
        content_type="application/json",
    )
    return str(uri)


@contextmanager
def recording(
    client: Any,
    artifacts: str,
    stack: str,
    operation: str,
    *,
    project: str,
    backend: str,
    saved_plan: str = "",
    warn: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[Recorder]:
    """Record the run inside the block; exceptions pass through unchanged."""
    from deployer.workflow import COMMIT_ENV

    env = environ if environ is not None else os.environ
    started = time.time()
    commit = next((env[n].strip()[:12] for n in COMMIT_ENV if env.get(n, "").strip()), "")
    record = Record(
        stack=stack,
        operation=operation,
        project=project,
        backend=backend,
        who=who(env),
        started=datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        commit=commit,
        ci=ci_run(env),
        saved_plan=saved_plan,
    )
    recorder = Recorder(record)
    error: BaseException | None = None
    try:
        yield recorder
    except BaseException as exc:
        error = exc
        raise
    finally:
        try:
            outcome, message = _outcome(error, recorder)
            recorder.finish(outcome, message)
            record.duration_s = round(time.time() - started, 3)
            write_record(client, artifacts, record)
        except Exception as exc:  # never let history fail an apply
            (warn or _stderr)(
                f"warning: could not record this {operation} in the history: "
                f"{storage_error(exc, 'history') if hasattr(exc, 'code') else exc}"
            )


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def read_records(
    client: Any,
    artifacts: str,
    stack: str,
    limit: int | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[Record]:
    """The stack's records, newest first (object names start with the UTC start time), at most
    `limit` of them. A record that cannot be read, or that names another stack, is skipped with
    a warning and does not count against `limit`."""
    location = history_uri(artifacts, stack)
    try:
        blobs = list(client.list_blobs(location.bucket, prefix=location.prefix + "/"))
    except Exception as exc:
        raise storage_error(exc, f"history in {location}") from None
    blobs.sort(key=lambda b: b.name, reverse=True)
    say = warn or _stderr
    records: list[Record] = []
    for blob in blobs:
        if limit and len(records) >= limit:
            break
        try:
            record = Record.from_json(json.loads(blob.download_as_bytes()))
        except Exception as exc:
            if getattr(exc, "code", None) == 404:
                continue
            if isinstance(exc, ValueError | TypeError | RecursionError):
                say(f"warning: skipping unreadable history record {printable(blob.name)}")
                continue
            raise storage_error(exc, f"history record {blob.name}") from None
        if record.stack != stack:
            say(
                f"warning: skipping history record {printable(blob.name)}: it names stack "
                f"{printable(record.stack)!r}, not {stack!r}"
            )
            continue
        records.append(record)
    return records


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control and format characters (escape sequences,
    bidirectional overrides, zero-width characters) as visible escapes."""
    return "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf") else ch.encode("unicode_escape").decode()
        for ch in text
    )


def counts(summary: Mapping[str, int]) -> str:
    """`+1 ~0 -/+0 -0 »1` style, short enough for a table cell."""
    if not summary:
        return ""
    parts = [
        f"+{summary.get('add', 0)}",
        f"~{summary.get('change', 0)}",
        f"-/+{summary.get('replace', 0)}",
        f"-{summary.get('destroy', 0)}",
        f"»{summary.get('reroute', 0)}",
    ]
    return " ".join(parts)


def rows(records: list[Record]) -> list[list[str]]:
    """Table rows: when, operation, outcome, who, env, commit, plan, duration, CI run."""
    out = []
    for r in records:
        when = r.started.replace("T", " ")[:19] + "Z" if r.started else ""
        cells = [
            when,
            r.operation,
            r.outcome,
            r.who,
            r.environment or "-",
            r.commit or "-",
            counts(r.plan) or "-",
            f"{r.duration_s:.1f}s",
            r.ci.url or r.ci.run_id or "-",
        ]
        out.append([printable(cell) for cell in cells])
    return out


COLUMNS = [
    "when (UTC)",
    "operation",
    "outcome",
    "who",
    "env",
    "commit",
    "plan",
    "duration",
    "CI run",
]
