"""What each `ml` v1 method does: the twin's resources, rules and long-running operations."""

from __future__ import annotations

import copy
import itertools
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deployer.emulator import listing, rules
from deployer.emulator.apierrors import (
    ApiError,
    PredictError,
    exhausted,
    exists,
    invalid,
    not_found,
    precondition,
)
from deployer.emulator.artifacts import ArtifactError, check_files, check_limits, copy_artifact
from deployer.emulator.base import ApiHalf, new_etag, now_iso
from deployer.emulator.gcs import GcsReader
from deployer.emulator.knobs import KnobBox
from deployer.emulator.store import MODEL, OPERATION, VERSION, Row, Store

OP_METADATA_TYPE = "type.googleapis.com/google.cloud.ml.v1.OperationMetadata"
VERSION_TYPE = "type.googleapis.com/google.cloud.ml.v1.Version"
MODEL_TYPE = "type.googleapis.com/google.cloud.ml.v1.Model"
EMPTY_TYPE = "type.googleapis.com/google.protobuf.Empty"
VERSION_OPS = ("CREATE_VERSION", "DELETE_VERSION")
"""What the service's quota of concurrent version operations counts: creates and deletes."""

Json = dict[str, Any]


def model_name(project: str, model: str) -> str:
    return f"projects/{project}/models/{model}"


def version_name(project: str, model: str, version: str) -> str:
    return f"projects/{project}/models/{model}/versions/{version}"


class Service(ApiHalf):
    """The `ml` v1 semantics over the shared store. Every public method is one API call."""

    OPERATION_KIND = OPERATION

    def __init__(
        self,
        store: Store,
        knobs: KnobBox,
        data_dir: Path,
        reader: GcsReader,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(store, knobs, data_dir, reader, wake)
        self._counter = itertools.count()
        self._copy_lock = threading.Lock()

    # ---- helpers ---------------------------------------------------------------------------

    def _model_row(self, endpoint: str, project: str, model: str) -> Row:
        row = self.store.get(MODEL, endpoint, model_name(project, model))
        if row is None:
            raise not_found(f"Field: name Error: The model resource {model!r} was not found.")
        return row

    def _version_row(self, endpoint: str, project: str, model: str, version: str) -> Row:
        self._model_row(endpoint, project, model)
        row = self.store.get(VERSION, endpoint, version_name(project, model, version))
        if row is None:
            raise not_found(
                f"Field: name Error: The version resource {version!r} of model {model!r} was "
                "not found."
            )
        return row

    def _render_version(self, row: Row, default: str | None) -> Json:
        data = copy.deepcopy(row.data)
        if default is not None and data["name"].rsplit("/", 1)[1] == default:
            data["isDefault"] = True
        return data

    def _render_model(self, endpoint: str, row: Row) -> Json:
        data = copy.deepcopy(row.data)
        default = row.internal.get("default")
        if default:
            vrow = self.store.get(VERSION, endpoint, f"{row.name}/versions/{default}")
            if vrow is not None:
                data["defaultVersion"] = self._render_version(vrow, default)
        return data

    def _new_operation(
        self,
        endpoint: str,
        project: str,
        op_type: str,
        model: str,
        version: Json | None,
        internal: Json,
        *,
        done: bool = False,
        response: Json | None = None,
    ) -> Json:
        knobs = self.knobs.get()
        now = time.time()
        short = model.rsplit("/", 1)[1]
        vshort = version["name"].rsplit("/", 1)[1] if version else ""
        prefix = {"CREATE_VERSION": "create", "DELETE_VERSION": "delete"}.get(
            op_type, op_type.lower()
        )
        op_id = "_".join(p for p in (prefix, short, vshort) if p)
        op_id += f"-{int(now * 1000)}{next(self._counter):04d}"
        name = f"projects/{project}/operations/{op_id}"
        metadata: Json = {
            "@type": OP_METADATA_TYPE,
            "createTime": now_iso(now),
            "startTime": now_iso(now),
            "operationType": op_type,
            "modelName": model,
        }
        if version is not None:
            metadata["version"] = copy.deepcopy(version)
        data: Json = {"name": name, "metadata": metadata}
        if done:
            metadata["endTime"] = now_iso(now)
            data["done"] = True
            if response is not None:
                data["response"] = response
        internal = {
            **internal,
            "type": op_type,
            "fail": op_type != "UPDATE_MODEL" and self.knobs.chance(knobs.op_failure_rate),
            "run": self.run_id,
        }
        self.store.put(
            Row(
                OPERATION, endpoint, name, f"projects/{project}", project, data, internal,
                not done, None if done else now + knobs.op_seconds,
            )
        )  # fmt: skip
        return data

    def _check_version_ops_quota(self, project: str) -> None:
        limit = self.knobs.get().max_version_ops
        running = [
            r for r in self.store.pending_operations(project) if r.internal["type"] in VERSION_OPS
        ]
        if len(running) >= limit:
            raise exhausted(
                f"Quota exceeded: at most {limit} concurrent version operations are allowed "
                f"per project ({len(running)} running in project {project!r}). Retry later."
            )

    # ---- models ----------------------------------------------------------------------------

    def create_model(self, endpoint: str, project: str, body: Json) -> Json:
        fields = rules.model_for_create(body, endpoint)
        with self.store.transaction():
            name = model_name(project, fields["name"])
            if self.store.get(MODEL, endpoint, name) is not None:
                raise exists("Field: model.name Error: A model with the same name already exists.")
            limit = self.knobs.get().max_models
            if self.store.count(MODEL, project) >= limit:
                raise exhausted(
                    f"Quota exceeded: at most {limit} models are allowed per project {project!r}."
                )
            data = {**fields, "name": name, "etag": new_etag()}
            self.store.put(
                Row(MODEL, endpoint, name, f"projects/{project}", project, data, {}, False, None)
            )
            return copy.deepcopy(data)

    def get_model(self, endpoint: str, project: str, model: str) -> Json:
        with self.store.transaction():
            return self._render_model(endpoint, self._model_row(endpoint, project, model))

    def list_models(self, endpoint: str, project: str, query: dict[str, str]) -> Json:
        with self.store.transaction():
            rows = self.store.children(MODEL, endpoint, f"projects/{project}")
            rendered = [self._render_model(endpoint, r) for r in rows]
        return listing.paginate(rendered, query, "models")

    def patch_model(
        self, endpoint: str, project: str, model: str, body: Json, mask: str | None
    ) -> Json:
        paths = rules.parse_mask(mask)
        rules.check_model_mask(paths, endpoint)
        with self.store.transaction():
            row = self._model_row(endpoint, project, model)
            data = row.data
            for path in paths:
                if path == "description":
                    if body.get("description"):
                        data["description"] = body["description"]
                    else:
                        data.pop("description", None)
                elif path == "labels":
                    labels = rules.check_labels(body.get("labels"), "model")
                    if labels:
                        data["labels"] = labels
                    else:
                        data.pop("labels", None)
                elif path == "defaultVersion.name":
                    target = (body.get("defaultVersion") or {}).get("name", "")
                    short = target.rsplit("/", 1)[-1]
                    vrow = self.store.get(VERSION, endpoint, version_name(project, model, short))
                    if not short or vrow is None:
                        raise not_found(
                            f"Field: default_version.name Error: Version {target!r} not found."
                        )
                    if vrow.data.get("state") != "READY":
                        raise precondition(
                            f"Version {short!r} is not READY and cannot become the default."
                        )
                    row.internal["default"] = short
            data["etag"] = new_etag()
            self.store.put(row)
            rendered = self._render_model(endpoint, row)
            return self._new_operation(
                endpoint, project, "UPDATE_MODEL", row.name, None, {}, done=True,
                response={"@type": MODEL_TYPE, **rendered},
            )  # fmt: skip

    def delete_model(self, endpoint: str, project: str, model: str) -> Json:
        with self.store.transaction():
            row = self._model_row(endpoint, project, model)
            if self.store.count_children(VERSION, endpoint, row.name):
                raise precondition(
                    f"A model with versions cannot be deleted. Delete the versions of model "
                    f"{model!r} first."
                )
            self.store.delete(MODEL, endpoint, row.name)
            op = self._new_operation(endpoint, project, "DELETE_MODEL", row.name, None, {})
        self.wake()
        return op

    # ---- versions --------------------------------------------------------------------------

    def create_version(self, endpoint: str, project: str, model: str, body: Json) -> Json:
        fields = rules.version_for_create(body, endpoint)
        if "deploymentUri" in fields and "container" not in fields:
            try:  # the size and file-count limits are refused by the create call itself
                check_limits(self.reader, fields["deploymentUri"], fields["machineType"])
            except ArtifactError as exc:
                raise invalid(str(exc)) from None
        with self.store.transaction():
            mrow = self._model_row(endpoint, project, model)
            name = version_name(project, model, fields["name"])
            if self.store.get(VERSION, endpoint, name) is not None:
                raise exists(
                    "Field: version.name Error: A version with the same name already exists."
                )
            limit = self.knobs.get().max_versions
            if self.store.count(VERSION, project) >= limit:
                raise exhausted(
                    f"Quota exceeded: at most {limit} versions are allowed per project {project!r}."
                )
            self._check_version_ops_quota(project)
            data = {
                **fields,
                "name": name,
                "state": "CREATING",
                "createTime": now_iso(),
                "etag": new_etag(),
            }
            artifact = str(self.artifacts_dir / uuid.uuid4().hex)
            vrow = Row(
                VERSION,
                endpoint,
                name,
                mrow.name,
                project,
                data,
                {"artifact": artifact},
                False,
                None,
            )
            self.store.put(vrow)
            # The first version to become READY becomes the default (_finish_create_version).
            shown = self._render_version(vrow, mrow.internal.get("default"))
            needs_copy = "deploymentUri" in fields and "container" not in fields
            op = self._new_operation(
                endpoint, project, "CREATE_VERSION", mrow.name, shown,
                {"target": name, "copy": "pending" if needs_copy else "none"},
            )  # fmt: skip
        if needs_copy:
            self._copy(endpoint, op["name"])
        self.wake()
        return op

    def _copy(self, endpoint: str, op_name: str) -> None:
        """Copy the artifact of a CREATE_VERSION operation out of Cloud Storage (once)."""
        with self._copy_lock:
            op = self.store.get(OPERATION, endpoint, op_name)
            if op is None or op.internal.get("copy") != "pending":
                return
            vrow = self.store.get(VERSION, endpoint, op.internal["target"])
            if vrow is None:
                return
            error = None
            try:
                copy_artifact(
                    self.reader, vrow.data["deploymentUri"], Path(vrow.internal["artifact"]),
                    vrow.data["machineType"],
                )  # fmt: skip
            except ArtifactError as exc:
                error = str(exc)
            with self.store.transaction():
                op = self.store.get(OPERATION, endpoint, op_name)
                if op is None:
                    return
                op.internal["copy"] = "done"
                if error:
                    op.internal["copy_error"] = error
                self.store.put(op)

    def get_version(self, endpoint: str, project: str, model: str, version: str) -> Json:
        with self.store.transaction():
            row = self._version_row(endpoint, project, model, version)
            mrow = self._model_row(endpoint, project, model)
            return self._render_version(row, mrow.internal.get("default"))

    def list_versions(self, endpoint: str, project: str, model: str, query: dict[str, str]) -> Json:
        with self.store.transaction():
            mrow = self._model_row(endpoint, project, model)
            default = mrow.internal.get("default")
            rows = self.store.children(VERSION, endpoint, mrow.name)
            rendered = [self._render_version(r, default) for r in rows]
        return listing.paginate(rendered, query, "versions")

    def _check_not_busy(self, row: Row, action: str) -> None:
        state = row.data.get("state")
        if state in rules.BUSY_STATES:
            short = row.name.rsplit("/", 1)[1]
            raise precondition(
                f"Cannot {action} version {short!r}: it is {state}; wait for its operation to "
                "finish."
            )

    def patch_version(
        self, endpoint: str, project: str, model: str, version: str, body: Json, mask: str | None
    ) -> Json:
        paths = rules.parse_mask(mask)
        with self.store.transaction():
            row = self._version_row(endpoint, project, model, version)
            self._check_not_busy(row, "update")
            if row.data.get("state") != "READY":
                raise precondition(
                    f"Cannot update version {version!r}: it is {row.data.get('state')}."
                )
            updated = rules.patched_version(row.data, body, paths)
            row.internal["before"] = row.data.get("state")
            row.data["state"] = "UPDATING"
            self.store.put(row)
            mrow = self._model_row(endpoint, project, model)
            op = self._new_operation(
                endpoint, project, "UPDATE_VERSION", mrow.name,
                self._render_version(row, mrow.internal.get("default")),
                {"target": row.name, "patched": updated},
            )  # fmt: skip
        self.wake()
        return op

    def delete_version(self, endpoint: str, project: str, model: str, version: str) -> Json:
        with self.store.transaction():
            row = self._version_row(endpoint, project, model, version)
            mrow = self._model_row(endpoint, project, model)
            self._check_not_busy(row, "delete")
            default = mrow.internal.get("default")
            others = self.store.count_children(VERSION, endpoint, mrow.name) - 1
            if default == version and others > 0:
                raise precondition(
                    f"Cannot delete the default version {version!r} of model {model!r} while "
                    "other versions exist. Set another version as default first."
                )
            self._check_version_ops_quota(project)
            shown = self._render_version(row, default)
            row.internal["before"] = row.data.get("state")
            row.data["state"] = "DELETING"
            self.store.put(row)
            op = self._new_operation(
                endpoint, project, "DELETE_VERSION", mrow.name, shown, {"target": row.name}
            )
        self.wake()
        return op

    def set_default(
        self, endpoint: str, project: str, model: str, version: str, body: Json
    ) -> Json:
        with self.store.transaction():
            row = self._version_row(endpoint, project, model, version)
            mrow = self._model_row(endpoint, project, model)
            if row.data.get("state") != "READY":
                raise precondition(
                    f"Version {version!r} is {row.data.get('state')}; only a READY version can be "
                    "the default."
                )
            mrow.internal["default"] = version
            mrow.data["etag"] = new_etag()
            self.store.put(mrow)
            return self._render_version(row, version)

    # ---- operations ------------------------------------------------------------------------

    def _operation_row(self, endpoint: str, project: str, op_id: str) -> Row:
        row = self.store.get(OPERATION, endpoint, f"projects/{project}/operations/{op_id}")
        if row is None:
            raise not_found(f"Field: name Error: The operation {op_id!r} was not found.")
        return row

    def get_operation(self, endpoint: str, project: str, op_id: str) -> Json:
        with self.store.transaction():
            return self._operation_row(endpoint, project, op_id).data

    def list_operations(self, endpoint: str, project: str, query: dict[str, str]) -> Json:
        with self.store.transaction():
            rows = [r.data for r in self.store.children(OPERATION, endpoint, f"projects/{project}")]
        return listing.paginate(rows, query, "operations")

    def cancel_operation(self, endpoint: str, project: str, op_id: str) -> Json:
        with self.store.transaction():
            row = self._operation_row(endpoint, project, op_id)
            if not row.data.get("done"):
                row.data["metadata"]["isCancellationRequested"] = True
                row.internal["cancel"] = True
                if row.internal["type"] == "CREATE_VERSION":
                    row.due = time.time()  # creation stops promptly; other kinds run to the end
                self.store.put(row)
        self.wake()
        return {}

    # ---- completing operations (the worker) ------------------------------------------------

    def _prepare(self, endpoint: str, op: Row) -> str | None:
        """A new version's artifact: copied and checked (the error its version fails with)."""
        if op.internal["type"] != "CREATE_VERSION" or op.internal.get("fail"):
            return None
        if op.internal.get("cancel"):
            return None
        if op.internal.get("copy") == "pending":
            self._copy(endpoint, op.name)
            copied = self.store.get(OPERATION, endpoint, op.name)
            assert copied is not None
            op = copied
        return op.internal.get("copy_error") or self._validate_artifact(endpoint, op)

    def _finish(self, endpoint: str, op: Row, outcome: str | None) -> None:
        getattr(self, f"_finish_{op.internal['type'].lower()}")(endpoint, op, outcome)

    def _stamp_done(self, op: Row, when: str) -> None:
        op.data["metadata"]["endTime"] = when

    def _validate_artifact(self, endpoint: str, op: Row) -> str | None:
        vrow = self.store.get(VERSION, endpoint, op.internal["target"])
        if vrow is None or "container" in vrow.data:
            return None
        path = Path(vrow.internal["artifact"])
        uri = vrow.data["deploymentUri"]
        try:
            check_files(path, vrow.data["framework"], uri)
            if vrow.data["framework"] == "TENSORFLOW":
                from deployer.emulator.predict import check_loadable

                check_loadable(path, uri)
        except ArtifactError as exc:
            return str(exc)
        return None

    def _finish_create_version(self, endpoint: str, op: Row, outcome: str | None) -> None:
        vrow = self.store.get(VERSION, endpoint, op.internal["target"])
        if vrow is None:
            self._fail(op, "NOT_FOUND", "The version was deleted before it was created.")
            return
        mrow = self.store.get(MODEL, endpoint, vrow.parent)
        message = None
        if op.internal.get("cancel"):
            message = "Version creation was cancelled."
            self._fail(op, "CANCELLED", message)
        elif op.internal.get("fail"):
            message = "Internal error encountered (injected by the emulator's op_failure_rate)."
            self._fail(op, "INTERNAL", message)
        elif outcome:
            message = outcome
            self._fail(op, "FAILED_PRECONDITION", message)
        short = vrow.name.rsplit("/", 1)[1]
        if message:
            vrow.data["state"] = "FAILED"
            vrow.data["errorMessage"] = message
            if mrow is not None and mrow.internal.get("default") == short:
                mrow.internal.pop("default")
                self.store.put(mrow)
        else:
            vrow.data["state"] = "READY"
            if mrow is not None and not mrow.internal.get("default"):
                mrow.internal["default"] = short  # the first version to become ready
                self.store.put(mrow)
            default = mrow.internal.get("default") if mrow else None
            op.data["response"] = {"@type": VERSION_TYPE, **self._render_version(vrow, default)}
        vrow.data["etag"] = new_etag()
        self.store.put(vrow)

    def _finish_update_version(self, endpoint: str, op: Row, outcome: str | None) -> None:
        vrow = self.store.get(VERSION, endpoint, op.internal["target"])
        if vrow is None:
            self._fail(op, "NOT_FOUND", "The version no longer exists.")
            return
        if op.internal.get("fail"):
            vrow.data["state"] = vrow.internal.pop("before", "READY")
            self._fail(op, "INTERNAL", "Internal error encountered (injected by the emulator).")
        else:
            vrow.data = {**op.internal["patched"], "state": "READY", "etag": new_etag()}
            mrow = self.store.get(MODEL, endpoint, vrow.parent)
            default = mrow.internal.get("default") if mrow else None
            op.data["response"] = {"@type": VERSION_TYPE, **self._render_version(vrow, default)}
        self.store.put(vrow)

    def _finish_delete_version(self, endpoint: str, op: Row, outcome: str | None) -> None:
        vrow = self.store.get(VERSION, endpoint, op.internal["target"])
        if vrow is None:
            op.data["response"] = {"@type": EMPTY_TYPE}
            return
        if op.internal.get("fail"):
            vrow.data["state"] = vrow.internal.pop("before", "READY")
            self.store.put(vrow)
            self._fail(op, "INTERNAL", "Internal error encountered (injected by the emulator).")
            return
        self.store.delete(VERSION, endpoint, vrow.name)
        mrow = self.store.get(MODEL, endpoint, vrow.parent)
        if mrow is not None and mrow.internal.get("default") == vrow.name.rsplit("/", 1)[1]:
            mrow.internal.pop("default")
            self.store.put(mrow)
        artifact = vrow.internal.get("artifact")
        if artifact:
            from deployer.emulator import predict

            predict.forget(Path(artifact))
            shutil.rmtree(artifact, ignore_errors=True)
        op.data["response"] = {"@type": EMPTY_TYPE}

    def _finish_delete_model(self, endpoint: str, op: Row, outcome: str | None) -> None:
        if op.internal.get("fail"):
            # the model is already gone from listings; report the injected error only
            self._fail(op, "INTERNAL", "Internal error encountered (injected by the emulator).")
            return
        op.data["response"] = {"@type": EMPTY_TYPE}

    def _finish_update_model(self, endpoint: str, op: Row, outcome: str | None) -> None:
        return None

    # ---- predict ---------------------------------------------------------------------------

    def predict(
        self, endpoint: str, project: str, model: str, version: str | None, body: Any
    ) -> Json:
        with self.store.transaction():
            mrow = self._model_row(endpoint, project, model)
            if version is None:
                version = mrow.internal.get("default")
                if not version:
                    raise precondition(f"Model {model!r} has no default version to predict with.")
            vrow = self._version_row(endpoint, project, model, version)
            if vrow.data.get("state") != "READY":
                raise precondition(
                    f"Version {version!r} is {vrow.data.get('state')}; only READY versions serve "
                    "predictions."
                )
        if vrow.data.get("framework") != "TENSORFLOW" or "container" in vrow.data:
            raise PredictError(
                "Prediction failed: the emulator runs only TensorFlow SavedModels; "
                f"version {version!r} uses {vrow.data.get('framework', 'a custom container')}."
            )
        from deployer.emulator import predict

        result = predict.predict(Path(vrow.internal["artifact"]), body)
        with self.store.transaction():
            latest = self.store.get(VERSION, endpoint, vrow.name)
            if latest is not None:
                latest.data["lastUseTime"] = now_iso()
                self.store.put(latest)
        return result

    def reset(self) -> None:
        with self.store.transaction():
            self.store.wipe()
        shutil.rmtree(self.artifacts_dir, ignore_errors=True)


__all__ = ["ApiError", "Service", "invalid"]
