"""Saving, checking and inspecting ONNX graphs (shared by the exporters, the optimizer and the
packed builder)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .common import human_size, log, require

ATTENTION_OPS = ("Attention", "MultiHeadAttention", "PackedAttention", "PackedMultiHeadAttention",
                 "GroupQueryAttention")
# Above this size the graph is saved with its weights in `model.onnx_data`:
# protobuf cannot serialise a single message over 2 GiB.
EXTERNAL_DATA_THRESHOLD = 1_900_000_000
EXTERNAL_DATA_NAME = "model.onnx_data"


def approx_model_bytes(model) -> int:
    """Size of a ModelProto without serialising it (ByteSize fails beyond 2 GiB)."""
    total = 0
    for tensor in model.graph.initializer:
        total += tensor.ByteSize()
    for node in model.graph.node:
        total += node.ByteSize()
    return total


def save_onnx(model, out_path: Path) -> int:
    """Save a ModelProto as one file, or with `model.onnx_data` beside it when > 1.9 GB.

    onnx appends to an existing external-data file, so stale files are removed first.
    Returns the size on disk.
    """
    onnx = require("onnx", "saving ONNX graphs")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    data_path = out_path.parent / EXTERNAL_DATA_NAME
    for stale in (out_path, data_path):
        if stale.exists():
            stale.unlink()
    size = approx_model_bytes(model)
    if size > EXTERNAL_DATA_THRESHOLD:
        log(f"graph is {human_size(size)} > {human_size(EXTERNAL_DATA_THRESHOLD)}: weights go to {EXTERNAL_DATA_NAME}")
        onnx.save_model(model, str(out_path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=EXTERNAL_DATA_NAME, size_threshold=1024, convert_attribute=False)
    else:
        onnx.save_model(model, str(out_path))
    for written in (out_path, data_path):
        if written.exists():
            os.chmod(written, 0o644)  # onnx creates the data file 0600; the server may run as another user
    on_disk = out_path.stat().st_size + (data_path.stat().st_size if data_path.exists() else 0)
    log(f"wrote {out_path} ({human_size(on_disk)})")
    return on_disk


def check_onnx(path: Path) -> None:
    """Run the ONNX checker (by path, which works for >2 GiB); a failure is only a warning."""
    onnx = require("onnx", "checking ONNX graphs")
    try:
        onnx.checker.check_model(str(path))
        log(f"onnx.checker: {path.name} OK")
    except Exception as exc:  # noqa: BLE001 - onnxruntime verification is the real test
        log(f"WARNING: onnx.checker reported a problem with {path}: {exc}")

def attention_node_counts(path: Path, with_total: bool = False) -> dict:
    """{"domain::op": count} of fused attention nodes (graph and local functions); with_total adds
    "_total_nodes", the number of nodes in all."""
    onnx = require("onnx", "reading ONNX graphs")
    model = onnx.load(str(path), load_external_data=False)
    counts: dict = {}
    nodes = list(model.graph.node) + [n for f in model.functions for n in f.node]
    for node in nodes:
        if node.op_type in ATTENTION_OPS:
            key = f"{node.domain or 'ai.onnx'}::{node.op_type}"
            counts[key] = counts.get(key, 0) + 1
    if with_total:
        counts["_total_nodes"] = len(nodes)
    return counts


def count_attention_nodes(path: Path) -> dict:
    """attention_node_counts, logged."""
    counts = attention_node_counts(path)
    log(f"attention nodes in {path.name}: {json.dumps(counts, sort_keys=True) if counts else 'none (not fused)'}")
    return counts


def print_graph_io(path: Path) -> None:
    """Log graph inputs/outputs with element types and symbolic shapes."""
    onnx = require("onnx", "reading ONNX graphs")
    model = onnx.load(str(path), load_external_data=False)

    def describe(v):
        t = v.type.tensor_type
        dims = [d.dim_param or (str(d.dim_value) if d.HasField("dim_value") else "?") for d in t.shape.dim]
        return f"{v.name}: {onnx.TensorProto.DataType.Name(t.elem_type).lower()}[{', '.join(dims)}]"

    log("graph inputs : " + "; ".join(describe(v) for v in model.graph.input))
    log("graph outputs: " + "; ".join(describe(v) for v in model.graph.output))

