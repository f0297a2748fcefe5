#!/usr/bin/env python3
"""ONNX export tooling for Tandem (bge-m3 embedder and bge-reranker models).

Subcommands (see README.md next to this file):

  export-m3        bge-m3 folder -> model.onnx with three outputs (dense_vecs,
                   sparse_weights, colbert_vecs) + tokenizer/config + tandem.json
  export-plain     XLM-R folder -> onnx/model.onnx with last_hidden_state only
                   (the layout of BAAI's own onnx/ folder) + 1_Pooling/config.json
  export-reranker  XLM-R or BERT sequence-classification folder -> model.onnx
                   with a `logits` output + tandem.json
  export-packed    XLM-R bge-m3 or reranker folder -> padding-free graph (packed
                   rows, flash attention on CUDA) built node by node + tandem.json
  verify           run an exported folder with onnxruntime (CPU) and the PyTorch
                   model on the same tokenized batch and compare the outputs

The heavy libraries (torch, transformers, onnx, onnxruntime, tokenizers) are
imported lazily so that `--help` works anywhere and a missing package gives a
clear message instead of a traceback.  Everything here runs on the CPU, except
the optional ORT optimizer which is told `use_gpu=True` so that its fusions
target the CUDA execution provider that the Java server uses.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# No network on the export machine: make Hugging Face libraries fail fast
# instead of trying to reach the hub, and keep the Rust tokenizer single-
# threaded so that its results do not depend on thread scheduling.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

OPSET = 17
# `--dynamo`: torch.onnx.export(dynamo=True) of the fp16 model with SDPA attention.  Opset 23
# has the ONNX `Attention` op, which onnxruntime's CUDA provider runs as a fused kernel.
DYNAMO_OPSET = 23
ATTENTION_OPS = ("Attention", "MultiHeadAttention", "PackedAttention", "PackedMultiHeadAttention",
                 "GroupQueryAttention")
MANIFEST_NAME = "tandem.json"
MANIFEST_FORMAT = "tandem-v1"
# Above this size the graph is saved with its weights in `model.onnx_data`:
# protobuf cannot serialise a single message over 2 GiB.
EXTERNAL_DATA_THRESHOLD = 1_900_000_000
EXTERNAL_DATA_NAME = "model.onnx_data"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
)
# Tolerances for `verify`.  fp32 graphs must match PyTorch closely; fp16
# graphs are judged by cosine similarity as well, since their absolute error
# grows with the magnitude of the values.
FP32_ATOL = 1e-4
FP32_RTOL = 1e-4
FP16_ATOL = 2e-2
FP16_RTOL = 2e-2
FP16_MIN_COSINE = 0.999
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


class ExportError(RuntimeError):
    """A problem with the inputs or the environment, reported without a traceback."""


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def log(msg: str) -> None:
    """Print immediately (the remote runner buffers otherwise)."""
    print(msg, flush=True)


@contextlib.contextmanager
def timed(step: str):
    """Print how long a step took, so slow stages are visible in remote logs."""
    start = time.perf_counter()
    log(f"[step] {step} ...")
    try:
        yield
    finally:
        log(f"[time] {step}: {time.perf_counter() - start:.2f} s")


def require(module: str, purpose: str):
    """Import a module or fail with a message naming the pip package."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on environment
        pip_name = {
            "onnxruntime.transformers.optimizer": "onnxruntime",
            "onnxruntime.transformers.fusion_options": "onnxruntime",
        }.get(module, module.split(".")[0])
        raise ExportError(
            f"Python package '{pip_name}' is needed for {purpose} but could not be imported "
            f"({exc}). Install it (see models/export/README.md for versions known to work)."
        ) from exc


def read_json(path: Path) -> dict:
    """Read a JSON file with a clear error if it is missing or malformed."""
    if not path.is_file():
        raise ExportError(f"missing file: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path} is not valid JSON: {exc}") from exc


def write_json(path: Path, obj, indent: int = 2) -> None:
    """Write UTF-8 JSON (non-ASCII kept readable) with a trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent)
        fh.write("\n")


def human_size(n: int) -> str:
    """Format a byte count for the logs."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024.0
    return f"{n} B"


def check_model_dir(model_dir: Path) -> None:
    """Fail early, listing the folder, if it does not look like a HF model folder."""
    if not model_dir.is_dir():
        raise ExportError(f"model folder not found: {model_dir}")
    if not (model_dir / "config.json").is_file():
        found = sorted(p.name for p in model_dir.iterdir())
        raise ExportError(f"{model_dir} has no config.json (found: {found})")
    weights = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
               "pytorch_model.bin.index.json")
    if not any((model_dir / w).is_file() for w in weights):
        found = sorted(p.name for p in model_dir.iterdir())
        raise ExportError(f"{model_dir} has no weights ({' / '.join(weights)}); found: {found}")


# --------------------------------------------------------------------------
# config / architecture
# --------------------------------------------------------------------------


def detect_architecture(cfg: dict) -> str:
    """Return 'xlm-roberta' or 'bert' from config.json; Tandem serves only these."""
    model_type = str(cfg.get("model_type", "")).lower()
    archs = [str(a) for a in (cfg.get("architectures") or [])]
    if model_type in ("xlm-roberta", "roberta") or any(a.startswith(("XLMRoberta", "Roberta")) for a in archs):
        return "xlm-roberta"
    if model_type == "bert" or any(a.startswith("Bert") for a in archs):
        return "bert"
    raise ExportError(
        f"unsupported model: model_type={model_type!r}, architectures={archs}; "
        "Tandem exports only XLM-RoBERTa (bge-m3, bge-reranker-*) and BERT models"
    )


def compute_max_input_length(cfg: dict, arch: str) -> int:
    """Longest input (special tokens included) that the position table allows.

    RoBERTa-style models number positions from pad_token_id + 1, so they lose
    pad_token_id + 1 slots (2 for XLM-R: 8194 -> 8192).  BERT uses them all.
    """
    mpe = int(cfg.get("max_position_embeddings", 512))
    if arch == "xlm-roberta":
        pad = cfg.get("pad_token_id")
        pad = 1 if pad is None else int(pad)
        return mpe - pad - 1
    return mpe


def model_dims(cfg: dict) -> tuple[int, int]:
    """(hidden_size, num_attention_heads) from config.json."""
    try:
        return int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    except KeyError as exc:
        raise ExportError(f"config.json lacks {exc}") from exc


# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------


def load_tokenizer(folder: Path):
    """Load tokenizer.json with the `tokenizers` library (the same Rust code DJL uses)."""
    tokenizers = require("tokenizers", "tokenization")
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise ExportError(f"{folder} has no tokenizer.json (the Java side needs it)")
    return tokenizers.Tokenizer.from_file(str(path))


def _token_content(value) -> str | None:
    """special_tokens_map / tokenizer_config entries are strings or {"content": ...}."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def special_token_ids(model_dir: Path, tokenizer, cfg: dict) -> dict:
    """Ids of cls/eos/pad/unk, read from the tokenizer files with config.json fallbacks.

    bge-m3's sparse head ignores exactly these ids (FlagEmbedding's
    `unused_tokens`), so the manifest records them for the Java side.
    """
    names: dict = {}
    for fname in ("special_tokens_map.json", "tokenizer_config.json"):
        path = model_dir / fname
        if path.is_file():
            data = read_json(path)
            for key in ("cls_token", "bos_token", "eos_token", "sep_token", "pad_token", "unk_token"):
                content = _token_content(data.get(key))
                if content is not None:
                    names.setdefault(key, content)

    def lookup(keys, default_tokens, cfg_key=None):
        for key in keys:
            tok = names.get(key)
            if tok is not None and tokenizer.token_to_id(tok) is not None:
                return int(tokenizer.token_to_id(tok))
        if cfg_key and cfg.get(cfg_key) is not None:
            return int(cfg[cfg_key])
        for tok in default_tokens:
            if tokenizer.token_to_id(tok) is not None:
                return int(tokenizer.token_to_id(tok))
        return None

    ids = {
        "cls": lookup(("cls_token", "bos_token"), ("<s>", "[CLS]"), "bos_token_id"),
        "eos": lookup(("eos_token", "sep_token"), ("</s>", "[SEP]"), "eos_token_id"),
        "pad": lookup(("pad_token",), ("<pad>", "[PAD]"), "pad_token_id"),
        "unk": lookup(("unk_token",), ("<unk>", "[UNK]")),
    }
    missing = [k for k, v in ids.items() if v is None]
    if missing:
        raise ExportError(f"could not determine special token ids {missing} from {model_dir}")
    return ids


def pad_token_and_id(tokenizer, cfg: dict) -> tuple[str, int]:
    """Padding token for batched verification: config pad_token_id, else <pad>/[PAD]."""
    pad_id = cfg.get("pad_token_id")
    if pad_id is not None:
        tok = tokenizer.id_to_token(int(pad_id))
        if tok is not None:
            return tok, int(pad_id)
    for tok in ("<pad>", "[PAD]"):
        if tokenizer.token_to_id(tok) is not None:
            return tok, int(tokenizer.token_to_id(tok))
    raise ExportError("tokenizer has no padding token")


def encode_batch(tokenizer, items, max_len: int, pad_token: str, pad_id: int) -> dict:
    """Tokenize texts or (a, b) pairs into right-padded int64 numpy arrays.

    Works on a copy so that the caller's tokenizer keeps its own settings.
    Truncation is longest-first on the right, like transformers' default.
    """
    np = require("numpy", "tensors")
    tokenizers = require("tokenizers", "tokenization")
    tok = tokenizers.Tokenizer.from_str(tokenizer.to_str())
    tok.enable_truncation(max_length=max_len)
    tok.enable_padding(pad_id=pad_id, pad_token=pad_token)
    encs = tok.encode_batch(list(items))
    return {
        "input_ids": np.array([e.ids for e in encs], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64),
    }


def copy_tokenizer_files(src: Path, dst: Path) -> list[str]:
    """Copy tokenizer.json (required) and the optional tokenizer side files."""
    if not (src / "tokenizer.json").is_file():
        raise ExportError(f"{src} has no tokenizer.json")
    dst.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
            copied.append(name)
    return copied


# --------------------------------------------------------------------------
# PyTorch models
# --------------------------------------------------------------------------


def force_eager_attention(model, attn: str = "eager") -> str:
    """Make sure attention is the plain matmul/softmax path (or `attn`) and report it.

    The eager path applies the padding mask as an additive float mask, which
    the exported graph reproduces exactly for any padding pattern.  `--dynamo`
    asks for "sdpa" instead, which the dynamo exporter turns into ONNX
    `Attention` nodes.  The API moved between transformers versions, so every
    attempt is guarded.
    """
    setter = getattr(model, "set_attn_implementation", None)
    if callable(setter):
        try:
            setter(attn)
        except Exception as exc:  # noqa: BLE001 - best effort, checked below
            log(f"note: set_attn_implementation({attn!r}) failed: {exc}")
    for module in model.modules():
        cfg = getattr(module, "config", None)
        if cfg is not None and hasattr(cfg, "model_type"):
            try:
                cfg._attn_implementation = attn
            except Exception:  # noqa: BLE001 - read-only in some versions
                pass
    impl = getattr(model.config, "_attn_implementation", None)
    if impl not in (None, attn):
        log(f"WARNING: attention implementation is {impl!r}, not {attn!r}")
    return str(impl)


def load_hf_model(model_dir: Path, class_name: str, attn: str = "eager", half: bool = False):
    """Load a transformers model from a local folder in fp32, eval mode, eager attention.

    `attn="sdpa", half=True` (used by `--dynamo`) gives the fp16 SDPA model instead.

    Missing weights (other than the unused pooler) are an error: they would be
    randomly initialised and give a silently wrong export.
    """
    torch = require("torch", "loading the PyTorch model")
    transformers = require("transformers", "loading the PyTorch model")
    cls = getattr(transformers, class_name, None)
    if cls is None:
        raise ExportError(f"transformers {transformers.__version__} has no class {class_name}")
    kwargs = {"local_files_only": True, "output_loading_info": True}
    try:
        result = cls.from_pretrained(str(model_dir), attn_implementation=attn, **kwargs)
    except (TypeError, ValueError) as exc:
        if "attn_implementation" not in str(exc):
            raise
        log(f"note: this transformers does not take attn_implementation ({exc}); loading without it")
        result = cls.from_pretrained(str(model_dir), **kwargs)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
        model, info = result
    else:
        model, info = result, {}
    missing = [k for k in (info.get("missing_keys") or [])
               if not str(k).startswith("pooler.") and "position_ids" not in str(k)]
    mismatched = list(info.get("mismatched_keys") or [])
    if missing or mismatched:
        raise ExportError(
            f"{class_name} from {model_dir}: missing weights {sorted(map(str, missing))[:10]} "
            f"mismatched {mismatched[:10]} - is this the right folder/architecture?"
        )
    impl = force_eager_attention(model, attn)
    model = (model.half() if half else model.float()).eval()
    log(f"loaded {class_name} from {model_dir} (transformers {transformers.__version__}, "
        f"torch {torch.__version__}, attention={impl}, dtype={'float16' if half else 'float32'})")
    return model


def load_linear_head(path: Path, in_features: int, name: str):
    """Load a FlagEmbedding head (a torch.nn.Linear state_dict saved with torch.save)."""
    torch = require("torch", "loading bge-m3 heads")
    if not path.is_file():
        raise ExportError(
            f"missing {path.name} in {path.parent}: export-m3 needs FlagEmbedding's "
            "sparse_linear.pt and colbert_linear.pt next to the transformer weights"
        )
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except TypeError:  # very old torch without weights_only
        state = torch.load(str(path), map_location="cpu")
    if not isinstance(state, dict):
        raise ExportError(f"{path} is not a state_dict (got {type(state).__name__})")
    weight = next((v for k, v in state.items() if str(k).endswith("weight")), None)
    bias = next((v for k, v in state.items() if str(k).endswith("bias")), None)
    if weight is None or weight.dim() != 2 or weight.shape[1] != in_features:
        raise ExportError(f"{path}: expected a Linear({in_features}, N) weight, got keys {list(state)}"
                          + (f" shape {tuple(weight.shape)}" if weight is not None else ""))
    layer = torch.nn.Linear(in_features, int(weight.shape[0]), bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight.float())
        if bias is not None:
            layer.bias.copy_(bias.float())
    log(f"loaded {name} head {path.name}: Linear({in_features}, {weight.shape[0]})")
    return layer.float().eval()


def _last_hidden_state(out):
    """last_hidden_state from a ModelOutput or a tuple (both occur across versions)."""
    lhs = getattr(out, "last_hidden_state", None)
    return lhs if lhs is not None else out[0]


def _build_modules():
    """Define the wrapper modules lazily (torch is imported only when needed)."""
    torch = require("torch", "building export modules")

    class M3Module(torch.nn.Module):
        """XLM-R encoder + bge-m3 sparse and ColBERT heads, FlagEmbedding's formulas.

        Outputs are left unnormalised and unmasked on purpose: the Java side
        masks padding and normalises, so one graph serves every output mode.
        """

        def __init__(self, encoder, sparse_linear, colbert_linear):
            super().__init__()
            self.encoder = encoder
            self.sparse_linear = sparse_linear
            self.colbert_linear = colbert_linear
            self.fp32_outputs = False  # set for fp16 (--dynamo) exports

        def forward(self, input_ids, attention_mask):
            h = _last_hidden_state(self.encoder(input_ids=input_ids, attention_mask=attention_mask))
            dense = h[:, 0]
            sparse = torch.relu(self.sparse_linear(h)).squeeze(-1)
            colbert = self.colbert_linear(h[:, 1:])
            if self.fp32_outputs:
                return dense.float(), sparse.float(), colbert.float()
            return dense, sparse, colbert

    class PlainModule(torch.nn.Module):
        """The encoder alone, returning last_hidden_state (BAAI's onnx/ layout)."""

        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            return _last_hidden_state(self.encoder(input_ids=input_ids, attention_mask=attention_mask))

    class RerankerModule(torch.nn.Module):
        """A sequence classifier returning raw logits [batch, num_labels]."""

        def __init__(self, model, with_token_types: bool):
            super().__init__()
            self.model = model
            self.with_token_types = with_token_types
            self.fp32_outputs = False  # set for fp16 (--dynamo) exports

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            if self.with_token_types:
                out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                 token_type_ids=token_type_ids)
            else:
                out = self.model(input_ids=input_ids, attention_mask=attention_mask)
            logits = getattr(out, "logits", None)
            logits = logits if logits is not None else out[0]
            return logits.float() if self.fp32_outputs else logits

    return M3Module, PlainModule, RerankerModule


def _drop_pooler(encoder) -> None:
    """The pooler is unused by bge-m3 (CLS pooling); removing it keeps the graph minimal."""
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None


def build_m3_module(model_dir: Path, attn: str = "eager", half: bool = False):
    """bge-m3 as one torch module with (dense_vecs, sparse_weights, colbert_vecs) outputs."""
    cfg = read_json(model_dir / "config.json")
    hidden, _ = model_dims(cfg)
    encoder = load_hf_model(model_dir, "XLMRobertaModel", attn=attn, half=half)
    _drop_pooler(encoder)
    sparse = load_linear_head(model_dir / "sparse_linear.pt", hidden, "sparse")
    colbert = load_linear_head(model_dir / "colbert_linear.pt", hidden, "colbert")
    if sparse.out_features != 1:
        raise ExportError(f"sparse_linear.pt must be Linear({hidden}, 1), got out={sparse.out_features}")
    M3Module, _, _ = _build_modules()
    module = M3Module(encoder, sparse, colbert)
    if half:
        module = module.half()
        module.fp32_outputs = True
    return module.eval()


def build_plain_module(model_dir: Path):
    """The encoder returning last_hidden_state."""
    cfg = read_json(model_dir / "config.json")
    arch = detect_architecture(cfg)
    encoder = load_hf_model(model_dir, "XLMRobertaModel" if arch == "xlm-roberta" else "BertModel")
    _drop_pooler(encoder)
    _, PlainModule, _ = _build_modules()
    return PlainModule(encoder).eval()


def build_reranker_module(model_dir: Path, attn: str = "eager", half: bool = False):
    """The cross-encoder; BERT models also take token_type_ids."""
    cfg = read_json(model_dir / "config.json")
    arch = detect_architecture(cfg)
    class_name = "XLMRobertaForSequenceClassification" if arch == "xlm-roberta" else "BertForSequenceClassification"
    model = load_hf_model(model_dir, class_name, attn=attn, half=half)
    num_labels = int(getattr(model.config, "num_labels", 1))
    if num_labels != 1:
        log(f"WARNING: {model_dir} has num_labels={num_labels}; Tandem expects one relevance logit")
    _, _, RerankerModule = _build_modules()
    module = RerankerModule(model, with_token_types=(arch == "bert"))
    module.fp32_outputs = half
    return module.eval(), arch


# --------------------------------------------------------------------------
# ONNX export and saving
# --------------------------------------------------------------------------


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


def count_attention_nodes(path: Path) -> dict:
    """{"domain::op": count} of fused attention nodes (graph and local functions), logged."""
    onnx = require("onnx", "reading ONNX graphs")
    model = onnx.load(str(path), load_external_data=False)
    counts: dict = {}
    nodes = list(model.graph.node) + [n for f in model.functions for n in f.node]
    for node in nodes:
        if node.op_type in ATTENTION_OPS:
            key = f"{node.domain or 'ai.onnx'}::{node.op_type}"
            counts[key] = counts.get(key, 0) + 1
    log(f"attention nodes in {path.name}: {json.dumps(counts, sort_keys=True) if counts else 'none (not fused)'}")
    return counts


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


# --------------------------------------------------------------------------
# export commands
# --------------------------------------------------------------------------


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
        "sparse_skip_token_ids": _unique([specials["cls"], specials["eos"], specials["pad"], specials["unk"]]),
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


class _JsonVocab:
    """token_to_id from tokenizer.json alone, for machines without the `tokenizers` package."""

    def __init__(self, path: Path):
        data = read_json(path)
        self._ids = {t["content"]: int(t["id"]) for t in data.get("added_tokens", [])}
        vocab = data.get("model", {}).get("vocab", {})
        items = enumerate(v[0] for v in vocab) if isinstance(vocab, list) else ((i, t) for t, i in vocab.items())
        for i, token in items:
            self._ids.setdefault(token, int(i))

    def token_to_id(self, token: str):
        return self._ids.get(token)


def export_packed(model_dir, out_dir, kind: str | None = None, attention: str = "packed", fp16: bool = True,
                  max_length: int | None = None, source: str | None = None) -> dict:
    """Build the padding-free graph of packed_graph.py for an XLM-R bge-m3 or reranker folder.

    No PyTorch trace is involved: the weights are read from the checkpoint and the graph is
    written node by node, so the export takes seconds and needs only numpy and onnx. The
    contrib attention op runs only on the CUDA provider; check such an export on the GPU with
    `bench/gpu/sanity.sh`.
    """
    import numpy as np
    import packed_graph as pg
    model_dir, out_dir, cfg, arch = _start_export(model_dir, out_dir, "export-packed", xlmr_only=True)
    hidden, _ = model_dims(cfg)
    if kind is None:
        kind = "reranker" if any(str(a).endswith("Classification") for a in cfg.get("architectures") or []) \
            else "embedder"
    try:
        tokenizer = load_tokenizer(model_dir)
    except ExportError:
        tokenizer = _JsonVocab(model_dir / "tokenizer.json")
    max_input = compute_max_input_length(cfg, arch)
    if max_length is not None:
        max_input = min(max_input, int(max_length))
    dtype = np.float16 if fp16 else np.float32
    try:
        with timed(f"build packed graph ({kind}, {attention} attention, {'fp16' if fp16 else 'fp32'})"):
            weights = pg.load_encoder_weights(model_dir)
            heads = None
            if kind == "embedder":
                heads = {"sparse": pg.load_head(model_dir, "sparse_linear"),
                         "colbert": pg.load_head(model_dir, "colbert_linear")}
                if None in heads.values():
                    raise ExportError(f"{model_dir}: an embedder needs sparse_linear and colbert_linear heads")
            model = pg.build_packed(cfg, weights, kind, heads=heads, attention=attention, dtype=dtype)
    except (pg.PackedGraphError, KeyError) as exc:
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
            "sparse_skip_token_ids": _unique([specials["cls"], specials["eos"], specials["pad"], specials["unk"]]),
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


def _unique(values):
    """Deduplicate while keeping order (cls/eos/pad/unk may coincide in odd tokenizers)."""
    seen, out = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(int(v))
    return out


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


def build_parser() -> argparse.ArgumentParser:
    """argparse with one subcommand per export layout plus verify."""
    parser = argparse.ArgumentParser(
        prog="tandem_export.py",
        description="Export bge-m3 / bge-reranker models to ONNX for the Tandem JVM server.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, optimizable: bool):
        p.add_argument("--model", required=True, type=Path, help="local Hugging Face model folder")
        p.add_argument("--out", required=True, type=Path, help="output folder (created)")
        p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-PyTorch check")
        p.add_argument("--atol", type=float, default=None, help="verify absolute tolerance")
        p.add_argument("--rtol", type=float, default=None, help="verify relative tolerance")
        if optimizable:
            p.add_argument("--fp16", action="store_true", help="optimize and convert to float16 (I/O stays fp32)")
            p.add_argument("--optimize", action="store_true", help="run the onnxruntime transformer optimizer")
            p.add_argument("--opt-level", type=int, default=0, choices=(0, 1, 2, 99),
                           help="optimizer opt_level (0 = Python fusions only; default)")
            p.add_argument("--max-length", type=int, default=None,
                           help="cap max_input_length recorded in tandem.json")
            p.add_argument("--dynamo", action="store_true",
                           help="export the fp16 model with SDPA attention via torch.onnx.export(dynamo=True, "
                                f"opset {DYNAMO_OPSET}): fused ONNX Attention nodes; implies --fp16")

    p = sub.add_parser("export-m3", help="bge-m3 -> dense/sparse/colbert graph + tandem.json")
    common(p, optimizable=True)
    p.add_argument("--source", default=None, help="text for tandem.json 'source' (default: --model path)")
    p = sub.add_parser("export-plain", help="encoder -> onnx/model.onnx (last_hidden_state) + 1_Pooling")
    common(p, optimizable=False)
    p = sub.add_parser("export-reranker", help="cross-encoder -> logits graph + tandem.json")
    common(p, optimizable=True)
    p = sub.add_parser("export-packed", help="XLM-R embedder (bge-m3) or reranker -> padding-free graph "
                                             "(flash attention on CUDA) + tandem.json")
    p.add_argument("--model", required=True, type=Path, help="local Hugging Face model folder")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--kind", choices=("embedder", "reranker"), default=None,
                   help="default: reranker for *ForSequenceClassification configs, else embedder (bge-m3 heads)")
    p.add_argument("--attention", choices=("packed", "portable"), default="packed",
                   help="packed: ORT's PackedMultiHeadAttention (CUDA only; default); portable: standard ops "
                        "with a block-diagonal mask, for CPU tests")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights (default float16)")
    p.add_argument("--max-length", type=int, default=None, help="cap max_input_length recorded in tandem.json")
    p.add_argument("--source", default=None, help="text for tandem.json 'source' (default: --model path)")
    p = sub.add_parser("verify", help="compare an exported folder with the PyTorch model")
    p.add_argument("--onnx-dir", required=True, type=Path, help="exported folder")
    p.add_argument("--model", required=True, type=Path, help="the Hugging Face folder it came from")
    p.add_argument("--atol", type=float, default=None,
                   help=f"absolute tolerance (default {FP32_ATOL:g} fp32, {FP16_ATOL:g} fp16)")
    p.add_argument("--rtol", type=float, default=None,
                   help=f"relative tolerance (default {FP32_RTOL:g} fp32, {FP16_RTOL:g} fp16)")
    return parser


def main(argv=None) -> int:
    """Run a subcommand; exit 0 on success, 2 when verification fails, 1 on errors."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        if args.command == "export-m3":
            res = export_m3(args.model, args.out, fp16=args.fp16, optimize=args.optimize,
                            max_length=args.max_length, opt_level=args.opt_level,
                            verify_after=not args.no_verify, atol=args.atol, rtol=args.rtol,
                            source=args.source, dynamo=args.dynamo)
        elif args.command == "export-plain":
            res = export_plain(args.model, args.out, verify_after=not args.no_verify,
                               atol=args.atol, rtol=args.rtol)
        elif args.command == "export-reranker":
            res = export_reranker(args.model, args.out, fp16=args.fp16, optimize=args.optimize,
                                  max_length=args.max_length, opt_level=args.opt_level,
                                  verify_after=not args.no_verify, atol=args.atol, rtol=args.rtol,
                                  dynamo=args.dynamo)
        elif args.command == "export-packed":
            res = export_packed(args.model, args.out, kind=args.kind, attention=args.attention,
                                fp16=not args.fp32, max_length=args.max_length, source=args.source)
        else:
            res = {"verify": verify(args.onnx_dir, args.model, atol=args.atol, rtol=args.rtol)}
    except ExportError as exc:
        log(f"ERROR: {exc}")
        return 1
    log(f"[time] total: {time.perf_counter() - start:.2f} s")
    ver = res.get("verify")
    if ver is not None and not ver.get("ok", False):
        log("ERROR: verification failed (files were written; rerun `verify` with --atol/--rtol to inspect)")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
