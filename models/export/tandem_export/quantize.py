"""`quantize-int8`: an opt-in int8 copy of an exported fp32 folder (never what an export writes by
default), made with onnxruntime's dynamic quantisation, and how far its vectors are from fp32's.

Dynamic quantisation stores the weights of every MatMul with a constant weight as int8 and
quantises the activations to uint8 at run time (DynamicQuantizeLinear + MatMulInteger, which
onnxruntime's CPU provider fuses into DynamicQuantizeMatMul when it loads the graph); the
attention's activation-by-activation MatMuls stay fp32. No calibration data is needed. The I/O
stays fp32, so the Java side loads the folder like the fp32 one. The embedding tables (Gather)
stay fp32 unless asked (`--with-gather`): they cost no arithmetic, and int8 tables lowered the
cosine (below).

The new folder gets every file of the source folder except the ONNX graph (config, tokenizer,
1_Pooling/, tandem.json with a "quantization" entry added) and the quantised graph at the same
relative path (model.onnx or onnx/model.onnx). quantize-report.json in it says, for a list of
texts, the cosine of each int8 vector against the fp32 graph's (min and mean): the CLS row of
last_hidden_state (mean of the tokens when 1_Pooling says mean pooling), dense_vecs / a pooled
output, or, for a reranker's one-logit output, the cosine of all scores as one vector and their
largest absolute difference.

Padded-input layouts only (input_ids, attention_mask[, token_type_ids]); the packed graphs of
export-packed are not handled.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

from .common import MANIFEST_NAME, ExportError, human_size, log, read_json, require, timed, write_json
from .hub_io import compute_max_input_length, detect_architecture, load_tokenizer
from .verify import VERIFY_PAIRS, VERIFY_TEXTS

REPORT_NAME = "quantize-report.json"
GRAPH_CANDIDATES = ("model.onnx", "onnx/model.onnx")
# Files that belong to the graph and are not copied (the quantised graph replaces them).
GRAPH_SUFFIXES = (".onnx", ".onnx_data", ".onnx.data")
QUANTIZED_OPS = ("DynamicQuantizeLinear", "MatMulInteger", "DynamicQuantizeMatMul", "QAttention",
                 "ConvInteger", "QGemm", "QEmbedLayerNormalization", "DequantizeLinear")
# Output preference: a pooled vector when the graph has one, else the logits, else the CLS row.
OUTPUT_PREFERENCE = ("dense_vecs", "sentence_embedding", "pooler_output", "logits", "last_hidden_state")

# The default settings, chosen on bge-small-zh-v1.5 (the built-in model) over the 384 texts of
# bench/cpu/corpus.txt (AMD EPYC with AVX-512 VNNI, onnxruntime 1.30; cosine of the CLS vectors
# against the fp32 graph's):
#
#   ops            per_channel reduce_range | min cosine  mean cosine
#   MatMul         True        False        |   0.992601    0.995934   <- kept
#   MatMul         True        True         |   0.991404    0.994566
#   MatMul         False       False        |   0.939406    0.958008
#   MatMul         False       True         |   0.814665    0.867293
#   MatMul+Gather  True        False        |   0.989526    0.992860
#   MatMul+Gather  True        True         |   0.985800    0.991096
#   MatMul+Gather  False       False        |   0.933656    0.954069
#   MatMul+Gather  False       True         |   0.810043    0.863694
#
# Kept: MatMul only, per-channel, no reduce_range (best min and mean). Per-channel weight scales
# matter most: the columns of a BERT's weight matrices have very different ranges. reduce_range
# (7-bit weights) is for CPUs without VNNI, whose u8 x s8 dot product can saturate; it costs
# accuracy, so it is off unless asked (`--reduce-range on`; `--search` tries all four).
# quant_pre_process did not help: its symbolic shape inference fails on this graph ("Incomplete
# symbolic shape inference"), and with only ONNX shape inference and its optimisation step the four
# settings gave the same cosines to 1e-6 as without it. So it is off unless asked (`--preprocess`).
# Leaving single layers or kinds of MatMul in fp32 helped little (the best, the four FFN
# down-projections, min 0.9959 / mean 0.9977) for a fair share of the arithmetic, so all are
# quantised.
DEFAULT_PER_CHANNEL = True
DEFAULT_REDUCE_RANGE = False
DEFAULT_PREPROCESS = False
DEFAULT_OP_TYPES = ("MatMul",)
WITH_GATHER_OP_TYPES = ("MatMul", "Gather")


# --------------------------------------------------------------------------
# the source folder
# --------------------------------------------------------------------------


def find_graph(folder: Path) -> Path:
    """The fp32 graph of an exported folder: model.onnx (Tandem layout) or onnx/model.onnx (BAAI's)."""
    for rel in GRAPH_CANDIDATES:
        if (folder / rel).is_file():
            return folder / rel
    raise ExportError(f"{folder} has neither model.onnx nor onnx/model.onnx")


def is_graph_file(path: Path) -> bool:
    return path.name.endswith(GRAPH_SUFFIXES)


def copy_side_files(src: Path, dst: Path, skip: set) -> list[str]:
    """Copy every file of `src` (recursively, symlinks followed) that is not a graph file."""
    copied = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_dir() or is_graph_file(path) or rel.as_posix() in skip:
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)  # follows symlinks (the fixtures' shared tokenizer.json)
        copied.append(rel.as_posix())
    return copied


def max_input_length(folder: Path) -> int:
    """tandem.json's max_input_length, else what config.json's position table allows, else 512."""
    if (folder / MANIFEST_NAME).is_file():
        value = read_json(folder / MANIFEST_NAME).get("max_input_length")
        if value:
            return int(value)
    if (folder / "config.json").is_file():
        cfg = read_json(folder / "config.json")
        return compute_max_input_length(cfg, detect_architecture(cfg))
    return 512


def pooling_mode(folder: Path) -> str:
    """'mean' when 1_Pooling/config.json asks for mean pooling only, else 'cls'."""
    path = folder / "1_Pooling" / "config.json"
    if path.is_file():
        cfg = read_json(path)
        if cfg.get("pooling_mode_mean_tokens") and not cfg.get("pooling_mode_cls_token"):
            return "mean"
    return "cls"


def is_reranker(folder: Path) -> bool:
    if (folder / MANIFEST_NAME).is_file():
        return read_json(folder / MANIFEST_NAME).get("kind") == "reranker"
    if (folder / "config.json").is_file():
        archs = read_json(folder / "config.json").get("architectures") or []
        return any(str(a).endswith("ForSequenceClassification") for a in archs)
    return False


def read_items(path: Path | None, reranker: bool) -> list:
    """Texts to compare on: one per line (a reranker's line is `query<TAB>text`; blank lines are
    skipped). Default: the fixture texts (pairs for a reranker) that `verify` uses."""
    if path is None:
        return list(VERIFY_PAIRS if reranker else VERIFY_TEXTS)
    if not path.is_file():
        raise ExportError(f"--texts {path} not found")
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if reranker and "\t" in line:
            query, text = line.split("\t", 1)
            items.append((query, text))
        else:
            items.append(line)
    if not items:
        raise ExportError(f"--texts {path} has no text")
    return items


def encode_items(tokenizer, items, max_len: int) -> list:
    """One unpadded batch of one per item (the int64 feeds, all three; run_feeds picks)."""
    np = require("numpy", "quantize-int8")
    tokenizers = require("tokenizers", "quantize-int8")
    tok = tokenizers.Tokenizer.from_str(tokenizer.to_str())
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    feeds = []
    for item in items:
        enc = tok.encode(*item) if isinstance(item, tuple) else tok.encode(item)
        feeds.append({"input_ids": np.array([enc.ids], dtype=np.int64),
                      "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
                      "token_type_ids": np.array([enc.type_ids], dtype=np.int64)})
    return feeds


# --------------------------------------------------------------------------
# running a graph
# --------------------------------------------------------------------------


def cpu_session(path: Path, threads: int = 0):
    """A CPU session; threads=0 lets onnxruntime pick (all cores)."""
    ort = require("onnxruntime", "quantize-int8")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def session_feeds(session) -> list:
    """(input name, numpy dtype) the graph declares; refuses inputs other than the padded layout's."""
    np = require("numpy", "quantize-int8")
    out = []
    for inp in session.get_inputs():
        if inp.name not in ("input_ids", "attention_mask", "token_type_ids"):
            raise ExportError(f"graph input {inp.name!r}: quantize-int8 handles padded layouts only "
                              "(input_ids, attention_mask, token_type_ids)")
        out.append((inp.name, np.int32 if "int32" in inp.type else np.int64))
    return out


def choose_output(session) -> str:
    names = [o.name for o in session.get_outputs()]
    for name in OUTPUT_PREFERENCE:
        if name in names:
            return name
    return names[0]


def item_vectors(session, feeds: list, output: str, pooling: str) -> list:
    """The compared vector of every item, float64: pooled output / logits row / CLS (or mean) row."""
    np = require("numpy", "quantize-int8")
    wanted = session_feeds(session)
    vecs = []
    for f in feeds:
        arr = session.run([output], {name: f[name].astype(dt) for name, dt in wanted})[0]
        arr = np.asarray(arr, dtype=np.float64)[0]
        if arr.ndim == 2:  # [seq, hidden]: pool the token rows
            arr = arr.mean(axis=0) if pooling == "mean" else arr[0]
        vecs.append(arr.reshape(-1))
    return vecs


def cosine(a, b) -> float:
    np = require("numpy", "quantize-int8")
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / denom) if denom > 0 else float("nan")


def compare(ref: list, got: list) -> dict:
    """min/mean cosine of int8 against fp32, per item; scalar outputs (a reranker's one logit) are
    compared as one vector of all scores."""
    np = require("numpy", "quantize-int8")
    abs_diff = [float(np.abs(g - r).max()) for g, r in zip(got, ref)]
    if all(r.size == 1 for r in ref):
        cos = cosine(np.concatenate(ref), np.concatenate(got))
        return {"compared": "scores as one vector", "min_cosine": cos, "mean_cosine": cos,
                "max_abs_diff": max(abs_diff), "per_item_abs_diff": abs_diff}
    per_item = [cosine(r, g) for r, g in zip(ref, got)]
    return {"compared": "per item", "min_cosine": min(per_item), "mean_cosine": float(np.mean(per_item)),
            "max_abs_diff": max(abs_diff), "per_item_cosine": per_item, "per_item_abs_diff": abs_diff}


def op_counts(path: Path) -> dict:
    """{op_type: count} of the graph's nodes."""
    onnx = require("onnx", "quantize-int8")
    counts: dict = {}
    for node in onnx.load(str(path), load_external_data=False).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


# --------------------------------------------------------------------------
# quantising
# --------------------------------------------------------------------------


def has_external_data(graph: Path) -> bool:
    return any(p.is_file() and p.name.endswith((".onnx_data", ".onnx.data", ".data"))
               for p in graph.parent.iterdir())


@contextlib.contextmanager
def _cwd(folder: Path):
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def preprocess_graph(src: Path, work: Path) -> tuple[Path | None, str]:
    """onnxruntime's quant_pre_process into `work` (once); falls back to ONNX shape inference alone
    when the symbolic one fails. (path or None, what was done)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process
    pre, note = work / "preprocessed" / src.name, work / "preprocessed" / "note.txt"
    if note.is_file():
        return (pre if pre.is_file() else None), note.read_text(encoding="utf-8")
    pre.parent.mkdir(parents=True, exist_ok=True)
    external = has_external_data(src)
    done, errors = None, []
    for how, kwargs in (("quant_pre_process", {}),
                        ("quant_pre_process without symbolic shape inference", {"skip_symbolic_shape": True})):
        try:
            # A failing symbolic shape inference leaves sym_shape_infer_temp.onnx and a <uuid>.data of
            # the graph's size in the current directory: run it from the work folder.
            with _cwd(pre.parent):
                quant_pre_process(str(src.resolve()), str(pre.resolve()), save_as_external_data=external,
                                  all_tensors_to_one_file=True, **kwargs)
            done = how
            break
        except Exception as exc:  # noqa: BLE001 - symbolic shape inference fails on some graphs
            errors.append(f"{how}: {type(exc).__name__}: {exc}")
            log(f"WARNING: {how} failed ({type(exc).__name__}: {exc})")
    text = "; ".join(errors + ([done] if done else ["quantising the graph as is"]))
    note.write_text(text, encoding="utf-8")
    return (pre if done else None), text


def quantize_graph(src: Path, dst: Path, work: Path, per_channel: bool, reduce_range: bool,
                   preprocess: bool, op_types=DEFAULT_OP_TYPES) -> dict:
    """quant_pre_process (optional) then quantize_dynamic with QInt8 weights; returns what was done."""
    require("onnxruntime.quantization", "quantize-int8")
    from onnxruntime.quantization import QuantType, quantize_dynamic
    source = src
    done = {"op_types": list(op_types), "per_channel": per_channel, "reduce_range": reduce_range,
            "preprocess": False}
    if preprocess:
        pre, note = preprocess_graph(src, work)
        done["preprocess"], done["preprocess_note"] = pre is not None, note
        source = pre or src
    dst.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(str(source), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel,
                     reduce_range=reduce_range, op_types_to_quantize=list(op_types),
                     use_external_data_format=has_external_data(src))
    return done


def measure_speed(fp32: Path, int8: Path, feeds: list, rounds: int) -> dict:
    """texts/s of both graphs, one onnxruntime thread, one text per run, `rounds` interleaved
    rounds over all feeds (fp32 then int8 each round); best round of each."""
    sessions = {"fp32": cpu_session(fp32, threads=1), "int8": cpu_session(int8, threads=1)}
    plans = {k: (s, [o.name for o in s.get_outputs()][:1], session_feeds(s)) for k, s in sessions.items()}
    runs = {k: [] for k in sessions}
    for name, (s, outs, wanted) in plans.items():  # warm-up
        for f in feeds[:8]:
            s.run(outs, {n: f[n].astype(dt) for n, dt in wanted})
    for r in range(rounds):
        for name, (s, outs, wanted) in plans.items():
            prepared = [{n: f[n].astype(dt) for n, dt in wanted} for f in feeds]
            start = time.perf_counter()
            for f in prepared:
                s.run(outs, f)
            rate = len(feeds) / (time.perf_counter() - start)
            runs[name].append(rate)
            log(f"  speed round {r + 1}: {name} {rate:.1f} texts/s")
    best = {k: max(v) for k, v in runs.items()}
    return {"threads": 1, "texts_per_run": 1, "texts": len(feeds), "rounds": rounds,
            "texts_per_s": runs, "best_texts_per_s": best, "speedup": best["int8"] / best["fp32"]}


def _setting_label(s: dict) -> str:
    return (f"ops={'+'.join(s['op_types'])} per_channel={s['per_channel']} reduce_range={s['reduce_range']} "
            f"preprocess={s['preprocess']}")


def quantize_int8(onnx_dir, out_dir, texts: Path | None = None, per_channel: bool | None = None,
                  reduce_range: bool | None = None, preprocess: bool | None = None, search: bool = False,
                  with_gather: bool = False, speed_rounds: int = 0) -> dict:
    """Write the int8 copy of `onnx_dir` to `out_dir` and quantize-report.json in it; return the report.

    search=True quantises with every combination of per_channel and reduce_range and keeps the best
    (highest min cosine, then mean); otherwise the given settings, each defaulting to the DEFAULT_*
    above. with_gather also quantises the embedding tables.
    """
    ort = require("onnxruntime", "quantize-int8")
    onnx_dir, out_dir = Path(onnx_dir), Path(out_dir)
    if not onnx_dir.is_dir():
        raise ExportError(f"folder not found: {onnx_dir}")
    if out_dir.resolve() == onnx_dir.resolve() or onnx_dir.resolve() in out_dir.resolve().parents:
        raise ExportError("--out must be a new folder outside --onnx-dir")
    graph = find_graph(onnx_dir)
    rel_graph = graph.relative_to(onnx_dir)
    reranker = is_reranker(onnx_dir)
    items = read_items(texts, reranker)
    max_len = max_input_length(onnx_dir)
    pooling = pooling_mode(onnx_dir)
    feeds = encode_items(load_tokenizer(onnx_dir), items, max_len)
    log(f"quantize-int8 {graph} -> {out_dir / rel_graph}: {len(items)} {'pairs' if reranker else 'texts'} "
        f"({texts or 'fixture texts'}), truncated to {max_len} tokens")

    with timed("fp32 reference vectors"):
        ref_session = cpu_session(graph)
        output = choose_output(ref_session)
        ref = item_vectors(ref_session, feeds, output, pooling)
        del ref_session
    how = f"{pooling.upper()} row of" if output == "last_hidden_state" else "output"
    log(f"  comparing {how} {output!r} ({ref[0].size} values per item)")

    common = {"preprocess": DEFAULT_PREPROCESS if preprocess is None else preprocess,
              "op_types": WITH_GATHER_OP_TYPES if with_gather else DEFAULT_OP_TYPES}
    if search:
        settings = [dict(common, per_channel=pc, reduce_range=rr)
                    for pc, rr in itertools.product((True, False), (False, True))]
    else:
        settings = [dict(common, per_channel=DEFAULT_PER_CHANNEL if per_channel is None else per_channel,
                         reduce_range=DEFAULT_REDUCE_RANGE if reduce_range is None else reduce_range)]

    out_dir.mkdir(parents=True, exist_ok=True)
    candidates = []
    with tempfile.TemporaryDirectory(prefix="tandem-int8-", dir=out_dir) as tmp:
        work = Path(tmp)
        for i, s in enumerate(settings):
            with timed(f"quantize {_setting_label(s)}"):
                path = work / f"candidate-{i}" / "model.onnx"
                done = quantize_graph(graph, path, work, **s)
                got = item_vectors(cpu_session(path), feeds, output, pooling)
                cmp = compare(ref, got)
                candidates.append({"settings": done, "path": path, **cmp})
                log(f"  {_setting_label(done)}: min cosine {cmp['min_cosine']:.6f}, "
                    f"mean {cmp['mean_cosine']:.6f}, max |diff| {cmp['max_abs_diff']:.4g}")
        best = max(candidates, key=lambda c: (c["min_cosine"], c["mean_cosine"]))
        if len(candidates) > 1:
            log(f"  kept {_setting_label(best['settings'])} (highest min cosine)")
        with timed("write the int8 folder"):
            target = out_dir / rel_graph
            for stale in [p for p in out_dir.rglob("*") if p.is_file() and is_graph_file(p)
                          and work not in p.parents]:
                stale.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            for produced in best["path"].parent.iterdir():
                shutil.move(str(produced), str(target.parent / (target.name if produced.name == "model.onnx"
                                                                else produced.name)))
    copied = copy_side_files(onnx_dir, out_dir, skip={REPORT_NAME})
    manifest_path = out_dir / MANIFEST_NAME
    if manifest_path.is_file():
        manifest = read_json(manifest_path)
        manifest["quantization"] = {"method": "onnxruntime quantize_dynamic", "weights": "int8",
                                    "activations": "uint8 (dynamic)", **best["settings"]}
        write_json(manifest_path, manifest)
    ops = op_counts(target)
    quantized = {k: v for k, v in ops.items() if k in QUANTIZED_OPS}
    if not quantized:
        raise ExportError(f"{target} has no quantised operator; ops: {ops}")

    report = {
        "source": str(onnx_dir),
        "graph": rel_graph.as_posix(),
        "onnxruntime": ort.__version__,
        "weight_type": "QInt8",
        "settings": best["settings"],
        "texts": str(Path(texts).resolve()) if texts else "fixture texts (tandem_export.verify)",
        "items": len(items),
        "max_input_length": max_len,
        "output": output,
        "pooling": pooling if output == "last_hidden_state" else "output",
        "compared": best["compared"],
        "min_cosine": best["min_cosine"],
        "mean_cosine": best["mean_cosine"],
        "max_abs_diff": best["max_abs_diff"],
        "candidates": [{k: v for k, v in c.items() if k not in ("path", "per_item_cosine", "per_item_abs_diff")}
                       for c in candidates],
        "quantized_ops": quantized,
        "bytes": {"fp32": graph.stat().st_size, "int8": target.stat().st_size},
        "copied": copied,
    }
    for key in ("per_item_cosine", "per_item_abs_diff"):
        if key in best:
            report[key] = best[key]
    if speed_rounds > 0:
        with timed(f"speed: fp32 vs int8, 1 thread, {speed_rounds} rounds"):
            report["speed"] = measure_speed(graph, target, feeds, speed_rounds)
    write_json(out_dir / REPORT_NAME, report)

    log(f"int8 graph {target}: {human_size(report['bytes']['int8'])} (fp32 {human_size(report['bytes']['fp32'])}); "
        f"quantised ops {quantized}")
    log(f"cosine int8 vs fp32 over {len(items)} items ({best['compared']}): "
        f"min {report['min_cosine']:.6f}, mean {report['mean_cosine']:.6f}; max |diff| {report['max_abs_diff']:.4g}")
    if "speed" in report:
        b = report["speed"]["best_texts_per_s"]
        log(f"texts/s, 1 thread, one text per run, best of {speed_rounds}: fp32 {b['fp32']:.1f}, "
            f"int8 {b['int8']:.1f} ({report['speed']['speedup']:.2f}x)")
    log(f"wrote {out_dir / REPORT_NAME}")
    return report
