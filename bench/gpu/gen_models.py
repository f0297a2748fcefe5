#!/usr/bin/env python3
"""Random-weight models with the real bge-m3 / bge-reranker-base shapes, for the GPU benchmark.

    python3 bench/gpu/gen_models.py --out /root/bench-models            # on the GPU machine
    python3 bench/gpu/gen_models.py --out /tmp/toy-models --toy         # CPU smoke test, no torch

What it writes under --out:

  hf/m3/         XLMRobertaModel (vocab 250002, d=1024, 24 layers, 16 heads, ff 4096,
                 8194 positions, pad 1) + FlagEmbedding heads sparse_linear.pt (1024->1)
                 and colbert_linear.pt (1024->1024), random weights, fp32 safetensors
  hf/reranker/   XLMRobertaForSequenceClassification (vocab 250002, d=768, 12 layers,
                 12 heads, ff 3072, 514 positions, 1 label), random weights
  m3/, reranker/ Tandem model folders exported by `python -m tandem_export` (models/export)
                 (default --mode packed: export-packed, fp16 padding-free graph with
                 PackedMultiHeadAttention; --mode dynamo: fp16 model, SDPA attention,
                 torch.onnx.export dynamo=True opset 23, falling back to --mode ort:
                 --fp16 --optimize)
  gen.json, gen.md  export mode, times and fused attention node counts of each graph

Both models share one synthetic SentencePiece-Unigram tokenizer.json: ids <s>=0 <pad>=1
</s>=2 <unk>=3, pieces "▁w0" ... "▁w249996" at ids 4 ... 250000, <mask>=250001 (250002
entries), a Metaspace pre-tokenizer and XLM-R's templates (<s> A </s> and
<s> A </s></s> B </s>).  A text of N space-separated words "wK" therefore encodes to
exactly N tokens plus the specials, which lets the load generator build inputs of exact
token lengths.  `--toy` writes tiny hand-built ONNX graphs (embedding lookups, width 16)
with the same tokenizer and I/O layout, for a CPU run of the whole harness.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

# models/export on PYTHONPATH (run.sh sets it) or `pip install models/export`; importing the
# package also sets HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE and TOKENIZERS_PARALLELISM=false.
import tandem_export
from tandem_export.common import write_json
from tandem_export.hub_io import pin_config, write_xlmr_tokenizer_files
from tandem_export.onnx_io import attention_node_counts

# The export CLI, run as `python -m tandem_export` with the package's folder on PYTHONPATH.
EXPORT_PATH = str(Path(tandem_export.__file__).resolve().parents[1])

VOCAB_SIZE = 250002
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0..3 as in XLM-R
MASK_ID = VOCAB_SIZE - 1
FIRST_WORD_ID = len(SPECIALS)
N_WORDS = MASK_ID - FIRST_WORD_ID  # "w0" .. "w249996"
META = "\u2581"

M3_SHAPE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                max_position_embeddings=8194)
RERANKER_SHAPE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                      max_position_embeddings=514)
TOY_HIDDEN = 16
# Longest a dynamo export may take before it is killed and redone with --fp16 --optimize.
DYNAMO_MAX_S = float(os.environ.get("GEN_DYNAMO_MAX_S", "200"))

T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} +{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------


def word(k: int) -> str:
    """The k-th synthetic word; it encodes to token id k + 4."""
    return f"w{k}"


def tokenizer_json() -> dict:
    """tokenizer.json of the synthetic XLM-R-style Unigram tokenizer (format of tokenizers 0.19+)."""
    added = [dict(id=i, content=t, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
             for i, t in enumerate(SPECIALS)]
    added.append(dict(id=MASK_ID, content="<mask>", single_word=False, lstrip=True, rstrip=False,
                      normalized=False, special=True))
    vocab = [[t, 0.0] for t in SPECIALS]
    vocab += [[META + word(k), -10.0] for k in range(N_WORDS)]
    vocab.append(["<mask>", 0.0])
    assert len(vocab) == VOCAB_SIZE
    metaspace = {"type": "Metaspace", "replacement": META, "add_prefix_space": True,
                 "prepend_scheme": "always", "split": True}

    def special(tok):
        return {"SpecialToken": {"id": tok, "type_id": 0}}

    def seq(name):
        return {"Sequence": {"id": name, "type_id": 0}}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("<s>"), seq("A"), special("</s>")],
            "pair": [special("<s>"), seq("A"), special("</s>"), special("</s>"), seq("B"), special("</s>")],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
            },
        },
        "decoder": dict(metaspace),
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }


def write_tokenizer(folder: Path, tok_json: Path, max_length: int) -> None:
    """tokenizer.json + tokenizer_config.json (model_max_length) + special_tokens_map.json."""
    write_xlmr_tokenizer_files(folder, tok_json, max_length)


def check_tokenizer(tok_json: Path) -> str:
    """Encode word texts with the `tokenizers` library and check the exact ids; returns a status line."""
    try:
        import tokenizers
    except ImportError:
        return "tokenizers library not installed here: tokenizer not checked in Python"
    tok = tokenizers.Tokenizer.from_file(str(tok_json))
    if tok.get_vocab_size(with_added_tokens=True) != VOCAB_SIZE:
        raise SystemExit(f"tokenizer vocab size {tok.get_vocab_size(with_added_tokens=True)} != {VOCAB_SIZE}")
    rng = random.Random(7)
    for n in (1, 30, 126, 510, 4094):
        ks = [rng.randrange(N_WORDS) for _ in range(n)]
        enc = tok.encode(" ".join(word(k) for k in ks))
        want = [0] + [k + FIRST_WORD_ID for k in ks] + [2]
        if enc.ids != want:
            raise SystemExit(f"tokenizer check failed for {n} words: got {len(enc.ids)} ids {enc.ids[:8]}..., "
                             f"want {len(want)} ids {want[:8]}...")
    q = [rng.randrange(N_WORDS) for _ in range(32)]
    d = [rng.randrange(N_WORDS) for _ in range(220)]
    enc = tok.encode(" ".join(map(word, q)), " ".join(map(word, d)))
    if len(enc.ids) != 256 or enc.ids[:1] != [0] or enc.ids[33:35] != [2, 2] or enc.ids[-1] != 2:
        raise SystemExit(f"tokenizer pair check failed: {len(enc.ids)} ids")
    return f"tokenizers {tokenizers.__version__}: N words -> N+2 ids, pair 32+220 words -> 256 ids (checked)"


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def count_attention(onnx_path: Path) -> dict:
    """{"domain::op": n} of fused attention nodes in the graph (and local functions), and "_total_nodes"."""
    return attention_node_counts(onnx_path, with_total=True)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------
# random HF models
# --------------------------------------------------------------------------


def make_hf_models(hf: Path, tok_json: Path, seed: int) -> dict:
    import torch
    import transformers

    times = {}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    common = dict(vocab_size=VOCAB_SIZE, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                  layer_norm_eps=1e-5, hidden_act="gelu", initializer_range=0.02)

    start = time.monotonic()
    torch.manual_seed(seed)
    cfg = transformers.XLMRobertaConfig(architectures=["XLMRobertaModel"], **common, **M3_SHAPE)
    with torch.device(device):
        model = transformers.XLMRobertaModel(cfg)
        sparse = torch.nn.Linear(M3_SHAPE["hidden_size"], 1)
        colbert = torch.nn.Linear(M3_SHAPE["hidden_size"], M3_SHAPE["hidden_size"])
    model = model.to("cpu")
    n_params = sum(p.numel() for p in model.parameters())
    out = hf / "m3"
    model.save_pretrained(str(out))  # safetensors by default (transformers >= 4.35)
    torch.save({k: v.cpu() for k, v in sparse.state_dict().items()}, out / "sparse_linear.pt")
    torch.save({k: v.cpu() for k, v in colbert.state_dict().items()}, out / "colbert_linear.pt")
    write_tokenizer(out, tok_json, M3_SHAPE["max_position_embeddings"] - 2)
    del model, sparse, colbert
    times["m3_init_save_s"] = round(time.monotonic() - start, 1)
    log(f"hf/m3: {n_params / 1e6:.0f}M parameters (init on {device}), {folder_size(out) / 2**30:.2f} GiB, "
        f"{times['m3_init_save_s']} s")

    start = time.monotonic()
    torch.manual_seed(seed + 1)
    rcfg = transformers.XLMRobertaConfig(architectures=["XLMRobertaForSequenceClassification"], num_labels=1,
                                         id2label={0: "LABEL_0"}, label2id={"LABEL_0": 0},
                                         **common, **RERANKER_SHAPE)
    with torch.device(device):
        reranker = transformers.XLMRobertaForSequenceClassification(rcfg)
    reranker = reranker.to("cpu")
    n_params = sum(p.numel() for p in reranker.parameters())
    out = hf / "reranker"
    reranker.save_pretrained(str(out))
    write_tokenizer(out, tok_json, RERANKER_SHAPE["max_position_embeddings"] - 2)
    del reranker
    fix_config(out / "config.json", ["XLMRobertaForSequenceClassification"], {"0": "LABEL_0"})
    fix_config(hf / "m3" / "config.json", ["XLMRobertaModel"], None)
    times["reranker_init_save_s"] = round(time.monotonic() - start, 1)
    log(f"hf/reranker: {n_params / 1e6:.0f}M parameters, {folder_size(out) / 2**30:.2f} GiB, "
        f"{times['reranker_init_save_s']} s")
    if device == "cuda":
        torch.cuda.empty_cache()
    return times


def fix_config(path: Path, architectures: list, id2label: dict | None) -> None:
    """Pin architectures / labels in config.json whatever transformers wrote."""
    pin_config(path, architectures, id2label, num_labels=True)


# --------------------------------------------------------------------------
# export (the project's tool, both models at once)
# --------------------------------------------------------------------------


RUNNING: list = []


def _on_term(signum, _frame):
    """Take the export subprocesses down with us (run.sh's `timeout` sends SIGTERM)."""
    for proc in RUNNING:
        if proc.poll() is None:
            proc.kill()
    log(f"signal {signum}: exports killed")
    sys.exit(128 + signum)


class Export:
    """One `python -m tandem_export` subprocess with prefixed, time-stamped output and a deadline."""

    def __init__(self, name: str, args: list, log_path: Path, threads: int):
        self.name = name
        self.args = args
        self.start = time.monotonic()
        path = os.pathsep.join(p for p in (EXPORT_PATH, os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                   PYTHONUNBUFFERED="1", PYTHONPATH=path)
        self.log_fh = open(log_path, "w", encoding="utf-8")
        log(f"[{name}] $ {' '.join(args)}")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=env, errors="replace")
        RUNNING.append(self.proc)
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self):
        for line in self.proc.stdout:
            self.log_fh.write(line)
            self.log_fh.flush()
            log(f"[{self.name}] {line.rstrip()}")

    def wait(self, deadline: float) -> int:
        try:
            rc = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"[{self.name}] TIMEOUT: killing the export")
            self.proc.kill()
            rc = 124
            self.proc.wait(timeout=30)
        self.reader.join(timeout=10)
        self.log_fh.close()
        self.seconds = round(time.monotonic() - self.start, 1)
        log(f"[{self.name}] exit {rc} after {self.seconds} s")
        return rc


def export_args(kind: str, hf_dir: Path, out_dir: Path, mode: str, verify: bool) -> list:
    if mode == "packed":  # built node by node from the weights: nothing to trace or verify on the CPU
        return [sys.executable, "-m", "tandem_export", "export-packed", "--model", str(hf_dir), "--out", str(out_dir),
                "--kind", "embedder" if kind == "m3" else "reranker"]
    cmd = [sys.executable, "-m", "tandem_export", "export-m3" if kind == "m3" else "export-reranker",
           "--model", str(hf_dir), "--out", str(out_dir)]
    cmd += ["--dynamo"] if mode == "dynamo" else ["--fp16", "--optimize"]
    if not verify:
        cmd.append("--no-verify")
    return cmd


def export_all(root: Path, mode: str, deadline: float, verify: bool, fallback: bool) -> dict:
    threads = max(1, (os.cpu_count() or 2) // 2)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    results = {}
    jobs = {}
    for kind in ("m3", "reranker"):
        shutil.rmtree(root / kind, ignore_errors=True)
        jobs[kind] = Export(kind, export_args(kind, root / "hf" / kind, root / kind, mode, verify),
                            root / "logs" / f"export-{kind}-{mode}.log", threads)
    # A dynamo export that hangs must leave time for the fallback export.
    first_deadline = min(deadline, time.monotonic() + DYNAMO_MAX_S) if mode == "dynamo" and fallback else deadline
    for kind, job in jobs.items():
        rc = job.wait(first_deadline)
        results[kind] = {"mode": mode, "rc": rc, "export_s": job.seconds}
    if fallback and mode == "dynamo":
        failed = [k for k, r in results.items() if r["rc"] != 0]
        left = deadline - time.monotonic()
        if failed and left > 60:
            log(f"dynamo export failed for {failed}; falling back to --fp16 --optimize ({left:.0f} s left)")
            jobs = {}
            for kind in failed:
                shutil.rmtree(root / kind, ignore_errors=True)
                jobs[kind] = Export(kind + "/ort", export_args(kind, root / "hf" / kind, root / kind, "ort", verify),
                                    root / "logs" / f"export-{kind}-ort.log", threads)
            for kind, job in jobs.items():
                rc = job.wait(deadline)
                results[kind] = {"mode": "ort (fallback after dynamo failed)", "rc": rc, "export_s": job.seconds}
    return results


# --------------------------------------------------------------------------
# toy graphs (CPU smoke test of the harness; needs only onnx + numpy)
# --------------------------------------------------------------------------


def make_toy_models(root: Path, tok_json: Path) -> dict:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    emb = numpy_helper.from_array((rng.standard_normal((VOCAB_SIZE, TOY_HIDDEN)) * 0.5).astype(np.float32), "emb")

    def inputs():
        return [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
                helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])]

    common = [
        helper.make_node("Gather", ["emb", "input_ids"], ["x0"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis_last"], ["mask3"]),
        helper.make_node("Mul", ["x0", "mask3"], ["x"]),
    ]
    axis_last = numpy_helper.from_array(np.array([-1], dtype=np.int64), "axis_last")
    opset = [helper.make_opsetid("", 13)]

    ws = numpy_helper.from_array(rng.standard_normal((TOY_HIDDEN, 1)).astype(np.float32), "ws")
    wc = numpy_helper.from_array(rng.standard_normal((TOY_HIDDEN, TOY_HIDDEN)).astype(np.float32), "wc")
    consts = [numpy_helper.from_array(np.array(v, dtype=np.int64), n) for n, v in
              (("zero", 0), ("one1", [1]), ("big1", [1 << 62]), ("ax1", [1]))]
    m3_nodes = common + [
        helper.make_node("Gather", ["x", "zero"], ["dense_vecs"], axis=1),
        helper.make_node("MatMul", ["x", "ws"], ["s0"]),
        helper.make_node("Relu", ["s0"], ["s1"]),
        helper.make_node("Squeeze", ["s1", "axis_last"], ["sparse_weights"]),
        helper.make_node("Slice", ["x", "one1", "big1", "ax1"], ["xs"]),
        helper.make_node("MatMul", ["xs", "wc"], ["colbert_vecs"]),
    ]
    m3 = helper.make_graph(m3_nodes, "toy_m3", inputs(), [
        helper.make_tensor_value_info("dense_vecs", TensorProto.FLOAT, ["batch", TOY_HIDDEN]),
        helper.make_tensor_value_info("sparse_weights", TensorProto.FLOAT, ["batch", "sequence"]),
        helper.make_tensor_value_info("colbert_vecs", TensorProto.FLOAT, ["batch", "sequence_minus_1", TOY_HIDDEN]),
    ], [emb, axis_last, ws, wc] + consts)

    wr = numpy_helper.from_array(rng.standard_normal((TOY_HIDDEN, 1)).astype(np.float32), "wr")
    rr_nodes = common + [
        helper.make_node("ReduceMean", ["x"], ["pooled"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["pooled", "wr"], ["logits"]),
    ]
    rr = helper.make_graph(rr_nodes, "toy_reranker", inputs(), [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])], [emb, axis_last, wr])

    base = dict(model_type="xlm-roberta", vocab_size=VOCAB_SIZE, hidden_size=TOY_HIDDEN, num_hidden_layers=1,
                num_attention_heads=1, intermediate_size=TOY_HIDDEN, type_vocab_size=1, pad_token_id=1,
                bos_token_id=0, eos_token_id=2)
    for kind, graph, positions, cfg, manifest in (
            ("m3", m3, 8194, dict(base, architectures=["XLMRobertaModel"], max_position_embeddings=8194),
             {"format": "tandem-v1", "kind": "embedder", "architecture": "xlm-roberta", "pooling": "cls",
              "outputs": {"dense": "dense_vecs", "sparse": "sparse_weights", "colbert": "colbert_vecs"},
              "sparse_skip_token_ids": [0, 2, 1, 3], "hidden_size": TOY_HIDDEN, "colbert_dim": TOY_HIDDEN,
              "max_input_length": 8192, "dtype": "float32", "source": "toy"}),
            ("reranker", rr, 514, dict(base, architectures=["XLMRobertaForSequenceClassification"],
                                       max_position_embeddings=514, id2label={"0": "LABEL_0"},
                                       label2id={"LABEL_0": 0}),
             {"format": "tandem-v1", "kind": "reranker", "architecture": "xlm-roberta",
              "outputs": {"logits": "logits"}, "max_input_length": 512, "dtype": "float32"})):
        folder = root / kind
        shutil.rmtree(folder, ignore_errors=True)
        model = helper.make_model(graph, opset_imports=opset, producer_name="tandem-bench-toy")
        model.ir_version = 7
        onnx.checker.check_model(model)
        folder.mkdir(parents=True)
        onnx.save_model(model, str(folder / "model.onnx"))
        write_json(folder / "config.json", cfg)
        write_json(folder / "tandem.json", manifest)
        write_tokenizer(folder, tok_json, positions - 2)
        log(f"toy {kind}: {folder}")
    return {k: {"mode": "toy", "rc": 0, "export_s": 0.0} for k in ("m3", "reranker")}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/root/bench-models"))
    ap.add_argument("--mode", choices=("packed", "dynamo", "ort"), default=os.environ.get("BENCH_EXPORT", "packed"),
                    help="packed: export-packed, padding-free graph with PackedMultiHeadAttention (flash on sm80+); "
                         "dynamo: fp16+sdpa via torch.onnx.export(dynamo=True, opset 23) (fused Attention); "
                         "ort: TorchScript export + onnxruntime optimizer + fp16 (attention not fused)")
    ap.add_argument("--no-fallback", action="store_true", help="do not retry a failed dynamo export with --mode ort")
    ap.add_argument("--verify", action="store_true", help="run the tool's onnxruntime-vs-PyTorch check (slower)")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("GEN_TIMEOUT_S", "330")),
                    help="seconds for everything (exports are killed at the deadline)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--toy", action="store_true", help="tiny hand-built ONNX graphs for a CPU smoke test")
    ap.add_argument("--reuse", action="store_true", help="keep existing exported folders (m3/, reranker/)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_term)
    deadline = T0 + args.timeout
    root = args.out
    root.mkdir(parents=True, exist_ok=True)
    summary = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "toy": args.toy}

    tok_json = root / "tokenizer.json"
    start = time.monotonic()
    write_json(tok_json, tokenizer_json())
    summary["tokenizer"] = check_tokenizer(tok_json)
    log(f"tokenizer: {tok_json} ({tok_json.stat().st_size / 2**20:.1f} MiB, {time.monotonic() - start:.1f} s); "
        f"{summary['tokenizer']}")

    reuse = args.reuse and all((root / k / "model.onnx").is_file() for k in ("m3", "reranker"))
    if args.toy:
        summary["models"] = make_toy_models(root, tok_json)
    elif reuse:
        log("reusing existing m3/ and reranker/")
        summary["models"] = {k: {"mode": "reused", "rc": 0, "export_s": 0.0} for k in ("m3", "reranker")}
    else:
        import torch
        import transformers
        summary["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__}
        try:
            import onnx
            import onnxruntime
            summary["versions"].update(onnx=onnx.__version__, onnxruntime_python=onnxruntime.__version__)
        except ImportError:
            pass
        summary["hf"] = make_hf_models(root / "hf", tok_json, args.seed)
        summary["models"] = export_all(root, args.mode, deadline, args.verify, not args.no_fallback)

    ok = True
    for kind, res in summary["models"].items():
        graph = root / kind / "model.onnx"
        if res["rc"] == 0 and graph.is_file():
            try:
                res["attention"] = count_attention(graph)
            except Exception as exc:  # noqa: BLE001 - informational
                res["attention"] = {"error": str(exc)}
            res["size_gib"] = round(folder_size(root / kind) / 2**30, 2)
        else:
            ok = False
        log(f"{kind}: {json.dumps(res)}")
    summary["seconds"] = round(time.monotonic() - T0, 1)
    write_json(root / "gen.json", summary)

    lines = ["| model | export | exit | export s | fused attention nodes | nodes | size GiB |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for kind, res in summary["models"].items():
        att = dict(res.get("attention", {}))
        total = att.pop("_total_nodes", "")
        att_text = ", ".join(f"{k} {v}" for k, v in sorted(att.items())) or "0"
        lines.append(f"| {kind} | {res['mode']} | {res['rc']} | {res['export_s']} | {att_text} | {total} "
                     f"| {res.get('size_gib', '')} |")
    hf = summary.get("hf", {})
    lines.append("")
    lines.append(f"Random init + save: m3 {hf.get('m3_init_save_s', '-')} s, reranker "
                 f"{hf.get('reranker_init_save_s', '-')} s; generation total {summary['seconds']} s. "
                 f"Tokenizer: {summary['tokenizer']}.")
    (root / "gen.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
