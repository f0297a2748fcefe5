"""Reading Hugging Face model folders: config.json, tokenizer files, checkpoint weights.

Only the standard library is needed to import this module; `tokenizers`, numpy and torch are
imported by the functions that need them.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

from .common import ExportError, read_json, require, write_json

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
)
# XLM-R's special tokens as tokenizer_config.json / special_tokens_map.json name them.
XLMR_SPECIAL_TOKENS = {
    "bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>",
    "pad_token": "<pad>", "sep_token": "</s>", "unk_token": "<unk>",
}


class CheckpointError(ExportError):
    """A weight file that cannot be read (missing, unsupported dtype, needs torch)."""


# --------------------------------------------------------------------------
# model folder and config.json
# --------------------------------------------------------------------------


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


def write_xlmr_tokenizer_files(folder: Path, tokenizer_json: Path, max_length: int, link: bool = False) -> None:
    """tokenizer.json + tokenizer_config.json (model_max_length) + special_tokens_map.json with
    XLM-R's special tokens, for a generated model folder.

    link=True makes tokenizer.json a relative symlink to `tokenizer_json` instead of a copy (the
    test fixtures share one file that way).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if link:
        link_file(folder / "tokenizer.json", Path(tokenizer_json))
    else:
        shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    write_json(folder / "special_tokens_map.json", dict(XLMR_SPECIAL_TOKENS))
    write_json(folder / "tokenizer_config.json",
               dict(XLMR_SPECIAL_TOKENS, model_max_length=max_length, tokenizer_class="PreTrainedTokenizerFast",
                    clean_up_tokenization_spaces=False))


def link_file(link: Path, target: Path) -> None:
    """Replace `link` (file or symlink) by a relative symlink to `target`."""
    import os
    link, target = Path(link), Path(target)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(target.resolve(), link.parent.resolve()))


def pin_config(path: Path, architectures: list, id2label: dict | None = None, *, num_labels: bool = False,
               **fields) -> None:
    """Pin what the Java side reads in a generated config.json, whatever transformers saved:
    model_type xlm-roberta, `architectures`, any `fields`, and with `id2label` also label2id (and
    num_labels when asked)."""
    path = Path(path)
    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg["model_type"] = "xlm-roberta"
    cfg["architectures"] = architectures
    cfg.update(fields)
    if id2label is not None:
        cfg["id2label"] = id2label
        cfg["label2id"] = {v: int(k) for k, v in id2label.items()}
        if num_labels:
            cfg["num_labels"] = len(id2label)
    write_json(path, cfg)


class JsonVocab:
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


# --------------------------------------------------------------------------
# checkpoint weights (numpy; torch only for .pt / .bin)
# --------------------------------------------------------------------------


def _safetensors_dtypes(np) -> dict:
    return {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


def read_safetensors(path: Path) -> dict:
    """Reads a .safetensors file into numpy arrays (the format is a JSON header and raw data)."""
    np = require("numpy", "reading weights")
    dtypes = _safetensors_dtypes(np)
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        start, end = info["data_offsets"]
        raw = data[base + start:base + end]
        if dtype == "BF16":
            as_u32 = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            array = as_u32.view(np.float32)
        elif dtype in dtypes:
            array = np.frombuffer(raw, dtype=dtypes[dtype])
        else:
            raise CheckpointError(f"{path}: unsupported dtype {dtype} for {name}")
        tensors[name] = array.reshape(info["shape"]).astype(np.float32, copy=True)
    return tensors


def _torch_state_dict(path: Path) -> dict:
    try:
        import torch
    except ImportError as exc:
        raise CheckpointError(f"reading {path} needs torch (or convert it to .safetensors / .npz)") from exc
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    return {k: v.float().numpy() for k, v in state.items()}


def read_weights(path: Path) -> dict:
    """One weight file (.safetensors, .npz, .pt or .bin) as name -> float32 array."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    if path.suffix == ".npz":
        np = require("numpy", "reading weights")
        with np.load(path) as npz:
            return {k: npz[k].astype(np.float32) for k in npz.files}
    return _torch_state_dict(path)


def load_encoder_weights(model_dir: Path) -> dict:
    """The checkpoint's weights with a `roberta.` / `model.` prefix removed (sequence classifiers
    keep the encoder under `roberta.` beside `classifier.`)."""
    model_dir = Path(model_dir)
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_dir / name).is_file():
            raw = read_weights(model_dir / name)
            break
    else:
        raise CheckpointError(f"{model_dir}: no model.safetensors or pytorch_model.bin")
    weights = {}
    for key, value in raw.items():
        for prefix in ("roberta.", "model."):
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        weights[key] = value
    return weights


def load_head(model_dir: Path, stem: str):
    """FlagEmbedding's head files (`sparse_linear.pt`, `colbert_linear.pt`) or an .npz twin; None if absent."""
    for suffix in (".npz", ".safetensors", ".pt"):
        path = Path(model_dir) / (stem + suffix)
        if path.is_file():
            w = read_weights(path)
            return w["weight"], w["bias"]
    return None
