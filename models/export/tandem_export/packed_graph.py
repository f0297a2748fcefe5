"""Padding-free ("packed") XLM-RoBERTa graphs for the CUDA execution provider, built node by node.

Why build the graph by hand instead of exporting it: the exporters give padded [batch, seq]
graphs whose attention ONNX Runtime runs with cutlass memory-efficient attention on the H100
(see bench/gpu/RESULTS.md), and ORT's optimizer does not fuse transformers-5 exports at all.
Here every sequence of a batch is concatenated into one [tokens, hidden] matrix, so no GEMM,
LayerNorm or GELU ever touches a padding token, and attention is ORT's contrib
`PackedMultiHeadAttention`, which takes separate Q/K/V plus `cumulative_sequence_length` and runs
FlashAttention-2 varlen on sm80+ (contrib_ops/cuda/bert/packed_multihead_attention.cc). The other
fusions are written directly: SkipLayerNormalization (residual + bias + LayerNorm) and BiasGelu.

Graph inputs (the Java side builds them, see models/.../pipeline/InputBuffers.java):
  input_ids     int64 [tokens]            every sequence's ids, back to back
  position_ids  int64 [tokens]            XLM-R positions: pad_id + 1 + index within its sequence
  token_offset  int32 [batch, max_len]    RemovePadding's layout: padded positions of the real
                                          tokens, then those of the padding
  cu_seqlens    int32 [batch + 1]         0, len0, len0 + len1, ...

Outputs (fp32): an embedder gives dense_vecs [batch, hidden] (the CLS rows, unnormalised),
sparse_weights [tokens] and colbert_vecs [tokens, dim] (every token; the Java side drops each
sequence's CLS row, as FlagEmbedding does); a reranker gives logits [batch, labels].

`attention="portable"` replaces the contrib op with standard ONNX ops over a block-diagonal mask
(O(tokens²) memory): it runs on any execution provider and exists so that the CPU test suite can
check the packed inputs and outputs end to end against the PyTorch references.

Only numpy and onnx are needed to build. The weights come from `hub_io.load_encoder_weights` /
`hub_io.load_head` (numpy; torch only for `.pt`/`.bin` files); `onnx_export.export_packed` is the
`export-packed` command around this builder.
"""

from __future__ import annotations

import numpy as np

MS_DOMAIN = "com.microsoft"
OPSET = 17


class PackedGraphError(RuntimeError):
    """Something in the checkpoint does not fit the packed XLM-R builder."""


# --------------------------------------------------------------------------
# graph
# --------------------------------------------------------------------------


class _Builder:
    """Collects nodes and initializers; names are unique by construction."""

    def __init__(self, dtype):
        from onnx import helper, numpy_helper
        self.helper, self.numpy_helper = helper, numpy_helper
        self.dtype = dtype
        self.nodes, self.inits = [], []
        self._names = set()
        self._n = 0

    def weight(self, name: str, array, dtype=None) -> str:
        """An initializer; a name given twice is a shared constant and is stored once."""
        if name in self._names:
            return name
        self._names.add(name)
        array = np.ascontiguousarray(np.asarray(array, dtype=dtype or self.dtype))
        self.inits.append(self.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs, domain: str = "", outputs: int = 1, **attrs):
        self._n += 1
        names = [f"{op_type.lower()}_{self._n}" + (f"_{i}" if outputs > 1 else "") for i in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, domain=domain or None,
                                                name=f"{op_type}_{self._n}", **attrs))
        return names[0] if outputs == 1 else names

    def output(self, op_type: str, inputs, name: str, domain: str = "", **attrs) -> str:
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [name], domain=domain or None,
                                                name=f"{op_type}_{name}", **attrs))
        return name


def _linear_t(w):
    """PyTorch Linear weights are [out, in]; MatMul wants [in, out]."""
    return np.ascontiguousarray(np.asarray(w).T)


def _portable_mask(g: _Builder, cu_seqlens) -> str:
    """Additive [tokens, tokens] mask: 0 within a sequence, -1e4 across sequences."""
    tokens = g.op("Squeeze", [g.op("Shape", ["input_ids"]), g.weight("pa_axis0", [0], np.int64)])
    positions = g.op("Range", [g.weight("pa_zero", np.array(0, dtype=np.int64), np.int64), tokens,
                               g.weight("pa_one", np.array(1, dtype=np.int64), np.int64)])
    ends = g.op("Cast", [g.op("Slice", [cu_seqlens, g.weight("pa_from1", [1], np.int64),
                                         g.weight("pa_to_end", [2 ** 31], np.int64)])], to=7)
    # seq_id[t] = how many sequences end at or before t
    after = g.op("GreaterOrEqual", [g.op("Unsqueeze", [positions, g.weight("pa_axis1", [1], np.int64)]),
                                    g.op("Unsqueeze", [ends, g.weight("pa_axis0", [0], np.int64)])])
    seq_id = g.op("ReduceSum", [g.op("Cast", [after], to=7), g.weight("pa_axis1", [1], np.int64)], keepdims=0)
    same = g.op("Equal", [g.op("Unsqueeze", [seq_id, g.weight("pa_axis1", [1], np.int64)]),
                          g.op("Unsqueeze", [seq_id, g.weight("pa_axis0", [0], np.int64)])])
    return g.op("Where", [same, g.weight("pa_keep", np.array(0.0)), g.weight("pa_drop", np.array(-1e4))])


def _portable_attention(g: _Builder, q, k, v, mask, heads: int, head_size: int) -> str:
    """Attention over all packed tokens under the block-diagonal mask, in standard ONNX ops."""
    split = g.weight("pa_split_heads", [0, heads, head_size], np.int64)

    def heads_first(x):  # [T, D] -> [N, T, H]
        return g.op("Transpose", [g.op("Reshape", [x, split])], perm=[1, 0, 2])

    scores = g.op("MatMul", [heads_first(q), g.op("Transpose", [heads_first(k)], perm=[0, 2, 1])])
    scores = g.op("Add", [g.op("Mul", [scores, g.weight("pa_scale", np.array(head_size ** -0.5))]), mask])
    context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), heads_first(v)])
    merged = g.op("Transpose", [context], perm=[1, 0, 2])
    return g.op("Reshape", [merged, g.weight("pa_merge_heads", [0, heads * head_size], np.int64)])


def _encoder(g: _Builder, w: dict, cfg: dict, attention: str, cu_seqlens: str) -> str:
    """Embeddings and every layer on packed [tokens, hidden] rows; returns the last hidden state."""
    hidden = int(cfg["hidden_size"])
    heads = int(cfg["num_attention_heads"])
    eps = float(cfg.get("layer_norm_eps", 1e-5))
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise PackedGraphError(f"hidden_act {cfg.get('hidden_act')!r}: only exact gelu is built")
    if int(cfg.get("type_vocab_size", 1)) != 1:
        raise PackedGraphError("type_vocab_size > 1 (token type ids) is not supported by the packed builder")
    e = "embeddings."
    words = g.op("Gather", [g.weight("word_embeddings", w[e + "word_embeddings.weight"]), "input_ids"])
    positions = g.op("Gather", [g.weight("position_embeddings", w[e + "position_embeddings.weight"]), "position_ids"])
    x = g.op("SkipLayerNormalization",
             [words, positions, g.weight("emb_ln_gamma", w[e + "LayerNorm.weight"]),
              g.weight("emb_ln_beta", w[e + "LayerNorm.bias"]),
              g.weight("token_type_row", w[e + "token_type_embeddings.weight"][0])],
             domain=MS_DOMAIN, epsilon=eps)
    mask = _portable_mask(g, cu_seqlens) if attention == "portable" else None
    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        a = p + "attention."

        def proj(part):
            return g.op("MatMul", [x, g.weight(f"l{i}_{part}_w", _linear_t(w[a + f"self.{part}.weight"]))])

        q, k, v = proj("query"), proj("key"), proj("value")
        qkv_bias = np.concatenate([w[a + "self.query.bias"], w[a + "self.key.bias"], w[a + "self.value.bias"]])
        if attention == "packed":
            ctx = g.op("PackedMultiHeadAttention",
                       [q, k, v, g.weight(f"l{i}_qkv_bias", qkv_bias), "token_offset", cu_seqlens],
                       domain=MS_DOMAIN, num_heads=heads)
        else:
            biased = [g.op("Add", [t, g.weight(f"l{i}_{n}_b", qkv_bias[j * hidden:(j + 1) * hidden])])
                      for j, (t, n) in enumerate(((q, "q"), (k, "k"), (v, "v")))]
            ctx = _portable_attention(g, *biased, mask, heads, hidden // heads)
        out = g.op("MatMul", [ctx, g.weight(f"l{i}_ao_w", _linear_t(w[a + "output.dense.weight"]))])
        x = _dense_residual_norm(g, w, out, x, a + "output.", f"l{i}_ln1", f"l{i}_ao_b", eps)
        up = g.op("MatMul", [x, g.weight(f"l{i}_ff1_w", _linear_t(w[p + "intermediate.dense.weight"]))])
        act = g.op("BiasGelu", [up, g.weight(f"l{i}_ff1_b", w[p + "intermediate.dense.bias"])], domain=MS_DOMAIN)
        down = g.op("MatMul", [act, g.weight(f"l{i}_ff2_w", _linear_t(w[p + "output.dense.weight"]))])
        x = _dense_residual_norm(g, w, down, x, p + "output.", f"l{i}_ln2", f"l{i}_ff2_b", eps)
    return x


def _dense_residual_norm(g: _Builder, w: dict, y: str, residual: str, prefix: str, norm: str, bias: str,
                         eps: float) -> str:
    """LayerNorm(y + dense bias + residual) as one SkipLayerNormalization kernel (the bias of the
    dense layer that produced y is folded in, so that MatMul stays bias-free)."""
    return g.op("SkipLayerNormalization",
                [y, residual, g.weight(f"{norm}_gamma", w[prefix + "LayerNorm.weight"]),
                 g.weight(f"{norm}_beta", w[prefix + "LayerNorm.bias"]), g.weight(bias, w[prefix + "dense.bias"])],
                domain=MS_DOMAIN, epsilon=eps)


def build_packed(cfg: dict, weights: dict, kind: str, heads: dict | None = None, attention: str = "packed",
                 dtype=np.float16):
    """The packed graph as an onnx.ModelProto.

    kind "embedder" needs heads={"sparse": (w, b), "colbert": (w, b)}; "reranker" reads
    classifier.dense / classifier.out_proj from the weights.
    """
    from onnx import TensorProto, helper
    if attention not in ("packed", "portable"):
        raise PackedGraphError(f"attention must be 'packed' or 'portable', got {attention!r}")
    g = _Builder(dtype)
    cls_rows = g.op("Slice", ["cu_seqlens", g.weight("starts", [0], np.int64), g.weight("ends", [-1], np.int64)])
    h = _encoder(g, weights, cfg, attention, "cu_seqlens")
    cls = g.op("Gather", [h, cls_rows])
    outputs = []
    if kind == "embedder":
        sparse_w, sparse_b = heads["sparse"]
        colbert_w, colbert_b = heads["colbert"]
        g.output("Cast", [cls], "dense_vecs", to=TensorProto.FLOAT)
        sparse = g.op("Relu", [g.op("Add", [g.op("MatMul", [h, g.weight("sparse_w", _linear_t(sparse_w))]),
                                             g.weight("sparse_b", sparse_b)])])
        g.output("Cast", [g.op("Reshape", [sparse, g.weight("flat", [-1], np.int64)])], "sparse_weights",
                 to=TensorProto.FLOAT)
        colbert = g.op("Add", [g.op("MatMul", [h, g.weight("colbert_w", _linear_t(colbert_w))]),
                               g.weight("colbert_b", colbert_b)])
        g.output("Cast", [colbert], "colbert_vecs", to=TensorProto.FLOAT)
        dims = {"dense_vecs": ["batch", int(cfg["hidden_size"])], "sparse_weights": ["tokens"],
                "colbert_vecs": ["tokens", int(np.asarray(colbert_w).shape[0])]}
    elif kind == "reranker":
        pre = g.op("Tanh", [g.op("Add", [g.op("MatMul", [cls, g.weight("cls_dense_w", _linear_t(
            weights["classifier.dense.weight"]))]), g.weight("cls_dense_b", weights["classifier.dense.bias"])])])
        logits = g.op("Add", [g.op("MatMul", [pre, g.weight("cls_out_w", _linear_t(
            weights["classifier.out_proj.weight"]))]), g.weight("cls_out_b", weights["classifier.out_proj.bias"])])
        g.output("Cast", [logits], "logits", to=TensorProto.FLOAT)
        dims = {"logits": ["batch", int(np.asarray(weights["classifier.out_proj.weight"]).shape[0])]}
    else:
        raise PackedGraphError(f"kind must be embedder or reranker, got {kind!r}")
    for name, shape in dims.items():
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["tokens"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["tokens"]),
        # The portable variant ignores token_offset; it stays an input so both variants take the same feeds.
        helper.make_tensor_value_info("token_offset", TensorProto.INT32, ["batch", "max_len"]),
        helper.make_tensor_value_info("cu_seqlens", TensorProto.INT32, ["batch_plus_1"]),
    ]
    graph = helper.make_graph(g.nodes, f"tandem-packed-{kind}", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid(MS_DOMAIN, 1)],
                              producer_name="tandem packed_graph.py")
    model.ir_version = 8  # readable by onnxruntime 1.14+ and onnx 1.12+
    return model
