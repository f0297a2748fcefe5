"""Checking an exported folder: onnxruntime (CPU) against the PyTorch model on the same batches,
plus the onnxruntime session helpers and FlagEmbedding's lexical-weight rule that other checks use."""

from __future__ import annotations

from pathlib import Path

from .common import MANIFEST_NAME, ExportError, log, read_json, require, timed
from .hub_io import compute_max_input_length, detect_architecture, encode_batch, load_tokenizer, pad_token_and_id
from .modules import build_m3_module, build_plain_module, build_reranker_module

# Tolerances for `verify`.  fp32 graphs must match PyTorch closely; fp16
# graphs are judged by cosine similarity as well, since their absolute error
# grows with the magnitude of the values.
FP32_ATOL = 1e-4
FP32_RTOL = 1e-4
FP16_ATOL = 2e-2
FP16_RTOL = 2e-2
FP16_MIN_COSINE = 0.999
VERIFY_TEXTS = (
    "这是一个文本向量化的测试句子",
    "What is machine learning?",
    "Tandem 在一个进程里 serves two models, 混合 text 123.",
    "BGE M3 是一个多语言、多粒度、多功能的嵌入模型。It supports dense, sparse and multi-vector "
    "retrieval over inputs of up to 8192 tokens, which makes it a good default for mixed corpora.",
    "短",
)
VERIFY_PAIRS = (
    ("什么是机器学习?", "机器学习是人工智能的一个分支，它让计算机从数据中学习。"),
    ("What is machine learning?", "Machine learning lets computers learn patterns from data."),
    ("What is machine learning?", "今天天气很好，我们去公园散步吧。"),
    ("熊猫", "The giant panda is a bear native to China. 大熊猫是中国的国宝，主要吃竹子。"),
)
# Verification never needs long inputs; this also keeps PyTorch fast on CPU.
VERIFY_MAX_TOKENS = 512


def lexical_weights(token_ids, weights, skip_ids) -> dict:
    """FlagEmbedding's `_process_token_weights`: {str(token_id): max weight}.

    Tokens in skip_ids (cls, eos, pad, unk) and weights <= 0 are dropped; a
    token id that occurs several times keeps its largest weight.
    """
    skip = {int(s) for s in skip_ids}
    result: dict = {}
    for tid, w in zip(token_ids, weights):
        tid, w = int(tid), float(w)
        if tid in skip or w <= 0:
            continue
        key = str(tid)
        if key not in result or w > result[key]:
            result[key] = w
    return result


# --------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------


def make_session(path: Path, allow_cuda_fallback: bool = False):
    """Create a CPU onnxruntime session; optionally fall back to CUDA when CPU lacks a kernel."""
    ort = require("onnxruntime", "verification")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"]), "CPU"
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        if allow_cuda_fallback and "CUDAExecutionProvider" in ort.get_available_providers():
            log(f"note: CPU session failed ({exc}); trying CUDAExecutionProvider")
            return ort.InferenceSession(str(path), sess_options=so, providers=["CUDAExecutionProvider"]), "CUDA"
        raise


def run_session(session, batch: dict) -> dict:
    """Feed only the inputs the graph declares, cast to the declared integer type."""
    np = require("numpy", "verification")
    feeds = {}
    for inp in session.get_inputs():
        if inp.name not in batch:
            raise ExportError(f"graph input {inp.name!r} is not one of {sorted(batch)}")
        dtype = np.int32 if "int32" in inp.type else np.int64
        feeds[inp.name] = batch[inp.name].astype(dtype)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def _vectors(name: str, arr, mask):
    """Split an output into the vectors that matter (padding positions are not compared)."""
    np = require("numpy", "verification")
    arr = np.asarray(arr, dtype=np.float64)
    if name in ("dense_vecs", "logits"):
        return [arr[i] for i in range(arr.shape[0])]
    if name == "sparse_weights":
        return [arr[i][mask[i] == 1] for i in range(arr.shape[0])]
    if name == "colbert_vecs":
        return [arr[i][j] for i in range(arr.shape[0]) for j in range(arr.shape[1]) if mask[i, j + 1] == 1]
    if name == "last_hidden_state":
        return [arr[i][j] for i in range(arr.shape[0]) for j in range(arr.shape[1]) if mask[i, j] == 1]
    raise ExportError(f"unknown output {name}")


def compare_outputs(name: str, got, ref, mask, fp16: bool, atol: float, rtol: float) -> dict:
    """Compare one output: |got-ref| <= atol + rtol*|ref| everywhere, and cosine for fp16."""
    np = require("numpy", "verification")
    got = np.asarray(got)
    ref = np.asarray(ref)
    if got.shape != ref.shape:
        return {"name": name, "ok": False, "error": f"shape {got.shape} != reference {ref.shape}"}
    gv, rv = _vectors(name, got, mask), _vectors(name, ref, mask)
    max_abs, ok, min_cos = 0.0, True, 1.0
    for g, r in zip(gv, rv):
        if g.size == 0:
            continue
        diff = np.abs(g - r)
        max_abs = max(max_abs, float(diff.max()))
        if not np.all(np.isfinite(g)) or np.any(diff > atol + rtol * np.abs(r)):
            ok = False
        if fp16 and g.size > 1:
            denom = float(np.linalg.norm(g) * np.linalg.norm(r))
            cos = float(np.dot(g, r) / denom) if denom > 1e-20 else (1.0 if float(diff.max()) <= atol else 0.0)
            min_cos = min(min_cos, cos)
            if cos < FP16_MIN_COSINE:
                ok = False
    res = {"name": name, "ok": ok, "max_abs_diff": max_abs, "vectors": len(gv)}
    if fp16:
        res["min_cosine"] = min_cos
    return res


def detect_layout(onnx_dir: Path) -> tuple[str, Path, dict]:
    """('embedder'|'reranker'|'plain', graph path, manifest) of an exported folder."""
    manifest_path = onnx_dir / MANIFEST_NAME
    if manifest_path.is_file():
        manifest = read_json(manifest_path)
        kind = manifest.get("kind")
        if kind not in ("embedder", "reranker"):
            raise ExportError(f"{manifest_path}: unknown kind {kind!r}")
        return kind, onnx_dir / "model.onnx", manifest
    if (onnx_dir / "onnx" / "model.onnx").is_file():
        return "plain", onnx_dir / "onnx" / "model.onnx", {}
    raise ExportError(f"{onnx_dir} has neither {MANIFEST_NAME} nor onnx/model.onnx")


def verify(onnx_dir, model_dir, atol: float | None = None, rtol: float | None = None, module=None) -> dict:
    """Compare the exported graph (onnxruntime, CPU) with PyTorch on a padded batch and on batch=1.

    Returns {"ok": bool, "skipped": bool, "outputs": {name: {...max_abs_diff...}}}.
    Padding positions are excluded: RoBERTa gives them position id padding_idx
    and their values are never used.  `module` lets an export reuse the
    PyTorch model it has already loaded instead of loading it twice.
    """
    np = require("numpy", "verification")
    torch = require("torch", "verification")
    onnx_dir, model_dir = Path(onnx_dir), Path(model_dir)
    kind, graph, manifest = detect_layout(onnx_dir)
    fp16 = manifest.get("dtype") == "float16"
    atol = float(atol if atol is not None else (FP16_ATOL if fp16 else FP32_ATOL))
    rtol = float(rtol if rtol is not None else (FP16_RTOL if fp16 else FP32_RTOL))
    cfg = read_json(model_dir / "config.json")
    tokenizer = load_tokenizer(onnx_dir if (onnx_dir / "tokenizer.json").is_file() else model_dir)
    pad_tok, pad_id = pad_token_and_id(tokenizer, cfg)
    max_len = min(compute_max_input_length(cfg, detect_architecture(cfg)), VERIFY_MAX_TOKENS)
    log(f"verify {graph} ({kind}, {'fp16' if fp16 else 'fp32'}) against PyTorch from {model_dir}; "
        f"tolerance |diff| <= {atol:g} + {rtol:g}*|ref|" + (f", cosine >= {FP16_MIN_COSINE}" if fp16 else ""))

    if module is None:
        with timed("verify: load PyTorch reference"):
            if kind == "embedder":
                module = build_m3_module(model_dir)
            elif kind == "plain":
                module = build_plain_module(model_dir)
            else:
                module, _ = build_reranker_module(model_dir)
    items = VERIFY_PAIRS if kind == "reranker" else VERIFY_TEXTS
    batches = [encode_batch(tokenizer, items, max_len, pad_tok, pad_id),
               encode_batch(tokenizer, items[:1], max_len, pad_tok, pad_id)]

    with timed("verify: onnxruntime session"):
        try:
            session, provider = make_session(graph, allow_cuda_fallback=fp16)
        except Exception as exc:  # noqa: BLE001
            if fp16:
                log(f"WARNING: cannot run the fp16 graph here ({exc}). onnxruntime's CPU provider lacks "
                    "fp16 kernels for some operators; verify it on the GPU instead. Verification SKIPPED.")
                return {"ok": True, "skipped": True, "outputs": {}}
            raise
    results: dict = {}
    ok = True
    for bi, batch in enumerate(batches):
        label = f"batch={batch['input_ids'].shape[0]} seq={batch['input_ids'].shape[1]}"
        with timed(f"verify: run {label}"):
            got = run_session(session, batch)
            with torch.no_grad():
                ids = torch.from_numpy(batch["input_ids"])
                mask = torch.from_numpy(batch["attention_mask"])
                if kind == "reranker" and module.with_token_types:
                    ref = module(ids, mask, torch.from_numpy(batch["token_type_ids"]))
                else:
                    ref = module(ids, mask)
            if not isinstance(ref, (tuple, list)):
                ref = (ref,)
            names = [o.name for o in session.get_outputs()]
            if len(names) != len(ref):
                raise ExportError(f"graph has outputs {names} but the PyTorch module returns {len(ref)}")
        for name, ref_t in zip(names, ref):
            res = compare_outputs(name, got[name], ref_t.detach().float().numpy(), batch["attention_mask"],
                                  fp16, atol, rtol)
            key = f"{name}@{label}"
            results[key] = res
            ok = ok and res["ok"]
            extra = f" min_cos={res['min_cosine']:.6f}" if "min_cosine" in res else ""
            err = f" ERROR {res['error']}" if "error" in res else ""
            log(f"  {'OK  ' if res['ok'] else 'FAIL'} {key}: max_abs_diff={res.get('max_abs_diff', float('nan')):.3e}"
                f" over {res.get('vectors', 0)} vectors{extra}{err} [{provider}]")
    log(f"verify {'PASSED' if ok else 'FAILED'} for {graph}")
    return {"ok": ok, "skipped": False, "outputs": results}


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------
