"""Is a model file an ONNX model at all? Asked before a runtime is given it.

Given a file that is empty, cut short or of another kind (a photo, a video, a model of another
framework renamed ``.onnx``), ONNX Runtime answers ``[ONNXRuntimeError] : 7 : INVALID_PROTOBUF :
...Protobuf parsing failed``, and OpenVINO tries every framework it reads, TensorFlow's frontend
logging several lines of its own on the way: neither says what an operator can act on.

An ONNX file is one protobuf ``ModelProto``. Its top level is read here as protobuf's wire format
(each field a tag, then a value whose length the tag's wire type gives), which is enough to tell a
model from anything else: another kind of file breaks the format within a few bytes, and a file cut
short ends inside a field; a model has its IR version (field 1) and its graph (field 7). The operators
are not looked at: the runtimes judge those. Why not the ``onnx`` package, which parses the whole
message: importing it takes 1.2-1.6 s here, which every ``index`` and ``search`` would pay at start.
"""

from __future__ import annotations

from pathlib import Path

from models.errors import ModelError, first_line

_IR_VERSION, _GRAPH = 1, 7  # ModelProto's field numbers (onnx.proto)
_NOT_ONNX = "not an ONNX model (damaged, cut short or another kind of file)"


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """The varint at ``at`` and the offset after it; ValueError where the data ends inside it."""
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def top_level_fields(data: bytes) -> set[int]:
    """The field numbers of a protobuf message's top level; ValueError where it is not one."""
    fields, at = set(), 0
    while at < len(data):
        tag, at = _varint(data, at)
        number, wire = tag >> 3, tag & 7
        if number < 1:
            raise ValueError("field 0")
        if wire == 0:
            _, at = _varint(data, at)
        elif wire == 1:
            at += 8
        elif wire == 2:
            length, at = _varint(data, at)
            at += length
        elif wire == 5:
            at += 4
        else:  # groups (3, 4) are not in ONNX; 6 and 7 are not wire types
            raise ValueError(f"wire type {wire}")
        if at > len(data):
            raise ValueError("cut short")
        fields.add(number)
    return fields


def check_onnx_file(path: str | Path, what: str) -> None:
    """Raise :class:`ModelError` (``what``: "detector", "ReID model") when ``path`` holds no ONNX model."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelError(f"cannot read {what} {path}: {first_line(e)}") from e
    if not data:
        raise ModelError(f"{what} {path}: an empty file, not a model")
    try:
        fields = top_level_fields(data)
    except ValueError:
        fields = set()
    if not {_IR_VERSION, _GRAPH} <= fields:
        raise ModelError(f"{what} {path}: {_NOT_ONNX}")
