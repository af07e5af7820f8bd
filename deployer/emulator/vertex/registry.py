"""The Vertex Model Registry: upload, versions, aliases, patch, delete (docs/emulator.md).

A model row holds the model-level fields (display name, description, model labels) and, in its
internal part, the next version number and which version holds `default`. Each version is a row
named `M@N` under it; its `versionAliases` never list `default`, which is added on read.
"""

from __future__ import annotations

import copy
import shutil
import time
import uuid
from pathlib import Path

from deployer.emulator.apierrors import exists, invalid, not_found, precondition
from deployer.emulator.artifacts import ArtifactError, copy_artifact
from deployer.emulator.base import new_etag, now_iso
from deployer.emulator.listing import paginate
from deployer.emulator.store import Row
from deployer.emulator.vertex import rules
from deployer.emulator.vertex.base import (
    EMPTY_TYPE,
    ENDPOINT,
    TYPE,
    VMODEL,
    VOPERATION,
    VVERSION,
    Json,
    VertexBase,
    location_name,
    numeric_id,
)
from deployer.providers.vertex import catalog as cv

DEFAULT = cv.DEFAULT_ALIAS
PRECONDITION = "FAILED_PRECONDITION: "
"""Marks an upload outcome that fails with FAILED_PRECONDITION instead of INVALID_ARGUMENT."""


def model_name(project: str, location: str, model: str) -> str:
    return f"{location_name(project, location)}/models/{model}"


class Registry(VertexBase):
    # ---- lookups and views -----------------------------------------------------------------

    def _model_row(self, project: str, location: str, model: str) -> Row:
        row = self.store.get(VMODEL, ENDPOINT, model_name(project, location, model))
        if row is None:
            raise not_found(f"Model {model_name(project, location, model)!r} not found.")
        return row

    def _versions(self, mrow: Row) -> list[Row]:
        rows = self.store.children(VVERSION, ENDPOINT, mrow.name)
        return sorted(rows, key=lambda r: int(r.data["versionId"]))

    def _resolve(self, project: str, location: str, segment: str) -> tuple[Row, Row]:
        """(model, version) for `M`, `M@-` (the default), `M@N` or `M@alias`; 404 otherwise."""
        model, _, ref = segment.partition("@")
        mrow = self._model_row(project, location, model)
        if ref in ("", "-"):
            ref = mrow.internal["default"]
        if ref.isdigit():
            vrow = self.store.get(VVERSION, ENDPOINT, f"{mrow.name}@{ref}")
        elif ref == DEFAULT:
            vrow = self.store.get(VVERSION, ENDPOINT, f"{mrow.name}@{mrow.internal['default']}")
        else:
            vrow = next((v for v in self._versions(mrow) if ref in v.data["aliases"]), None)
        if vrow is None:
            raise not_found(f"Model version {mrow.name}@{ref} not found.")
        return mrow, vrow

    def _resolve_name(self, name: str) -> tuple[Row, Row]:
        parts = name.split("/")
        if len(parts) != 6 or parts[0] != "projects" or parts[2:5:2] != ["locations", "models"]:
            raise invalid(
                f"{name!r} is not a model resource name (projects/P/locations/L/models/M)."
            )
        return self._resolve(parts[1], parts[3], parts[5])

    def _view(self, mrow: Row, vrow: Row) -> Json:
        """The Model as a read shows it: model fields, this version's fields, merged labels."""
        version = vrow.data
        aliases = list(version["aliases"])
        if mrow.internal["default"] == version["versionId"]:
            aliases.insert(0, DEFAULT)
        view: Json = {
            **{k: copy.deepcopy(v) for k, v in version.items() if k not in ("aliases", "labels")},
            "name": mrow.name,
            "displayName": mrow.data["displayName"],
            "versionAliases": aliases,
            "createTime": mrow.data["createTime"],
            "updateTime": max(mrow.data["updateTime"], version["versionUpdateTime"]),
            "etag": f"{mrow.data['etag']}{version['etag']}",
            "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"],
        }
        if mrow.data.get("description"):
            view["description"] = mrow.data["description"]
        # UpdateModelRequest.model [PROTO]: "Both the model labels and the version labels are
        # merged when a model is returned"; which wins on a shared key is undocumented (the
        # `vertex_label_precedence` knob picks).
        model_labels, version_labels = mrow.data.get("labels", {}), version.get("labels", {})
        if self.knobs.get().vertex_label_precedence == "model":
            labels = {**version_labels, **model_labels}
        else:
            labels = {**model_labels, **version_labels}
        if labels:
            view["labels"] = labels
        view["deployedModels"] = self._reported_deployments(vrow)
        if not view.get("deployedModels"):
            view.pop("deployedModels", None)
        return view

    def _reported_deployments(self, vrow: Row) -> list[Json]:
        """The version's deployments as reads show them: the live ones, and for
        `vertex_undeploy_settle_s` after an undeploy the undeployed one too
        (python-aiplatform#2807: deleting the version is still refused 60 s on)."""
        settle, now = self.knobs.get().vertex_undeploy_settle_s, time.time()
        settling = [
            {k: v for k, v in entry.items() if k != "at"}
            for entry in vrow.internal.get("settling", [])
            if now - entry["at"] < settle
        ]
        return [*copy.deepcopy(vrow.data["deployedModels"]), *settling]

    def _pending_uploads(self, project: str, location: str) -> list[Row]:
        return [
            r
            for r in self.store.pending_operations(project, kind=VOPERATION)
            if r.internal["type"] == "upload" and r.parent == location_name(project, location)
        ]

    # ---- reads -----------------------------------------------------------------------------

    def get_model(self, project: str, location: str, segment: str) -> Json:
        with self.store.transaction():
            return self._view(*self._resolve(project, location, segment))

    def list_models(self, project: str, location: str, query: dict[str, str]) -> Json:
        with self.store.transaction():
            rows = self.store.children(VMODEL, ENDPOINT, location_name(project, location))
            views = [
                self._view(*self._resolve(project, location, r.name.rsplit("/", 1)[1]))
                for r in rows
            ]
        return paginate(views, query, "models")

    def list_versions(
        self, project: str, location: str, segment: str, query: dict[str, str]
    ) -> Json:
        with self.store.transaction():
            mrow = self._model_row(project, location, segment.partition("@")[0])
            views = [self._view(mrow, v) for v in self._versions(mrow)]
        return paginate(views, query, "models", order=lambda v: f"{int(v['versionId']):012d}")

    # ---- upload ----------------------------------------------------------------------------

    def upload(self, project: str, location: str, body: Json) -> Json:
        model = body.get("model")
        if not isinstance(model, dict):
            raise invalid("Field: model Error: A model must be provided.")
        display = rules.display_name(model.get("displayName"), "model")
        labels = rules.labels(model.get("labels"), "model")
        aliases = rules.aliases(model.get("versionAliases"))
        fields = rules.version_fields(model)
        model_id, parent = body.get("modelId"), body.get("parentModel")
        if model_id and parent:
            raise invalid("Give either model_id (a new model) or parent_model (a new version).")
        with self.store.transaction():
            if parent:
                mrow, _ = self._resolve_name(parent)
                if mrow.name != parent:
                    raise invalid(
                        f"Field: parent_model Error: {parent!r} must name a model, not a version."
                    )
                if mrow.parent != location_name(project, location):
                    raise invalid(
                        "Field: parent_model Error: the parent model is in another location."
                    )
                name = mrow.name
            else:
                short = rules.model_id(model_id) if model_id else numeric_id(19)
                name = model_name(project, location, short)
                pending = [
                    r.internal["model"]
                    for r in self._pending_uploads(project, location)
                    if r.internal["new"]
                ]
                if self.store.get(VMODEL, ENDPOINT, name) is not None or name in pending:
                    raise exists(f"Model {name!r} already exists.")
            framework = cv.image_framework(fields["containerSpec"]["imageUri"])
            needs_copy = "artifactUri" in fields and framework is not None
            internal: Json = {
                "model": name, "new": not parent, "displayName": display,
                "description": model.get("description"), "labels": labels, "aliases": aliases,
                "fields": fields, "framework": framework,
                "artifact": str(self.artifacts_dir / uuid.uuid4().hex),
                "copy": "pending" if needs_copy else "none",
            }  # fmt: skip
            op = self._new_operation(
                project, location, name, "upload", "UploadModelOperationMetadata", internal
            )
        if needs_copy:
            self._ingest(op["name"])
        self.wake()
        return op

    def _take_aliases(self, mrow: Row, owner: Row | None, aliases: list[str]) -> None:
        """Move `aliases` away from every other version of the model.

        [DOCS model-alias] "If you apply an existing alias that is used in another model
        version, the alias is removed from that version." The service moves it; it never
        refuses."""
        wanted = set(aliases)
        for version in self._versions(mrow):
            if owner is not None and version.name == owner.name:
                continue
            kept = [a for a in version.data["aliases"] if a not in wanted]
            if kept != version.data["aliases"]:
                version.data["aliases"] = kept
                version.data["etag"] = new_etag()
                version.data["versionUpdateTime"] = now_iso()
                self.store.put(version)

    def _ingest(self, op_name: str) -> None:
        """Copy an upload's artifact out of Cloud Storage (once), as the service ingests it."""
        with self._ingest_lock:
            op = self.store.get(VOPERATION, ENDPOINT, op_name)
            if op is None or op.internal.get("copy") != "pending":
                return
            error = None
            try:
                uri, dest = op.internal["fields"]["artifactUri"], Path(op.internal["artifact"])
                copy_artifact(
                    self.reader, uri, dest, field="model.artifact_uri",
                    size_limit=cv.MAX_ARTIFACT_BYTES,
                )  # fmt: skip
            except ArtifactError as exc:
                error = str(exc)
            with self.store.transaction():
                op = self.store.get(VOPERATION, ENDPOINT, op_name)
                if op is None:
                    return
                op.internal["copy"] = "done"
                if error:
                    op.internal["copy_error"] = error
                self.store.put(op)

    def _prepare_upload(self, op: Row) -> str | None:
        if op.internal.get("copy") == "pending":
            self._ingest(op.name)
            fresh = self.store.get(VOPERATION, ENDPOINT, op.name)
            op = fresh if fresh is not None else op
        if op.internal.get("copy_error"):
            return str(op.internal["copy_error"])
        framework = op.internal.get("framework")
        if framework is None or op.internal.get("copy") != "done":
            return None
        path, uri = Path(op.internal["artifact"]), op.internal["fields"]["artifactUri"]
        wanted = cv.ARTIFACT_FILES[framework]
        present = [name for name in wanted if (path / name).is_file()]
        if not present:
            return f"Model artifact {uri} for {framework} must contain one of: {', '.join(wanted)}."
        if framework in cv.ONE_MODEL_FILE and len(present) > 1:
            return (
                f"{PRECONDITION}Model artifact {uri} holds more than one model file "
                f"({', '.join(present)}); the prebuilt {framework} server loads exactly one of: "
                f"{', '.join(wanted)}."
            )
        if framework == "tensorflow":
            from deployer.emulator.predict import check_loadable

            try:
                check_loadable(path, uri)
            except ArtifactError as exc:
                return str(exc)
        return None

    def _finish_upload(self, op: Row, outcome: str | None) -> None:
        info = op.internal
        if outcome:
            status = "INVALID_ARGUMENT"
            if outcome.startswith(PRECONDITION):
                status, outcome = "FAILED_PRECONDITION", outcome[len(PRECONDITION) :]
            self._fail(op, status, outcome)
            self._abandon(op)
            return
        mrow = self.store.get(VMODEL, ENDPOINT, info["model"])
        stamp = now_iso()
        if info["new"]:
            if mrow is not None:
                self._fail(op, "ALREADY_EXISTS", f"Model {info['model']!r} already exists.")
                self._abandon(op)
                return
            data: Json = {
                "displayName": info["displayName"], "createTime": stamp, "updateTime": stamp,
                "etag": new_etag(), "labels": info["labels"],
            }  # fmt: skip
            if info.get("description"):
                data["description"] = info["description"]
            parent = info["model"].rsplit("/models/", 1)[0]
            mrow = Row(
                VMODEL, ENDPOINT, info["model"], parent, op.project, data,
                {"next": 1, "default": "1"}, False, None,
            )  # fmt: skip
        elif mrow is None:
            self._fail(op, "NOT_FOUND", f"Parent model {info['model']!r} no longer exists.")
            self._abandon(op)
            return
        others = [a for a in info["aliases"] if a != DEFAULT]
        self._take_aliases(mrow, None, others)
        version_id = str(mrow.internal["next"])
        mrow.internal["next"] += 1
        if DEFAULT in info["aliases"]:
            mrow.internal["default"] = version_id
        version: Json = {
            **info["fields"], "versionId": version_id, "aliases": list(dict.fromkeys(others)),
            "versionCreateTime": stamp, "versionUpdateTime": stamp, "etag": new_etag(),
            "labels": info["labels"], "deployedModels": [],
        }  # fmt: skip
        self.store.put(mrow)
        self.store.put(
            Row(
                VVERSION, ENDPOINT, f"{mrow.name}@{version_id}", mrow.name, op.project, version,
                {"artifact": info["artifact"], "framework": info.get("framework")}, False, None,
            )
        )  # fmt: skip
        op.data["response"] = {
            "@type": TYPE + "UploadModelResponse", "model": mrow.name, "modelVersionId": version_id,
        }  # fmt: skip

    # ---- patch and aliases -----------------------------------------------------------------

    def patch_model(
        self, project: str, location: str, segment: str, body: Json, mask: str | None
    ) -> Json:
        ref = segment.partition("@")[2]
        version_level = ref not in ("", "-")
        if version_level:
            paths = rules.split_mask(mask, rules.VERSION_MASKS, ("displayName", "description"))
        else:
            paths = rules.split_mask(mask, rules.MODEL_MASKS, ("versionDescription",))
        with self.store.transaction():
            mrow, vrow = self._resolve(project, location, segment)
            target = vrow if version_level else mrow
            for path in paths:
                value = body.get(path)
                if path == "displayName":
                    value = rules.display_name(value, "model")
                elif path == "labels":
                    value = rules.labels(value, "model")
                if value in (None, "", {}) and path != "labels":
                    target.data.pop(path, None)
                else:
                    target.data[path] = value or {}
            stamp = now_iso()
            target.data["etag"] = new_etag()
            target.data["versionUpdateTime" if version_level else "updateTime"] = stamp
            self.store.put(target)
            return self._view(mrow, vrow)

    def merge_aliases(self, project: str, location: str, segment: str, body: Json) -> Json:
        if "@" not in segment or segment.endswith("@-"):
            raise invalid(
                "mergeVersionAliases needs a version name: projects/P/locations/L/models/M@N."
            )
        changes = rules.aliases(body.get("versionAliases"), removals=True)
        if not changes:
            raise invalid("Field: version_aliases Error: at least one alias must be given.")
        adds = {a for a in changes if not a.startswith("-")}
        removes = {a[1:] for a in changes if a.startswith("-")}
        if DEFAULT in removes:
            raise invalid(
                "Field: version_aliases Error: the default alias cannot be removed; there is "
                "exactly one default version (add `default` to another version to move it)."
            )
        adds, removes = adds - removes, removes - adds
        with self.store.transaction():
            mrow, vrow = self._resolve(project, location, segment)
            self._take_aliases(mrow, vrow, sorted(adds - {DEFAULT}))
            current = [a for a in vrow.data["aliases"] if a not in removes]
            current += sorted(a for a in adds - {DEFAULT} if a not in current)
            vrow.data["aliases"] = current
            if DEFAULT in adds and mrow.internal["default"] != vrow.data["versionId"]:
                mrow.internal["default"] = vrow.data["versionId"]
                mrow.data["etag"] = new_etag()
                self.store.put(mrow)
            vrow.data["etag"] = new_etag()
            vrow.data["versionUpdateTime"] = now_iso()
            self.store.put(vrow)
            return self._view(mrow, vrow)

    # ---- deletion --------------------------------------------------------------------------

    def _pending_deploys_of(self, project: str, prefix: str) -> list[Row]:
        return [
            r
            for r in self.store.pending_operations(project, kind=VOPERATION)
            if r.internal["type"] == "deploy" and r.internal["version"].startswith(prefix)
        ]

    def delete_version(self, project: str, location: str, segment: str) -> Json:
        ref = segment.partition("@")[2]
        if not ref.isdigit():
            raise invalid(
                "deleteVersion needs a version ID: projects/P/locations/L/models/M@N (no alias)."
            )
        with self.store.transaction():
            mrow, vrow = self._resolve(project, location, segment)
            label = f"version {ref} of {mrow.name}"
            pending = self._pending_deploys_of(project, vrow.name)
            reported = self._reported_deployments(vrow)
            if reported or any(r.internal["version"] == vrow.name for r in pending):
                where = ", ".join(d["endpoint"] for d in reported)
                raise precondition(
                    f"The model version {label} is deployed (to {where or 'an endpoint, now'}); "
                    "undeploy it first."
                )
            if len(self._versions(mrow)) == 1:
                raise precondition(
                    f"Cannot delete {label}: it is the only version; delete the model."
                )
            if mrow.internal["default"] == ref:
                raise precondition(
                    f"Cannot delete {label}: it holds the default alias. Move `default` to "
                    "another version first."
                )
            if vrow.internal.get("busy"):
                raise precondition(f"{label} is already being deleted.")
            op = self._new_operation(
                project, location, mrow.name, "delete_version", "DeleteOperationMetadata",
                {"version": vrow.name},
            )  # fmt: skip
            vrow.internal["busy"] = op["name"]
            self.store.put(vrow)
        self.wake()
        return op

    def _finish_delete_version(self, op: Row, outcome: str | None) -> None:
        vrow = self.store.get(VVERSION, ENDPOINT, op.internal["version"])
        if vrow is not None:
            self._drop_version(vrow)
        op.data["response"] = {"@type": EMPTY_TYPE}

    def _drop_version(self, vrow: Row) -> None:
        self.store.delete(VVERSION, ENDPOINT, vrow.name)
        artifact = vrow.internal.get("artifact")
        if artifact:
            from deployer.emulator import predict

            predict.forget(Path(artifact))
            shutil.rmtree(artifact, ignore_errors=True)

    def delete_model(self, project: str, location: str, segment: str) -> Json:
        if "@" in segment:
            raise invalid("models.delete takes a model name without @; use deleteVersion.")
        with self.store.transaction():
            mrow = self._model_row(project, location, segment)
            deployed = [v for v in self._versions(mrow) if self._reported_deployments(v)]
            if deployed or self._pending_deploys_of(project, mrow.name + "@"):
                raise precondition(
                    f"Model {mrow.name} cannot be deleted while an Endpoint has a DeployedModel "
                    "based on it; undeploy it first."
                )
            if mrow.internal.get("busy"):
                raise precondition(f"Model {mrow.name} is already being deleted.")
            op = self._new_operation(
                project, location, mrow.name, "delete_model", "DeleteOperationMetadata",
                {"model": mrow.name},
            )  # fmt: skip
            mrow.internal["busy"] = op["name"]
            self.store.put(mrow)
        self.wake()
        return op

    def _finish_delete_model(self, op: Row, outcome: str | None) -> None:
        mrow = self.store.get(VMODEL, ENDPOINT, op.internal["model"])
        if mrow is not None:
            for vrow in self._versions(mrow):
                self._drop_version(vrow)
            self.store.delete(VMODEL, ENDPOINT, mrow.name)
        op.data["response"] = {"@type": EMPTY_TYPE}
