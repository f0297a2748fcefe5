"""PyTorch side: loading transformers models and FlagEmbedding heads, and the wrapper modules that
the exporters trace (bge-m3 three outputs, plain last_hidden_state, reranker logits)."""

from __future__ import annotations

from pathlib import Path

from .common import ExportError, log, read_json, require
from .hub_io import detect_architecture, model_dims


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


def last_hidden_state(out):
    """last_hidden_state from a ModelOutput or a tuple (both occur across versions)."""
    lhs = getattr(out, "last_hidden_state", None)
    return lhs if lhs is not None else out[0]


_last_hidden_state = last_hidden_state  # the name the wrapper modules below use


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
