"""Reading a SavedModel's signatures straight from `saved_model.pb`, without TensorFlow.

Importing `tensorflow.core.protobuf.saved_model_pb2` imports all of TensorFlow (seconds), so
`plan` and `validate --artifacts` decode the few fields they need from the protobuf wire format
here instead (microseconds). Fields, from tensorflow/core/protobuf/saved_model.proto,
meta_graph.proto and tensorflow/core/framework/tensor_shape.proto:

    SavedModel     { 2: repeated MetaGraphDef meta_graphs }
    MetaGraphDef   { 1: MetaInfoDef meta_info_def; 5: map<string, SignatureDef> signature_def }
    MetaInfoDef    { 4: repeated string tags }
    SignatureDef   { 1: map<string, TensorInfo> inputs; 2: map<..> outputs; 3: string method_name }
    TensorInfo     { 1: string name; 2: DataType dtype; 3: TensorShapeProto tensor_shape }
    TensorShapeProto { 2: repeated Dim dim; 3: bool unknown_rank }   Dim { 1: int64 size }

Map entries are messages { 1: key; 2: value }. Everything else (the graph, often most of the
file) is skipped by its length without being decoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

SERVE_TAG = "serve"
DEFAULT_SIGNATURE = "serving_default"
MAX_PROTO_BYTES = 2**31 - 1
"""No protobuf message may be 2 GiB or more ("Any proto in serialized form must be <2GiB, as
that is the maximum size supported by all implementations": protobuf.dev/programming-guides/
proto-limits), so no TensorFlow loads a larger `saved_model.pb`: refused by its size, unread."""

# tensorflow/core/framework/types.proto, DataType -> the name TensorFlow's Python API prints.
DTYPES: dict[int, str] = {
    1: "float32",
    2: "float64",
    3: "int32",
    4: "uint8",
    5: "int16",
    6: "int8",
    7: "string",
    8: "complex64",
    9: "int64",
    10: "bool",
    11: "qint8",
    12: "quint8",
    13: "qint32",
    14: "bfloat16",
    15: "qint16",
    16: "quint16",
    17: "uint16",
    18: "complex128",
    19: "float16",
    20: "resource",
    21: "variant",
    22: "uint32",
    23: "uint64",
}


class SavedModelError(ValueError):
    """`saved_model.pb` is not a SavedModel protobuf."""


@dataclass(frozen=True)
class TensorSpec:
    alias: str
    dtype: str
    shape: tuple[int, ...] | None
    """Dimensions, -1 for unknown; None when even the rank is unknown."""
    name: str = ""

    @property
    def batched(self) -> bool:
        """Whether the leading dimension is the batch dimension -1 (None)."""
        return self.shape is not None and len(self.shape) > 0 and self.shape[0] == -1

    def shape_text(self) -> str:
        if self.shape is None:
            return "unknown rank"
        dims = ", ".join(str(d) for d in self.shape)
        return f"({dims},)" if len(self.shape) == 1 else f"({dims})"


@dataclass(frozen=True)
class Signature:
    name: str
    method: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class MetaGraph:
    tags: tuple[str, ...]
    signatures: Mapping[str, Signature]


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise SavedModelError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise SavedModelError("varint too long")


def _fields(buf: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value): an int for varints and fixed-width fields, a view for the rest."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise SavedModelError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise SavedModelError("truncated field")
            yield number, buf[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(buf):
                raise SavedModelError("truncated field")
            yield number, int.from_bytes(buf[pos : pos + width], "little")
            pos += width
        else:
            raise SavedModelError(f"unsupported wire type {wire}")


def _message(value: int | memoryview) -> memoryview:
    if not isinstance(value, memoryview):
        raise SavedModelError("expected a message")
    return value


def _text(value: int | memoryview) -> str:
    try:
        return bytes(_message(value)).decode("utf-8")
    except UnicodeDecodeError:
        raise SavedModelError("invalid UTF-8 in a string field") from None


def _int64(value: int | memoryview) -> int:
    if isinstance(value, memoryview):
        raise SavedModelError("expected an integer")
    return value - (1 << 64) if value >= 1 << 63 else value


def _shape(buf: memoryview) -> tuple[int, ...] | None:
    dims: list[int] = []
    for number, value in _fields(buf):
        if number == 3 and value:
            return None
        if number == 2:
            size = 0
            for n, v in _fields(_message(value)):
                if n == 1:
                    size = _int64(v)
            dims.append(size)
    return tuple(dims)


def _tensor(alias: str, buf: memoryview) -> TensorSpec:
    name, dtype, shape = "", 0, None
    for number, value in _fields(buf):
        if number == 1:
            name = _text(value)
        elif number == 2:
            dtype = _int64(value)
        elif number == 3:
            shape = _shape(_message(value))
    return TensorSpec(alias, DTYPES.get(dtype, f"dtype {dtype}"), shape, name)


def _map_entry(buf: memoryview) -> tuple[str, memoryview]:
    key, value = "", memoryview(b"")
    for number, field in _fields(buf):
        if number == 1:
            key = _text(field)
        elif number == 2:
            value = _message(field)
    return key, value


def _signature(name: str, buf: memoryview) -> Signature:
    inputs: list[TensorSpec] = []
    outputs: list[TensorSpec] = []
    method = ""
    for number, value in _fields(buf):
        if number in (1, 2):
            alias, tensor = _map_entry(_message(value))
            (inputs if number == 1 else outputs).append(_tensor(alias, tensor))
        elif number == 3:
            method = _text(value)
    inputs.sort(key=lambda t: t.alias)
    outputs.sort(key=lambda t: t.alias)
    return Signature(name, method, tuple(inputs), tuple(outputs))


def _meta_graph(buf: memoryview) -> MetaGraph:
    tags: list[str] = []
    signatures: dict[str, Signature] = {}
    for number, value in _fields(buf):
        if number == 1:
            for n, v in _fields(_message(value)):
                if n == 4:
                    tags.append(_text(v))
        elif number == 5:
            key, sig = _map_entry(_message(value))
            signatures[key] = _signature(key, sig)
    return MetaGraph(tuple(tags), dict(sorted(signatures.items())))


def parse(data: bytes) -> list[MetaGraph]:
    """The meta graphs of a `saved_model.pb`; SavedModelError when it is not one."""
    graphs = [_meta_graph(_message(v)) for n, v in _fields(memoryview(data)) if n == 2]
    if not graphs:
        raise SavedModelError("no meta graph")
    return graphs


def serving_graph(graphs: list[MetaGraph]) -> MetaGraph | None:
    """The meta graph the service loads: the one tagged `serve`."""
    return next((g for g in graphs if SERVE_TAG in g.tags), None)


def public_signatures(graph: MetaGraph) -> dict[str, Signature]:
    """The signatures a loaded model offers (TensorFlow hides `__saved_model_init_op` & co)."""
    return {k: v for k, v in graph.signatures.items() if not k.startswith("__")}


def chosen_signature(names: list[str] | Mapping[str, object]) -> str | None:
    """The signature the service picks without `signature_name`: the only one, else
    `serving_default`; None when neither applies."""
    names = list(names)
    if len(names) == 1:
        return names[0]
    return DEFAULT_SIGNATURE if DEFAULT_SIGNATURE in names else None
