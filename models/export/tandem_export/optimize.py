"""onnxruntime's transformer optimizer (fusions, optional fp16) applied to an exported graph."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from .common import log, require
from .onnx_io import EXTERNAL_DATA_THRESHOLD, approx_model_bytes, save_onnx


def optimize_onnx(path: Path, num_heads: int, hidden_size: int, fp16: bool, opt_level: int = 0) -> dict:
    """Fuse with onnxruntime.transformers (model_type "bert") and optionally convert to fp16.

    EmbedLayerNormalization fusion is disabled: it rebuilds position ids as
    0..S-1 and loses RoBERTa's padding-aware numbering on padded positions.
    Graph I/O stays int64 ids / fp32 outputs (keep_io_types=True).  The result
    replaces `path`.  opt_level 0 applies only the Python fusions, which need
    no CUDA build of onnxruntime; the Java session optimises the rest at load.
    """
    optimizer = require("onnxruntime.transformers.optimizer", "--optimize/--fp16")
    fusion_options = require("onnxruntime.transformers.fusion_options", "--optimize/--fp16")
    onnx = require("onnx", "--optimize/--fp16")
    ort = require("onnxruntime", "--optimize/--fp16")
    if opt_level > 0 and "CUDAExecutionProvider" not in ort.get_available_providers():
        log("WARNING: onnxruntime here has no CUDA provider; opt_level>0 GPU optimisation will be skipped by ORT")
    opts = fusion_options.FusionOptions("bert")
    opts.enable_embed_layer_norm = False
    opt_model = optimizer.optimize_model(
        str(path),
        model_type="bert",
        num_heads=num_heads,
        hidden_size=hidden_size,
        optimization_options=opts,
        opt_level=opt_level,
        use_gpu=True,
    )
    stats = {}
    try:
        stats = dict(opt_model.get_fused_operator_statistics())
    except Exception as exc:  # noqa: BLE001 - statistics are informational
        log(f"note: get_fused_operator_statistics failed: {exc}")
    log("fused operators: " + json.dumps(stats, sort_keys=True))
    if fp16:
        opt_model.convert_float_to_float16(keep_io_types=True)
        log("converted weights and compute to float16 (graph I/O kept int64/fp32)")
    tmp_dir = Path(tempfile.mkdtemp(prefix=".tandem-opt-", dir=str(path.parent)))
    try:
        tmp_model = tmp_dir / "model.onnx"
        big = approx_model_bytes(opt_model.model) > EXTERNAL_DATA_THRESHOLD
        opt_model.save_model_to_file(str(tmp_model), use_external_data_format=big)
        del opt_model
        model = onnx.load(str(tmp_model), load_external_data=True)
        save_onnx(model, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return stats
