"""What `deployer inspect` shows of an artifact: its signatures and an example request body.

No TensorFlow: signatures come from `saved_model.pb` (`deployer.artifacts.savedmodel`).
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

from deployer.artifacts import savedmodel
from deployer.artifacts.checks import Files, tensorflow_problems, too_big
from deployer.core.errors import DeployerError

B64_HINTS = ("_bytes", "image", "encoded", "jpeg", "png")
"""String inputs with these in their alias take binary data, sent as {"b64": ...}."""


def tiny_png() -> bytes:
    """A valid 1x1 grayscale PNG: the example payload of a binary (image) input."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def takes_b64(tensor: savedmodel.TensorSpec) -> bool:
    alias = tensor.alias.lower()
    return tensor.dtype == "string" and any(hint in alias for hint in B64_HINTS)


def _scalar(tensor: savedmodel.TensorSpec) -> Any:
    if tensor.dtype == "string":
        if takes_b64(tensor):
            return {"b64": base64.b64encode(tiny_png()).decode("ascii")}
        return "text"
    if tensor.dtype == "bool":
        return False
    if tensor.dtype.startswith(("float", "bfloat", "complex")):
        return 0.0
    return 0


def example_value(tensor: savedmodel.TensorSpec) -> Any:
    """One instance's value: the tensor without its batch dimension, unknown sizes as 1."""
    value = _scalar(tensor)
    dims = (tensor.shape or (-1,))[1:]
    for size in reversed(dims):
        value = [value] * (size if size > 0 else 1)
    return value


def example_request(signature: savedmodel.Signature) -> dict[str, Any]:
    """A request body in the service's format for the signature: raw values for one input,
    objects of input aliases for several."""
    if len(signature.inputs) == 1:
        return {"instances": [example_value(signature.inputs[0])]}
    return {"instances": [{t.alias: example_value(t) for t in signature.inputs}]}


def _tensors(tensors: tuple[savedmodel.TensorSpec, ...]) -> list[dict[str, Any]]:
    return [
        {
            "alias": t.alias,
            "dtype": t.dtype,
            "shape": list(t.shape) if t.shape is not None else None,
            "b64": takes_b64(t),
        }
        for t in tensors
    ]


def describe(files: Files) -> dict[str, Any]:
    """The document `inspect --format json` prints."""
    if "saved_model.pb" not in files.sizes:
        raise DeployerError(f"{files.where}: no saved_model.pb; not a TensorFlow SavedModel")
    oversized = too_big(files)
    if oversized:
        raise DeployerError(oversized)
    try:
        graphs = savedmodel.parse(files.read("saved_model.pb"))
    except savedmodel.SavedModelError as exc:
        raise DeployerError(f"{files.where}/saved_model.pb: not a SavedModel ({exc})") from None
    graph = savedmodel.serving_graph(graphs) or graphs[0]
    signatures = savedmodel.public_signatures(graph)
    chosen = savedmodel.chosen_signature(signatures)
    return {
        "artifact": files.where,
        "tags": list(graph.tags),
        "files": len(files.sizes),
        "bytes": sum(files.sizes.values()),
        "serving_signature": chosen,
        "signatures": {
            name: {
                "method": sig.method,
                "inputs": _tensors(sig.inputs),
                "outputs": _tensors(sig.outputs),
            }
            for name, sig in signatures.items()
        },
        "example_request": example_request(signatures[chosen]) if chosen else None,
        "problems": tensorflow_problems(files),
    }


def _shape(shape: list[int] | None) -> str:
    if shape is None:
        return "unknown rank"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def render_text(doc: dict[str, Any]) -> str:
    """A table like `saved_model_cli show --all`, then the example request."""
    import json

    lines = [
        f"{doc['artifact']}: SavedModel, tags {', '.join(doc['tags']) or 'none'}, "
        f"{doc['files']} files, {doc['bytes']} bytes"
    ]
    for name, sig in doc["signatures"].items():
        chosen = "  (used by the service)" if name == doc["serving_signature"] else ""
        lines.append("")
        lines.append(f"signature {name}{chosen}   method: {sig['method'] or '-'}")
        rows = [
            (role, t["alias"], t["dtype"] + (" (b64)" if t["b64"] else ""), _shape(t["shape"]))
            for role, key in (("input", "inputs"), ("output", "outputs"))
            for t in sig[key]
        ]
        header = ("", "alias", "dtype", "shape")
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(4)]
        for row in (header, *rows):
            lines.append(
                "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
    if doc["example_request"] is not None:
        lines.append("")
        lines.append("Example request body:")
        lines.append(json.dumps(doc["example_request"]))
    for problem in doc["problems"]:
        lines.append(f"problem: {problem}")
    return "\n".join(lines)
