"""Tiny random-weight XLM-R checkpoints written with numpy alone, and a numpy reference encoder."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "models" / "src" / "test" / "resources" / "fixtures"
SHARED_TOKENIZER = FIXTURES / "tokenizer.json"

HIDDEN, LAYERS, HEADS, FFN, POSITIONS, PAD = 16, 2, 4, 32, 34, 1


def write_safetensors(path: Path, tensors: dict) -> None:
    """A .safetensors file (JSON header + raw little-endian data) from float32 numpy arrays."""
    import numpy as np
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode("utf-8")
    head += b" " * (-len(head) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def vocab_size() -> int:
    data = json.loads(SHARED_TOKENIZER.read_text(encoding="utf-8"))
    ids = [t["id"] for t in data["added_tokens"]] + [len(data["model"]["vocab"]) - 1]
    return max(ids) + 1


def tiny_config(architecture: str, **extra) -> dict:
    return dict(model_type="xlm-roberta", architectures=[architecture], vocab_size=vocab_size(),
                hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=FFN,
                max_position_embeddings=POSITIONS, type_vocab_size=1, pad_token_id=PAD, bos_token_id=0,
                eos_token_id=2, layer_norm_eps=1e-5, hidden_act="gelu", **extra)


def random_encoder(rng, cfg: dict, prefix: str = "") -> dict:
    """XLMRobertaModel's state dict (no pooler), N(0, 0.2) matrices, LayerNorm gains near 1."""
    def mat(*shape):
        return (rng.standard_normal(shape) * 0.2).astype("float32")

    def vec(n, base=0.0, std=0.05):
        return (base + rng.standard_normal(n) * std).astype("float32")

    h, f = cfg["hidden_size"], cfg["intermediate_size"]
    e = prefix + "embeddings."
    w = {e + "word_embeddings.weight": mat(cfg["vocab_size"], h),
         e + "position_embeddings.weight": mat(cfg["max_position_embeddings"], h),
         e + "token_type_embeddings.weight": mat(1, h),
         e + "LayerNorm.weight": vec(h, 1.0, 0.1), e + "LayerNorm.bias": vec(h)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"{prefix}encoder.layer.{i}."
        for part in ("query", "key", "value"):
            w[p + f"attention.self.{part}.weight"], w[p + f"attention.self.{part}.bias"] = mat(h, h), vec(h)
        w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"] = mat(h, h), vec(h)
        w[p + "attention.output.LayerNorm.weight"] = vec(h, 1.0, 0.1)
        w[p + "attention.output.LayerNorm.bias"] = vec(h)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = mat(f, h), vec(f)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = mat(h, f), vec(h)
        w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"] = vec(h, 1.0, 0.1), vec(h)
    return w


def _xlmr_side_files(folder: Path, cfg: dict) -> None:
    from tandem_export.hub_io import write_xlmr_tokenizer_files
    (folder / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    write_xlmr_tokenizer_files(folder, SHARED_TOKENIZER, POSITIONS - PAD - 1)


@pytest.fixture(scope="session")
def tiny_embedder(tmp_path_factory):
    """A bge-m3-shaped folder: model.safetensors + sparse_linear.npz / colbert_linear.npz heads."""
    np = pytest.importorskip("numpy", reason="numpy is needed to write the tiny checkpoint")
    folder = tmp_path_factory.mktemp("embedder-hf")
    rng = np.random.default_rng(0)
    cfg = tiny_config("XLMRobertaModel")
    weights = random_encoder(rng, cfg)
    write_safetensors(folder / "model.safetensors", weights)
    heads = {"sparse_linear": (rng.standard_normal((1, HIDDEN)) * 0.3, np.array([0.01])),
             "colbert_linear": (rng.standard_normal((HIDDEN, HIDDEN)) * 0.2, rng.standard_normal(HIDDEN) * 0.05)}
    for stem, (wt, b) in heads.items():
        np.savez(folder / f"{stem}.npz", weight=wt.astype(np.float32), bias=b.astype(np.float32))
    _xlmr_side_files(folder, cfg)
    return folder, cfg, weights, {k: (w.astype(np.float32), b.astype(np.float32)) for k, (w, b) in heads.items()}


@pytest.fixture(scope="session")
def tiny_reranker(tmp_path_factory):
    """An XLMRobertaForSequenceClassification folder (num_labels 1) in model.safetensors."""
    np = pytest.importorskip("numpy", reason="numpy is needed to write the tiny checkpoint")
    folder = tmp_path_factory.mktemp("reranker-hf")
    rng = np.random.default_rng(1)
    cfg = tiny_config("XLMRobertaForSequenceClassification", id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0})
    weights = random_encoder(rng, cfg, prefix="roberta.")
    weights["classifier.dense.weight"] = (rng.standard_normal((HIDDEN, HIDDEN)) * 0.3).astype(np.float32)
    weights["classifier.dense.bias"] = (rng.standard_normal(HIDDEN) * 0.05).astype(np.float32)
    weights["classifier.out_proj.weight"] = (rng.standard_normal((1, HIDDEN)) * 0.5).astype(np.float32)
    weights["classifier.out_proj.bias"] = np.array([0.1], dtype=np.float32)
    write_safetensors(folder / "model.safetensors", weights)
    _xlmr_side_files(folder, cfg)
    return folder, cfg, weights


# --------------------------------------------------------------------------
# numpy reference (float64) of XLM-R on one unpadded sequence
# --------------------------------------------------------------------------


def _layer_norm(np, x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def reference_hidden(cfg: dict, w: dict, ids, prefix: str = ""):
    """last_hidden_state [len, hidden] of one sequence, computed in float64."""
    import numpy as np
    erf = np.vectorize(math.erf)
    g = {k[len(prefix):]: v.astype(np.float64) for k, v in w.items() if k.startswith(prefix)}
    eps, heads, n = cfg["layer_norm_eps"], cfg["num_attention_heads"], len(ids)
    positions = cfg["pad_token_id"] + 1 + np.arange(n)
    x = g["embeddings.word_embeddings.weight"][ids] + g["embeddings.position_embeddings.weight"][positions] \
        + g["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(np, x, g["embeddings.LayerNorm.weight"], g["embeddings.LayerNorm.bias"], eps)
    d = cfg["hidden_size"] // heads
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(t, name):
            return t @ g[p + name + ".weight"].T + g[p + name + ".bias"]

        q, k, v = (lin(x, f"attention.self.{s}").reshape(n, heads, d).transpose(1, 0, 2)
                   for s in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, heads * d)
        x = _layer_norm(np, lin(ctx, "attention.output.dense") + x, g[p + "attention.output.LayerNorm.weight"],
                        g[p + "attention.output.LayerNorm.bias"], eps)
        up = lin(x, "intermediate.dense")
        x = _layer_norm(np, lin(0.5 * up * (1.0 + erf(up / math.sqrt(2.0))), "output.dense") + x,
                        g[p + "output.LayerNorm.weight"], g[p + "output.LayerNorm.bias"], eps)
    return x


def packed_feeds(rows, pad_id: int = PAD) -> dict:
    """The packed graph's inputs for token-id rows (what the Java side's PackedInputs builds)."""
    import numpy as np
    lengths = [len(r) for r in rows]
    longest = max(lengths)
    real = [b * longest + j for b, n in enumerate(lengths) for j in range(n)]
    padding = [b * longest + j for b, n in enumerate(lengths) for j in range(n, longest)]
    return {
        "input_ids": np.array([t for r in rows for t in r], dtype=np.int64),
        "position_ids": np.array([pad_id + 1 + j for n in lengths for j in range(n)], dtype=np.int64),
        "token_offset": np.array(real + padding, dtype=np.int32).reshape(len(rows), longest),
        "cu_seqlens": np.array([0] + list(np.cumsum(lengths)), dtype=np.int32),
    }
