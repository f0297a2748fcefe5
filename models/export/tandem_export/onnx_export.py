"""The export commands: bge-m3 (`export-m3`), plain encoder (`export-plain`), reranker
(`export-reranker`) through torch.onnx, and the padding-free graph (`export-packed`) through
packed_graph.py. Each writes a folder the Tandem server loads and, for the traced ones, verifies it."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from .common import MANIFEST_FORMAT, MANIFEST_NAME, ExportError, log, read_json, require, timed, unique_ids, \
    write_json
from .hub_io import (CheckpointError, JsonVocab, check_model_dir, compute_max_input_length, copy_tokenizer_files,
                     detect_architecture, encode_batch, load_encoder_weights, load_head, load_tokenizer,
                     model_dims, pad_token_and_id, special_token_ids)
from .modules import build_m3_module, build_plain_module, build_reranker_module
from .onnx_io import check_onnx, count_attention_nodes, print_graph_io, save_onnx
from .optimize import optimize_onnx
from .verify import VERIFY_MAX_TOKENS, verify

OPSET = 17
# `--dynamo`: torch.onnx.export(dynamo=True) of the fp16 model with SDPA attention.  Opset 23
# has the ONNX `Attention` op, which onnxruntime's CUDA provider runs as a fused kernel.
DYNAMO_OPSET = 23
# Inputs used to trace the graph: two texts of different length, so that the
# traced batch has padding and the attention mask path is always recorded.
TRACE_TEXTS = (
    "Tandem exports this model to ONNX so that the JVM can serve it.",
    "短句",
)
TRACE_PAIRS = (
    ("什么是机器学习?", "机器学习是人工智能的一个分支，它让计算机从数据中学习。"),
    ("hello", "world"),
)


def _export_through_tmp(export, out_path: Path, input_names, output_names, check=None) -> None:
    """Runs `export(path)` into a temporary folder beside out_path, checks the graph's I/O names
    (and `check(model)` if given), and re-saves the graph with `save_onnx` in Tandem's layout.

    The exporters write one file per tensor when a model exceeds 2 GiB, hence the detour.
    """
    onnx = require("onnx", "ONNX export")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".tandem-export-", dir=str(out_path.parent)))
    try:
        tmp_model = tmp_dir / "model.onnx"
        export(tmp_model)
        model = onnx.load(str(tmp_model), load_external_data=True)
        got_inputs = [i.name for i in model.graph.input]
        got_outputs = [o.name for o in model.graph.output]
        if got_inputs != list(input_names) or got_outputs != list(output_names):
            raise ExportError(f"exported graph has inputs {got_inputs} outputs {got_outputs}, "
                              f"expected {list(input_names)} / {list(output_names)}")
        if check is not None:
            check(model)
        save_onnx(model, out_path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    check_onnx(out_path)


def torch_export(module, example: dict, input_names, output_names, dynamic_axes, out_path: Path) -> None:
    """Export with the TorchScript-based exporter (dynamo=False), opset 17, then re-save."""
    torch = require("torch", "ONNX export")
    args = tuple(torch.from_numpy(example[name]) for name in input_names)
    kwargs = dict(
        input_names=list(input_names),
        output_names=list(output_names),
        dynamic_axes=dynamic_axes,
        opset_version=OPSET,
        do_constant_folding=True,
    )

    def export(tmp_model: Path) -> None:
        with torch.no_grad():
            try:
                torch.onnx.export(module, args, str(tmp_model), dynamo=False, **kwargs)
            except TypeError as exc:
                if "dynamo" not in str(exc):
                    raise
                torch.onnx.export(module, args, str(tmp_model), **kwargs)  # torch < 2.1

    _export_through_tmp(export, out_path, input_names, output_names)


def torch_export_dynamo(module, example: dict, input_names, output_names, out_path: Path) -> None:
    """Export with torch.onnx.export(dynamo=True), opset 23, batch and sequence dynamic; then re-save.

    Meant for the fp16 model with SDPA attention (`--dynamo`): the exporter maps
    scaled_dot_product_attention to the ONNX `Attention` op, which onnxruntime's CUDA
    provider runs fused.  An input axis that came out static is an error, since the
    server feeds every batch and sequence size.
    """
    torch = require("torch", "ONNX export")
    require("onnxscript", "the dynamo ONNX exporter (--dynamo)")
    args = tuple(torch.from_numpy(example[name]) for name in input_names)
    dim = torch.export.Dim
    dyn = getattr(dim, "DYNAMIC", None) or getattr(dim, "AUTO")
    dynamic_shapes = tuple({0: dyn, 1: dyn} for _ in input_names)

    def export(tmp_model: Path) -> None:
        with torch.no_grad():
            torch.onnx.export(module, args, str(tmp_model), dynamo=True, opset_version=DYNAMO_OPSET,
                              input_names=list(input_names), output_names=list(output_names),
                              dynamic_shapes=dynamic_shapes, external_data=True)

    def all_axes_dynamic(model) -> None:
        for inp in model.graph.input:
            dims = inp.type.tensor_type.shape.dim
            static = [i for i, d in enumerate(dims) if not d.dim_param]
            if static:
                raise ExportError(f"dynamo export made axes {static} of input {inp.name} static "
                                  f"({[d.dim_value or d.dim_param for d in dims]}); the server needs them dynamic")

    _export_through_tmp(export, out_path, input_names, output_names, check=all_axes_dynamic)



def _start_export(model_dir, out_dir, command: str, xlmr_only: bool) -> tuple[Path, Path, dict, str]:
    """The checks every export begins with; returns (model_dir, out_dir, config, architecture)."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    check_model_dir(model_dir)
    _prepare_out(out_dir, model_dir)
    cfg = read_json(model_dir / "config.json")
    arch = detect_architecture(cfg)
    if xlmr_only and arch != "xlm-roberta":
        raise ExportError(f"{command} needs an XLM-RoBERTa model (bge-m3, bge-reranker), got {arch}")
    return model_dir, out_dir, cfg, arch


def _prepare_out(out_dir: Path, model_dir: Path) -> None:
    """Refuse to export into the source folder (it would overwrite config/tokenizer files)."""
    if out_dir.resolve() == model_dir.resolve():
        raise ExportError("--out must differ from --model")
    out_dir.mkdir(parents=True, exist_ok=True)


def export_m3(model_dir, out_dir, fp16: bool = False, optimize: bool = False, max_length: int | None = None,
              opt_level: int = 0, verify_after: bool = True, atol: float | None = None,
              rtol: float | None = None, source: str | None = None, dynamo: bool = False) -> dict:
    """Export bge-m3 in Tandem's three-output layout; returns a summary with verification results.

    dynamo=True exports the fp16 model with SDPA attention through the dynamo exporter
    (opset 23, fused `Attention` nodes); it implies fp16.
    """
    fp16 = fp16 or dynamo
    model_dir, out_dir, cfg, arch = _start_export(model_dir, out_dir, "export-m3", xlmr_only=True)
    hidden, heads = model_dims(cfg)
    tokenizer = load_tokenizer(model_dir)
    specials = special_token_ids(model_dir, tokenizer, cfg)
    max_input = compute_max_input_length(cfg, arch)
    if max_length is not None:
        max_input = min(max_input, int(max_length))
    with timed("load bge-m3 (PyTorch" + (", fp16, sdpa)" if dynamo else ")")):
        module = build_m3_module(model_dir, attn="sdpa", half=True) if dynamo else build_m3_module(model_dir)
    colbert_dim = int(module.colbert_linear.out_features)
    pad_tok, pad_id = pad_token_and_id(tokenizer, cfg)
    example = encode_batch(tokenizer, TRACE_TEXTS, min(max_input, VERIFY_MAX_TOKENS), pad_tok, pad_id)
    onnx_path = out_dir / "model.onnx"
    module = export_graph(
        module, example, onnx_path,
        input_names=("input_ids", "attention_mask"),
        output_names=("dense_vecs", "sparse_weights", "colbert_vecs"),
        dynamic_axes={
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "dense_vecs": {0: "batch"},
            "sparse_weights": {0: "batch", 1: "sequence"},
            "colbert_vecs": {0: "batch", 1: "sequence_minus_1"},
        },
        heads=heads, hidden=hidden, dynamo=dynamo, fp16=fp16, optimize=optimize, opt_level=opt_level,
        label="")
    manifest = {
        "format": MANIFEST_FORMAT,
        "kind": "embedder",
        "architecture": arch,
        "pooling": "cls",
        "outputs": {"dense": "dense_vecs", "sparse": "sparse_weights", "colbert": "colbert_vecs"},
        "sparse_skip_token_ids": unique_ids([specials["cls"], specials["eos"], specials["pad"], specials["unk"]]),
        "hidden_size": hidden,
        "colbert_dim": colbert_dim,
        "max_input_length": max_input,
        "dtype": "float16" if fp16 else "float32",
        "source": source if source else str(model_dir),
    }
    return finish_export(onnx_path, model_dir, out_dir, manifest, module, verify_after, atol, rtol)


def export_plain(model_dir, out_dir, verify_after: bool = True, atol: float | None = None,
                 rtol: float | None = None) -> dict:
    """Export last_hidden_state only, in BAAI's onnx/ layout with a CLS 1_Pooling config."""
    model_dir, out_dir, cfg, arch = _start_export(model_dir, out_dir, "export-plain", xlmr_only=False)
    hidden, _ = model_dims(cfg)
    tokenizer = load_tokenizer(model_dir)
    max_input = compute_max_input_length(cfg, arch)
    with timed("load encoder (PyTorch)"):
        module = build_plain_module(model_dir)
    pad_tok, pad_id = pad_token_and_id(tokenizer, cfg)
    example = encode_batch(tokenizer, TRACE_TEXTS, min(max_input, VERIFY_MAX_TOKENS), pad_tok, pad_id)
    onnx_path = out_dir / "onnx" / "model.onnx"
    with timed("torch.onnx.export (fp32, last_hidden_state)"):
        torch_export(
            module, example,
            input_names=("input_ids", "attention_mask"),
            output_names=("last_hidden_state",),
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "last_hidden_state": {0: "batch", 1: "sequence"},
            },
            out_path=onnx_path,
        )
    print_graph_io(onnx_path)
    shutil.copyfile(model_dir / "config.json", out_dir / "config.json")
    copied = copy_tokenizer_files(model_dir, out_dir)
    pooling = {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_lasttoken": False,
    }
    write_json(out_dir / "1_Pooling" / "config.json", pooling)
    log(f"copied config.json, {', '.join(copied)}; wrote 1_Pooling/config.json")
    result = {"onnx": str(onnx_path)}
    if verify_after:
        result["verify"] = verify(out_dir, model_dir, atol=atol, rtol=rtol, module=module)
    return result


def export_reranker(model_dir, out_dir, fp16: bool = False, optimize: bool = False,
                    max_length: int | None = None, opt_level: int = 0, verify_after: bool = True,
                    atol: float | None = None, rtol: float | None = None, dynamo: bool = False) -> dict:
    """Export a cross-encoder reranker with a `logits` [batch, 1] output and a manifest.

    dynamo=True: fp16 model, SDPA attention, dynamo exporter, opset 23 (implies fp16).
    """
    fp16 = fp16 or dynamo
    model_dir, out_dir, cfg, arch = _start_export(model_dir, out_dir, "export-reranker", xlmr_only=False)
    hidden, heads = model_dims(cfg)
    tokenizer = load_tokenizer(model_dir)
    max_input = compute_max_input_length(cfg, arch)
    if max_length is not None:
        max_input = min(max_input, int(max_length))
    with timed("load reranker (PyTorch" + (", fp16, sdpa)" if dynamo else ")")):
        module, arch = (build_reranker_module(model_dir, attn="sdpa", half=True) if dynamo
                        else build_reranker_module(model_dir))
    pad_tok, pad_id = pad_token_and_id(tokenizer, cfg)
    example = encode_batch(tokenizer, TRACE_PAIRS, min(max_input, VERIFY_MAX_TOKENS), pad_tok, pad_id)
    input_names = ["input_ids", "attention_mask"] + (["token_type_ids"] if arch == "bert" else [])
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    dynamic_axes["logits"] = {0: "batch"}
    onnx_path = out_dir / "model.onnx"
    module = export_graph(module, example, onnx_path, input_names=input_names, output_names=("logits",),
                          dynamic_axes=dynamic_axes, heads=heads, hidden=hidden, dynamo=dynamo, fp16=fp16,
                          optimize=optimize, opt_level=opt_level, label=", logits")
    manifest = {
        "format": MANIFEST_FORMAT,
        "kind": "reranker",
        "architecture": arch,
        "outputs": {"logits": "logits"},
        "max_input_length": max_input,
        "dtype": "float16" if fp16 else "float32",
    }
    return finish_export(onnx_path, model_dir, out_dir, manifest, module, verify_after, atol, rtol)


def export_packed(model_dir, out_dir, kind: str | None = None, attention: str = "packed", fp16: bool = True,
                  max_length: int | None = None, source: str | None = None) -> dict:
    """Build the padding-free graph of packed_graph.py for an XLM-R bge-m3 or reranker folder.

    No PyTorch trace is involved: the weights are read from the checkpoint and the graph is
    written node by node, so the export takes seconds and needs only numpy and onnx. The
    contrib attention op runs only on the CUDA provider; check such an export on the GPU with
    `bench/gpu/sanity.sh`.
    """
    import numpy as np

    from . import packed_graph as pg
    model_dir, out_dir, cfg, arch = _start_export(model_dir, out_dir, "export-packed", xlmr_only=True)
    hidden, _ = model_dims(cfg)
    if kind is None:
        kind = "reranker" if any(str(a).endswith("Classification") for a in cfg.get("architectures") or []) \
            else "embedder"
    try:
        tokenizer = load_tokenizer(model_dir)
    except ExportError:
        tokenizer = JsonVocab(model_dir / "tokenizer.json")
    max_input = compute_max_input_length(cfg, arch)
    if max_length is not None:
        max_input = min(max_input, int(max_length))
    dtype = np.float16 if fp16 else np.float32
    try:
        with timed(f"build packed graph ({kind}, {attention} attention, {'fp16' if fp16 else 'fp32'})"):
            weights = load_encoder_weights(model_dir)
            heads = None
            if kind == "embedder":
                heads = {"sparse": load_head(model_dir, "sparse_linear"),
                         "colbert": load_head(model_dir, "colbert_linear")}
                if None in heads.values():
                    raise ExportError(f"{model_dir}: an embedder needs sparse_linear and colbert_linear heads")
            model = pg.build_packed(cfg, weights, kind, heads=heads, attention=attention, dtype=dtype)
    except (pg.PackedGraphError, CheckpointError, KeyError) as exc:
        raise ExportError(f"packed graph: {exc}") from exc
    onnx_path = out_dir / "model.onnx"
    save_onnx(model, onnx_path)
    check_onnx(onnx_path)
    shutil.copyfile(model_dir / "config.json", out_dir / "config.json")
    copied = copy_tokenizer_files(model_dir, out_dir)
    log(f"copied config.json, {', '.join(copied)}")
    manifest = {"format": MANIFEST_FORMAT, "kind": kind, "architecture": arch, "layout": "packed",
                "attention": "PackedMultiHeadAttention" if attention == "packed"
                else "portable (standard ops, O(tokens^2) memory)"}
    if attention == "packed":
        manifest["requires"] = "cuda"  # the contrib op has no CPU kernel
    if kind == "embedder":
        specials = special_token_ids(model_dir, tokenizer, cfg)
        manifest.update({
            "pooling": "cls",
            "outputs": {"dense": "dense_vecs", "sparse": "sparse_weights", "colbert": "colbert_vecs"},
            "sparse_skip_token_ids": unique_ids([specials["cls"], specials["eos"], specials["pad"], specials["unk"]]),
            "hidden_size": hidden,
            "colbert_dim": int(np.asarray(heads["colbert"][0]).shape[0]),
        })
    else:
        manifest["outputs"] = {"logits": "logits"}
    manifest.update({"max_input_length": max_input, "dtype": "float16" if fp16 else "float32",
                     "source": source if source else str(model_dir)})
    write_json(out_dir / MANIFEST_NAME, manifest)
    log(f"wrote {out_dir / MANIFEST_NAME}: {json.dumps(manifest, ensure_ascii=False)}")
    return {"onnx": str(onnx_path), "manifest": manifest}


def export_graph(module, example, onnx_path: Path, input_names, output_names, dynamic_axes: dict, heads: int,
                 hidden: int, dynamo: bool, fp16: bool, optimize: bool, opt_level: int, label: str):
    """Writes the ONNX graph of a wrapped model: the dynamo exporter (fp16, fused attention), or
    the TorchScript exporter followed by ORT's optimizer when --fp16 / --optimize ask for it.

    Returns the module to verify against, or None after a dynamo export: its fp16 model is no
    reference, so verify loads the fp32 eager model again.
    """
    if dynamo:
        with timed(f"torch.onnx.export (dynamo, opset {DYNAMO_OPSET}, fp16, sdpa{label})"):
            torch_export_dynamo(module, example, input_names=input_names, output_names=output_names,
                                out_path=onnx_path)
        if optimize:
            with timed("onnxruntime optimizer"):
                optimize_onnx(onnx_path, heads, hidden, fp16=False, opt_level=opt_level)
        return None
    with timed(f"torch.onnx.export (fp32{label})"):
        torch_export(module, example, input_names=input_names, output_names=output_names,
                     dynamic_axes=dynamic_axes, out_path=onnx_path)
    if fp16 or optimize:
        with timed("onnxruntime optimizer" + (" + fp16" if fp16 else "")):
            optimize_onnx(onnx_path, heads, hidden, fp16=fp16, opt_level=opt_level)
    return module


def finish_export(onnx_path: Path, model_dir: Path, out_dir: Path, manifest: dict, module, verify_after: bool,
                  atol: float | None, rtol: float | None) -> dict:
    """The steps every Tandem-layout export ends with: report the graph, copy the config and
    tokenizer files, write the manifest, and verify against PyTorch unless told not to."""
    print_graph_io(onnx_path)
    count_attention_nodes(onnx_path)
    with timed("copy config and tokenizer files"):
        shutil.copyfile(model_dir / "config.json", out_dir / "config.json")
        copied = copy_tokenizer_files(model_dir, out_dir)
        log(f"copied config.json, {', '.join(copied)}")
    write_json(out_dir / MANIFEST_NAME, manifest)
    log(f"wrote {out_dir / MANIFEST_NAME}: {json.dumps(manifest, ensure_ascii=False)}")
    result = {"onnx": str(onnx_path), "manifest": manifest}
    if verify_after:
        result["verify"] = verify(out_dir, model_dir, atol=atol, rtol=rtol, module=module)
    return result
