"""Vertex endpoints: create, patch, delete, deploy, undeploy, mutate and predict.

Deploy, undeploy, mutate and delete mark the endpoint busy until their operation ends; while it
is busy every other mutation is refused (FAILED_PRECONDITION), the strictest plausible reading
of the service's undocumented concurrency rule.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from deployer.emulator.apierrors import (
    ApiError,
    PredictError,
    exists,
    invalid,
    not_found,
    precondition,
)
from deployer.emulator.base import new_etag, now_iso
from deployer.emulator.listing import paginate
from deployer.emulator.project import quotas
from deployer.emulator.store import Row
from deployer.emulator.vertex import rules
from deployer.emulator.vertex.base import (
    EMPTY_TYPE,
    ENDPOINT,
    GENERIC,
    TYPE,
    VBQTABLE,
    VENDPOINT,
    VOPERATION,
    VPOOL,
    VVERSION,
    Json,
    location_name,
    numeric_id,
    project_number,
)
from deployer.emulator.vertex.registry import Registry
from deployer.emulator.vertex.serving import serve
from deployer.providers.vertex import catalog as cv

ENDPOINT_ID_LETTERS = r"^[a-z][a-z0-9-]{0,62}$"


def endpoint_name(project: str, location: str, endpoint: str) -> str:
    return f"{location_name(project, location)}/endpoints/{endpoint}"


class Endpoints(Registry):
    def _endpoint_row(self, project: str, location: str, endpoint: str) -> Row:
        row = self.store.get(VENDPOINT, ENDPOINT, endpoint_name(project, location, endpoint))
        if row is None:
            raise not_found(f"Endpoint {endpoint_name(project, location, endpoint)!r} not found.")
        return row

    def _mutable(self, row: Row) -> None:
        busy = row.internal.get("busy")
        if busy:
            raise precondition(
                f"Endpoint {row.name} has a running operation ({busy}); wait for it to finish "
                "before changing the endpoint again."
            )

    @staticmethod
    def _endpoint_view(row: Row) -> Json:
        data = copy.deepcopy(row.data)
        for key in ("deployedModels", "trafficSplit", "labels"):
            if not data.get(key):
                data.pop(key, None)
        return data

    def _touch(self, row: Row) -> None:
        row.data["etag"] = new_etag()
        row.data["updateTime"] = now_iso()
        self.store.put(row)

    # ---- create / read / patch / delete ----------------------------------------------------

    def create_endpoint(
        self, project: str, location: str, body: Json, endpoint_id: str | None
    ) -> Json:
        import re

        fields: Json = {
            "displayName": rules.display_name(body.get("displayName"), "endpoint"),
            "labels": rules.labels(body.get("labels"), "endpoint"),
        }
        for key in (
            "description",
            "predictRequestResponseLoggingConfig",
            "dedicatedEndpointEnabled",
            "clientConnectionConfig",
            "privateServiceConnectConfig",
            "network",
        ):
            if body.get(key) is not None:
                fields[key] = body[key]
        _check_logging(fields.get("predictRequestResponseLoggingConfig"))
        rules.endpoint_access(fields)
        rules.check_prediction_location(location, "endpoints.create")
        if endpoint_id and not (
            cv.ENDPOINT_ID_RE.match(endpoint_id) or re.match(ENDPOINT_ID_LETTERS, endpoint_id)
        ):
            raise invalid(
                f"Field: endpoint_id Error: {endpoint_id!r} is not a valid endpoint ID: a number "
                "without leading zeros or a lowercase letter followed by [a-z0-9-]."
            )
        with self.store.transaction():
            name = endpoint_name(project, location, endpoint_id or numeric_id(19))
            reserved = [
                r.internal.get("endpoint")
                for r in self.store.pending_operations(project, kind=VOPERATION)
                if r.internal["type"] == "create_endpoint"
            ]
            if self.store.get(VENDPOINT, ENDPOINT, name) is not None or name in reserved:
                raise exists(f"Endpoint {name!r} already exists.")
            self._claim_table(project, fields.get("predictRequestResponseLoggingConfig"), name)
            op = self._new_operation(
                project, location, name, "create_endpoint", "CreateEndpointOperationMetadata",
                {"create": name, "fields": fields},
            )  # fmt: skip
        self.wake()
        return op

    def _finish_create_endpoint(self, op: Row, outcome: str | None) -> None:
        name = op.internal["create"]
        if self.store.get(VENDPOINT, ENDPOINT, name) is not None:
            self._fail(op, "ALREADY_EXISTS", f"Endpoint {name!r} already exists.")
            return
        stamp = now_iso()
        data = {
            **op.internal["fields"], "name": name, "createTime": stamp, "updateTime": stamp,
            "etag": new_etag(), "deployedModels": [], "trafficSplit": {},
        }  # fmt: skip
        _dedicated_dns(data)
        if data.get("privateServiceConnectConfig"):  # output only [DD]; its shape [INF]
            data["privateServiceConnectConfig"]["serviceAttachment"] = (
                f"projects/{project_number(op.project)}/regions/{name.split('/')[3]}/"
                f"serviceAttachments/sa-{name.rsplit('/', 1)[1]}"
            )
        row = Row(VENDPOINT, ENDPOINT, name, op.parent, op.project, data, {}, False, None)
        self.store.put(row)
        op.data["response"] = {"@type": TYPE + "Endpoint", **self._endpoint_view(row)}

    def get_endpoint(self, project: str, location: str, endpoint: str) -> Json:
        with self.store.transaction():
            return self._endpoint_view(self._endpoint_row(project, location, endpoint))

    def list_endpoints(self, project: str, location: str, query: dict[str, str]) -> Json:
        with self.store.transaction():
            rows = self.store.children(VENDPOINT, ENDPOINT, location_name(project, location))
            views = [self._endpoint_view(r) for r in rows]
        return paginate(views, query, "endpoints")

    def patch_endpoint(
        self, project: str, location: str, endpoint: str, body: Json, mask: str | None
    ) -> Json:
        paths = rules.endpoint_mask(mask)
        with self.store.transaction():
            row = self._endpoint_row(project, location, endpoint)
            if body.get("etag") and body["etag"] != row.data["etag"]:
                raise ApiError(
                    409, f"The etag {body['etag']!r} does not match the endpoint's current etag; "
                    "read it again.", "ABORTED",
                )  # fmt: skip
            self._mutable(row)
            for path in paths:
                value = body.get(path)
                if path == "displayName":
                    value = rules.display_name(value, "endpoint")
                elif path == "labels":
                    value = rules.labels(value, "endpoint")
                elif path == "trafficSplit":
                    ids = {d["id"] for d in row.data["deployedModels"]}
                    value = rules.traffic(value, ids, new_key=False)
                elif path == "predictRequestResponseLoggingConfig":
                    _check_logging(value)
                    if _table(value) != _table(row.data.get(path)):
                        self._claim_table(project, value, row.name)
                elif path == "privateServiceConnectConfig":
                    value = _psc_patch(row.data.get(path), value)
                elif path == "dedicatedEndpointEnabled":
                    rules.endpoint_access({**row.data, path: value})
                if value is None or value == "" or value is False:
                    row.data.pop(path, None)
                else:
                    row.data[path] = value
            _dedicated_dns(row.data)
            self._touch(row)
            return self._endpoint_view(row)

    def update_endpoint(self, project: str, location: str, endpoint: str, body: Json) -> Json:
        """endpoints.update (UpdateEndpointLongRunning), an LRO: "Currently we only support
        updating the `client_connection_config` field, all the other fields' update will be
        blocked" [DD]: any other field differing from the endpoint's is refused."""
        wanted = body.get("endpoint") or {}
        with self.store.transaction():
            row = self._endpoint_row(project, location, endpoint)
            self._mutable(row)
            for key, value in wanted.items():
                if key in ("name", "clientConnectionConfig", "etag"):
                    continue
                if value != row.data.get(key):
                    raise invalid(
                        f"Field: endpoint.{key} Error: endpoints.update changes only "
                        "client_connection_config; use endpoints.patch for the rest."
                    )
            config = wanted.get("clientConnectionConfig")
            rules.connection(config, row.data)
            op = self._busy_operation(row, "update_endpoint", GENERIC, {"config": config})
        self.wake()
        return op

    def _finish_update_endpoint(self, op: Row, outcome: str | None) -> None:
        row = self.store.get(VENDPOINT, ENDPOINT, op.internal["endpoint"])
        if row is None:
            self._fail(op, "NOT_FOUND", "The endpoint no longer exists.")
            return
        if op.internal["config"]:
            row.data["clientConnectionConfig"] = op.internal["config"]
        else:
            row.data.pop("clientConnectionConfig", None)
        self._touch(row)
        op.data["response"] = {"@type": TYPE + "Endpoint", **self._endpoint_view(row)}

    def delete_endpoint(self, project: str, location: str, endpoint: str) -> Json:
        with self.store.transaction():
            row = self._endpoint_row(project, location, endpoint)
            self._mutable(row)
            if row.data["deployedModels"]:
                ids = ", ".join(d["id"] for d in row.data["deployedModels"])
                raise precondition(
                    f"Endpoint {row.name} has deployed models ({ids}); undeploy them first."
                )
            op = self._busy_operation(row, "delete_endpoint", "DeleteOperationMetadata", {})
        self.wake()
        return op

    def _claim_table(self, project: str, config: Any, endpoint: str) -> None:
        """A full `bq://project.dataset.table` must name a table that does not exist; the service
        then creates it, and it outlives the endpoint.

        BigQueryDestination.outputUri [DD]: "When the full table reference is specified, the
        Dataset must exist and table must not exist." The refusal's wording is [INF]."""
        table = _table(config)
        if table is None:
            return
        owner = self.store.get(VBQTABLE, ENDPOINT, table)
        if owner is not None:
            raise invalid(
                "Field: predict_request_response_logging_config.bigquery_destination.output_uri "
                f"Error: BigQuery table {table} already exists (created for "
                f"{owner.data['endpoint']}); a full table "
                "reference must name a table that does not exist yet."
            )
        data = {"endpoint": endpoint}
        self.store.put(Row(VBQTABLE, ENDPOINT, table, project, project, data, {}, False, None))

    def _busy_operation(self, row: Row, op_type: str, metadata: str, internal: Json) -> Json:
        project, location = row.name.split("/")[1], row.name.split("/")[3]
        extra = {"deploymentStage": "STARTING_DEPLOYMENT"} if op_type == "deploy" else None
        op = self._new_operation(
            project,
            location,
            row.name,
            op_type,
            metadata,
            {**internal, "endpoint": row.name},
            extra,
        )
        row.internal["busy"] = op["name"]
        self.store.put(row)
        return op

    def _finish_delete_endpoint(self, op: Row, outcome: str | None) -> None:
        self.store.delete(VENDPOINT, ENDPOINT, op.internal["endpoint"])
        op.data["response"] = {"@type": EMPTY_TYPE}

    # ---- deploy / undeploy / mutate --------------------------------------------------------

    def deploy(
        self, project: str, location: str, endpoint: str, body: Json, beta: bool = False
    ) -> Json:
        wanted = body.get("deployedModel")
        if not isinstance(wanted, dict) or not wanted.get("model"):
            raise invalid("Field: deployed_model.model Error: the model to deploy is required.")
        if wanted.get("automaticResources"):
            raise invalid(
                "Field: deployed_model Error: the model does not support AUTOMATIC_RESOURCES."
            )
        rules.check_prediction_location(location, "deployModel")
        rules.service_account(wanted.get("serviceAccount"))
        with self.store.transaction():
            row = self._endpoint_row(project, location, endpoint)
            self._mutable(row)
            mrow, vrow = self._resolve_name(wanted["model"])
            if vrow.internal.get("busy"):
                raise precondition(f"Model version {vrow.name} is being deleted.")
            image = vrow.data["containerSpec"]["imageUri"]
            if wanted.get("rolloutOptions"):
                previous = self._previous(row, wanted["rolloutOptions"])
                wanted = _rolled(wanted, previous)
                resources = previous["dedicatedResources"]
            elif wanted.get("sharedResources"):
                resources = None
                self._check_shared(row, wanted, image)
            else:
                resources = rules.dedicated_resources(
                    wanted.get("dedicatedResources"), image, beta=beta
                )
            ids = {d["id"] for d in row.data["deployedModels"]}
            if row.data.get("network") and ids and not wanted.get("rolloutOptions"):
                # SDK PrivateEndpoint: "A maximum of one model can be deployed to each private
                # Endpoint" (VPC peering)
                raise precondition(
                    f"Endpoint {row.name} is peered with a VPC network and already serves a "
                    "deployed model; a maximum of one model can be deployed to it."
                )
            dm_id = wanted.get("id")
            if dm_id and not cv.DEPLOYED_MODEL_ID_RE.match(dm_id):
                raise invalid(f"Field: deployed_model.id Error: {dm_id!r} must be 1-10 digits.")
            # DeployedModel.id [DD]: a chosen ID has 1-10 digits; the service's own are 19
            # digits (vertex-ai-samples#996: "deployed_model_id: 5065727146094231552")
            dm_id = dm_id or numeric_id(19 if self.knobs.get().vertex_service_names else 10)
            if dm_id in ids:
                raise exists(f"DeployedModel {dm_id} already exists on {row.name}.")
            split = rules.traffic(body.get("trafficSplit"), ids, new_key=True)
            deployed = {
                **{k: v for k, v in wanted.items() if v is not None},
                "id": dm_id, "model": mrow.name, "modelVersionId": vrow.data["versionId"],
                "displayName": wanted.get("displayName") or mrow.data["displayName"],
            }  # fmt: skip
            if resources is not None:
                deployed["dedicatedResources"] = resources
            op = self._busy_operation(
                row, "deploy", "DeployModelOperationMetadata",
                {"deployed": deployed, "split": split, "version": vrow.name},
            )  # fmt: skip
        self.wake()
        return op

    def _finish_deploy(self, op: Row, outcome: str | None) -> None:
        row = self.store.get(VENDPOINT, ENDPOINT, op.internal["endpoint"])
        vrow = self.store.get(VVERSION, ENDPOINT, op.internal["version"])
        if row is None or vrow is None:
            self._fail(op, "NOT_FOUND", "The endpoint or the model version no longer exists.")
            op.data["metadata"]["deploymentStage"] = "FAILED_TO_DEPLOY"
            return
        refusal = self._deploy_refusal(op, row, op.internal["deployed"], vrow)
        if refusal is not None:
            self._fail(op, *refusal)
            op.data["metadata"]["deploymentStage"] = "FAILED_TO_DEPLOY"
            return
        stamp = now_iso()
        resources = op.internal["deployed"].get("dedicatedResources") or {}
        deployed = {
            **op.internal["deployed"], "createTime": stamp,
            "status": {
                "availableReplicaCount": resources.get("minReplicaCount", 1),
                "lastUpdateTime": stamp,
            },
        }  # fmt: skip
        row.data["deployedModels"].append(deployed)
        split = op.internal["split"]
        if split:
            row.data["trafficSplit"] = {
                (deployed["id"] if k == "0" else k): v for k, v in split.items()
            }
        previous = (deployed.get("rolloutOptions") or {}).get("previousDeployedModel")
        if previous:
            self._replace_previous(row, str(previous), deployed["id"])
        self._touch(row)
        vrow.data["deployedModels"].append(
            {"endpoint": row.name, "deployedModelId": deployed["id"]}
        )
        self.store.put(vrow)
        op.data["metadata"]["deploymentStage"] = "SUCCESSFULLY_DEPLOYED"
        op.data["response"] = {"@type": TYPE + "DeployModelResponse", "deployedModel": deployed}

    def _previous(self, row: Row, options: Json) -> Json:
        """The deployment a rolling update replaces ([DD v1beta1] RolloutOptions
        .previousDeployedModel: "ID of the DeployedModel that this deployment should
        replace"), on the same endpoint [DOCS rolling-deployment]; with surge and unavailable
        both 0 nothing could be replaced [INF]."""
        previous_id = str(options.get("previousDeployedModel") or "")
        previous = next((d for d in row.data["deployedModels"] if d["id"] == previous_id), None)
        if previous is None:
            raise invalid(
                "Field: deployed_model.rollout_options.previous_deployed_model Error: "
                f"DeployedModel {previous_id!r} is not deployed on {row.name}."
            )
        if not previous.get("dedicatedResources"):
            raise invalid(
                "Field: deployed_model.rollout_options Error: a rolling deployment replaces a "
                "deployment on dedicated resources."
            )
        for kind in ("Surge", "Unavailable"):
            if options.get(f"max{kind}Replicas") and options.get(f"max{kind}Percentage"):
                raise invalid(
                    f"Field: deployed_model.rollout_options Error: max_{kind.lower()}_replicas "
                    f"and max_{kind.lower()}_percentage cannot both be set."
                )
            pct = options.get(f"max{kind}Percentage")
            if pct is not None and not 0 <= pct <= 100:
                raise invalid(
                    f"Field: deployed_model.rollout_options Error: max_{kind.lower()}_percentage "
                    f"must be 0-100; got {pct}."
                )
        surge = options.get("maxSurgeReplicas") or options.get("maxSurgePercentage")
        down = options.get("maxUnavailableReplicas") or options.get("maxUnavailablePercentage")
        if not surge and not down:
            raise invalid(
                "Field: deployed_model.rollout_options Error: max surge and max unavailable "
                "cannot both be 0."
            )
        return previous

    def _replace_previous(self, row: Row, previous: str, new: str) -> None:
        """A rolling deployment done: the previous deployment's replicas are replaced and "the
        traffic split is updated to show that all of the traffic from the previous
        DeployedModel has migrated to the new deployment" [DOCS rolling-deployment]; the
        previous DeployedModel leaves the endpoint [INF]."""
        gone = next((d for d in row.data["deployedModels"] if d["id"] == previous), None)
        row.data["deployedModels"] = [d for d in row.data["deployedModels"] if d["id"] != previous]
        split = row.data["trafficSplit"]
        if previous in split:
            split[new] = split.pop(previous) + split.get(new, 0)
        if gone is not None:
            self._forget_deployment(row, gone)

    def _check_shared(self, row: Row, wanted: Json, image: str) -> None:
        """A deployment on a pool: the pool exists in the endpoint's project and location, the
        model can be co-hosted (TensorFlow's prebuilt images here [DOCS model-co-hosting]:
        custom containers and other frameworks' images are not supported), no dedicated
        resources beside it, and no private endpoint ([SDK] "Model co-hosting is not supported
        for PrivateEndpoint")."""
        name = str(wanted["sharedResources"])
        if wanted.get("dedicatedResources"):
            raise invalid(
                "Field: deployed_model Error: shared_resources and dedicated_resources "
                "exclude each other."
            )
        if not name.startswith(f"{row.parent}/deploymentResourcePools/"):
            raise invalid(
                f"Field: deployed_model.shared_resources Error: {name!r} is not a deployment "
                f"resource pool of {row.parent}."
            )
        pool = self.store.get(VPOOL, ENDPOINT, name)
        if pool is None or pool.internal.get("busy"):
            raise not_found(f"DeploymentResourcePool {name!r} not found.")
        if cv.image_framework(image) != "tensorflow":
            raise invalid(
                "Field: deployed_model.shared_resources Error: the model does not support "
                "SHARED_RESOURCES (only TensorFlow models on the prebuilt images can be "
                "co-hosted)."
            )
        if row.data.get("network") or row.data.get("privateServiceConnectConfig"):
            raise invalid(
                "Field: deployed_model.shared_resources Error: model co-hosting is not "
                "supported on private endpoints."
            )

    def _quota_refusal(self, row: Row, resources: Json, skip: str | None) -> tuple[str, str] | None:
        """RESOURCE_EXHAUSTED when the deployment does not fit the project's serving quota in
        the endpoint's region beside the project's other deployments (leaving out deployed
        model `skip`, which it replaces): the limits Service Usage reports (project/quotas)."""
        others = [
            dm["dedicatedResources"]
            for endpoint in self.store.children(VENDPOINT, ENDPOINT, row.parent)
            for dm in endpoint.data["deployedModels"]
            if dm.get("dedicatedResources") and not (endpoint.name == row.name and dm["id"] == skip)
        ]
        # A pool counts once while a model is deployed on it ([DOCS model-co-hosting]: "An
        # empty deployment resource pool does not consume resource quota").
        pools = {
            str(dm["sharedResources"])
            for endpoint in self.store.children(VENDPOINT, ENDPOINT, row.parent)
            for dm in endpoint.data["deployedModels"]
            if dm.get("sharedResources")
        }
        for name in sorted(pools):
            pool = self.store.get(VPOOL, ENDPOINT, name)
            if pool is not None:
                others.append(pool.data["dedicatedResources"])
        region = row.name.split("/")[3]
        why = quotas.refusal(self.knobs.get(), region, resources, others)
        return None if why is None else ("RESOURCE_EXHAUSTED", why)

    def _deploy_refusal(
        self, op: Row, row: Row, deployed: Json, vrow: Row
    ) -> tuple[str, str] | None:
        """Why a deploy fails inside its finished operation (None: it succeeds): the serving
        quota, or (`vertex_deploy_failure_rate`) an image that cannot be pulled or a model
        server that crashes at start."""
        previous = (deployed.get("rolloutOptions") or {}).get("previousDeployedModel")
        if deployed.get("dedicatedResources"):
            quota = self._quota_refusal(row, deployed["dedicatedResources"], previous)
            if quota is not None:
                return quota
        if deployed.get("sharedResources") and (
            self.store.get(VPOOL, ENDPOINT, deployed["sharedResources"]) is None
        ):
            return ("NOT_FOUND", f"DeploymentResourcePool {deployed['sharedResources']} is gone.")
        if not self.knobs.chance(self.knobs.get().vertex_deploy_failure_rate):
            return None
        image = vrow.data["containerSpec"]["imageUri"]
        if self.knobs.pick(("pull", "crash")) == "pull":
            return (
                "FAILED_PRECONDITION",  # [INF] code and wording
                f"Failed to deploy model {deployed['model']}: the serving image {image} could "
                "not be pulled (it does not exist, or the Vertex AI Service Agent cannot read "
                "it).",
            )
        return (
            "FAILED_PRECONDITION",  # vertex-ai-samples#874, #1052: "400 ... never became ready"
            "Model server never became ready. Please validate that your model file or "
            "container configuration are valid. (The model server exited at start.)",
        )

    def undeploy(self, project: str, location: str, endpoint: str, body: Json) -> Json:
        dm_id = body.get("deployedModelId")
        if not dm_id:
            raise invalid("Field: deployed_model_id Error: a deployed model ID is required.")
        with self.store.transaction():
            row = self._endpoint_row(project, location, endpoint)
            self._mutable(row)
            ids = {d["id"] for d in row.data["deployedModels"]}
            if dm_id not in ids:
                raise not_found(f"The following DeployedModel ID(s) [{dm_id}] do not exist.")
            split = rules.traffic(body.get("trafficSplit"), ids, new_key=False, undeploy=True)
            share = (split or row.data["trafficSplit"]).get(dm_id, 0)
            # UndeployModelRequest.traffic_split [DD]: "If last DeployedModel is being
            # undeployed from the Endpoint, the [Endpoint.traffic_split] will always end up
            # empty"; the SDK's undeploy_all / delete(force=True) send no split for it.
            if share and ids != {dm_id}:
                raise precondition(
                    f"DeployedModel {dm_id} has {share}% of the traffic of {row.name}; move the "
                    "traffic away first (endpoints.patch trafficSplit), or give a trafficSplit "
                    "without it."
                )
            op = self._busy_operation(
                row, "undeploy", "UndeployModelOperationMetadata", {"id": dm_id, "split": split}
            )
        self.wake()
        return op

    def _finish_undeploy(self, op: Row, outcome: str | None) -> None:
        row = self.store.get(VENDPOINT, ENDPOINT, op.internal["endpoint"])
        dm_id = op.internal["id"]
        if row is None:
            self._fail(op, "NOT_FOUND", "The endpoint no longer exists.")
            return
        gone = next((d for d in row.data["deployedModels"] if d["id"] == dm_id), None)
        row.data["deployedModels"] = [d for d in row.data["deployedModels"] if d["id"] != dm_id]
        split = op.internal["split"] or row.data["trafficSplit"]
        row.data["trafficSplit"] = {k: v for k, v in split.items() if k != dm_id}
        if not row.data["deployedModels"]:
            row.data["trafficSplit"] = {}
        self._touch(row)
        if gone is not None:
            self._forget_deployment(row, gone)
        op.data["response"] = {"@type": TYPE + "UndeployModelResponse"}

    def _forget_deployment(self, row: Row, gone: Json) -> None:
        """The registry version no longer lists a deployment that left the endpoint (after the
        `vertex_undeploy_settle_s` lag, python-aiplatform#2807)."""
        vname = f"{gone['model']}@{gone['modelVersionId']}"
        vrow = self.store.get(VVERSION, ENDPOINT, vname)
        if vrow is None:
            return
        entry = {"endpoint": row.name, "deployedModelId": gone["id"]}
        vrow.data["deployedModels"] = [d for d in vrow.data["deployedModels"] if d != entry]
        settle = self.knobs.get().vertex_undeploy_settle_s
        if settle > 0:
            now = time.time()
            vrow.internal["settling"] = [
                *(e for e in vrow.internal.get("settling", []) if now - e["at"] < settle),
                {**entry, "at": now},
            ]
        self.store.put(vrow)

    def mutate(
        self, project: str, location: str, endpoint: str, body: Json, beta: bool = False
    ) -> Json:
        paths = rules.mutate_mask(body.get("updateMask"), beta)
        wanted = body.get("deployedModel") or {}
        with self.store.transaction():
            row = self._endpoint_row(project, location, endpoint)
            self._mutable(row)
            current = next(
                (d for d in row.data["deployedModels"] if d["id"] == wanted.get("id")), None
            )
            if current is None:
                raise not_found(
                    f"The following DeployedModel ID(s) [{wanted.get('id')}] do not exist."
                )
            merged = copy.deepcopy(current)
            for path in paths:
                head, _, leaf = path.partition(".")
                source = wanted.get(head) or {}
                if leaf:
                    value = source.get(leaf) if isinstance(source, dict) else None
                    target = merged.setdefault(head, {})
                    if value is None:
                        target.pop(leaf, None)
                    else:
                        target[leaf] = value
                elif wanted.get(head) is None:
                    merged.pop(head, None)
                else:
                    merged[head] = wanted[head]
            vrow = self.store.get(
                VVERSION, ENDPOINT, f"{merged['model']}@{merged['modelVersionId']}"
            )
            image = vrow.data["containerSpec"]["imageUri"] if vrow else None
            if current.get("sharedResources"):
                raise invalid(
                    "Field: deployed_model Error: a deployment on a shared resource pool scales "
                    "with its pool; there is nothing to mutate."
                )
            merged["dedicatedResources"] = rules.dedicated_resources(
                merged.get("dedicatedResources"), image, beta=beta
            )
            op = self._busy_operation(
                row, "mutate", "MutateDeployedModelOperationMetadata",
                {"id": merged["id"], "deployed": merged},
            )  # fmt: skip
        self.wake()
        return op

    def _finish_mutate(self, op: Row, outcome: str | None) -> None:
        row = self.store.get(VENDPOINT, ENDPOINT, op.internal["endpoint"])
        if row is None:
            self._fail(op, "NOT_FOUND", "The endpoint no longer exists.")
            return
        merged = op.internal["deployed"]
        quota = self._quota_refusal(row, merged["dedicatedResources"], merged["id"])
        if quota is not None:
            self._fail(op, *quota)
            return
        row.data["deployedModels"] = [
            merged if d["id"] == merged["id"] else d for d in row.data["deployedModels"]
        ]
        self._touch(row)
        op.data["response"] = {
            "@type": TYPE + "MutateDeployedModelResponse", "deployedModel": merged,
        }  # fmt: skip

    # ---- predict ---------------------------------------------------------------------------

    def predict(self, project: str, location: str, endpoint: str, body: Json) -> Json:
        with self.store.transaction():
            row = self._endpoint_row(project, location, endpoint)
            if row.data.get("dedicatedEndpointEnabled"):
                # Endpoint.dedicatedEndpointEnabled [DD]: "Once you enabled dedicated endpoint,
                # you won't be able to send request to the shared DNS"
                raise precondition(
                    f"Endpoint {row.name} is a dedicated endpoint: send requests to its "
                    f"dedicated DNS {row.data.get('dedicatedEndpointDns', '')}, not the shared "
                    "regional host."
                )
            if row.data.get("network") or row.data.get("privateServiceConnectConfig"):
                raise precondition(  # [INF] private endpoints answer on their private address
                    f"Endpoint {row.name} is a private endpoint: send requests through its "
                    "private address, not the shared regional host."
                )
            split = {k: v for k, v in row.data["trafficSplit"].items() if v > 0}
            if not split:
                raise precondition(
                    f"Endpoint {row.name} has no traffic split: no DeployedModel receives "
                    "traffic, so there is nothing to serve the prediction."
                )
            keys = sorted(split)
            dm_id = self.knobs.weighted(keys, [split[k] for k in keys])
            deployed = next(d for d in row.data["deployedModels"] if d["id"] == dm_id)
            mrow, vrow = self._resolve_name(f"{deployed['model']}@{deployed['modelVersionId']}")
        try:
            predictions = serve(
                vrow.internal.get("framework"), Path(vrow.internal["artifact"]), body
            )
        except PredictError as exc:
            raise precondition(str(exc)) from None
        return {
            "predictions": predictions, "deployedModelId": dm_id, "model": mrow.name,
            "modelVersionId": vrow.data["versionId"], "modelDisplayName": mrow.data["displayName"],
        }  # fmt: skip


def _dedicated_dns(data: Json) -> None:
    """Endpoint.dedicatedEndpointDns [DD], output only: "Will only be populated if
    dedicated_endpoint_enabled is true. Format: `https://{endpoint_id}.{region}-{uid}
    .prediction.vertexai.goog`" (uid: the project number in the Terraform docs)."""
    if data.get("dedicatedEndpointEnabled"):
        _, project, _, region, _, endpoint_id = str(data["name"]).split("/")
        data["dedicatedEndpointDns"] = (
            f"{endpoint_id}.{region}-{project_number(project)}.prediction.vertexai.goog"
        )
    else:
        data.pop("dedicatedEndpointDns", None)


def _psc_patch(current: Any, wanted: Any) -> Json:
    """A patched Private Service Connect config: the allow-list changes;
    enablePrivateServiceConnect is `immutable: true` ([MM] Endpoint.yaml)."""
    current, wanted = current or {}, wanted or {}
    if bool(current.get("enablePrivateServiceConnect")) != bool(
        wanted.get("enablePrivateServiceConnect")
    ):
        raise invalid(
            "Field: endpoint.private_service_connect_config.enable_private_service_connect "
            "Error: fixed at the endpoint's creation; create a new endpoint."
        )
    for project in wanted.get("projectAllowlist") or []:
        if not cv.PROJECT_ID_RE.match(str(project)):
            raise invalid(
                "Field: endpoint.private_service_connect_config.project_allowlist Error: "
                f"{project!r} is not a project ID."
            )
    return {**current, "projectAllowlist": list(wanted.get("projectAllowlist") or [])}


def _rolled(wanted: Json, previous: Json) -> Json:
    """The new deployment of a rolling update: the previous one's resources and settings
    unless given anew [DOCS rolling-deployment], and its revision one higher ([DD v1beta1]
    RolloutOptions.revisionNumber, output only)."""
    options = dict(wanted["rolloutOptions"])
    options["revisionNumber"] = int((previous.get("rolloutOptions") or {}).get("revisionNumber", 0))
    options["revisionNumber"] += 1
    inherited: Json = {
        k: copy.deepcopy(previous[k])
        for k in ("serviceAccount", "disableContainerLogging", "enableAccessLogging")
        if k in previous and wanted.get(k) is None
    }
    return {**inherited, **wanted, "rolloutOptions": options}


def _table(config: Any) -> str | None:
    """`project.dataset.table` of a logging config naming a full table, else None."""
    uri = ((config or {}).get("bigqueryDestination") or {}).get("outputUri")
    ref = str(uri or "").removeprefix("bq://")
    return ref if uri and ref.count(".") == 2 else None


def _check_logging(config: Any) -> None:
    if not config:
        return
    rate = config.get("samplingRate")
    if rate is not None and not 0 < rate <= 1:
        raise invalid(
            "Field: predict_request_response_logging_config.sampling_rate Error: must be in "
            f"(0, 1]; got {rate!r}."
        )
    uri = (config.get("bigqueryDestination") or {}).get("outputUri")
    if uri is not None and not str(uri).startswith("bq://"):
        raise invalid(
            "Field: predict_request_response_logging_config.bigquery_destination.output_uri "
            f"Error: {uri!r} must be bq://project[.dataset[.table]]."
        )
