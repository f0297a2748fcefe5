#!/usr/bin/env python3
"""Where a batch's time goes: kernel time by kind (GEMM, attention, LayerNorm, GELU, the rest)
for Tandem's engine and for PyTorch at the same batch, and the host gaps around the kernels.

    # Tandem: ONNX Runtime's per-node trace of EngineBench's profile mode (bench/gpu/profile.sh)
    python3 bench/gpu/kernel_profile.py ort --trace m3-64x512_*.json --case "m3 64x512" --wall-ms 51.5 >> kernels.jsonl
    # PyTorch: torch.profiler (CUPTI) over the same batches of the gen_models.py weights
    python3 bench/gpu/kernel_profile.py torch --models /root/bench-models --cases "m3 64x512" "reranker 64x256" >> kernels.jsonl
    # Tandem's kernels as Nsight Compute times them (ncu --csv --metrics gpu__time_duration.sum)
    python3 bench/gpu/kernel_profile.py ncu --csv m3-64x512-13.csv --runs-more 13 --fewer m3-64x512-6.csv \
        --runs-fewer 6 --case "m3 64x512" >> kernels.jsonl
    # one Markdown table of them all
    python3 bench/gpu/kernel_profile.py table kernels.jsonl

Tandem's "ort" numbers come from a run under CUDA_LAUNCH_BLOCKING=1: every launch waits for
its kernel, so a CUDA node's traced time is its kernels' time plus a launch-and-wait per kernel
(measured: 10.3 ms of node time against 3.1 ms of wall for a bge-m3 query), an upper bound. Its
"ncu" numbers are Nsight Compute's kernel durations (clocks and caches left alone, each kernel
run alone); PyTorch's are CUPTI's kernel times in its pipelined run. All are per batch, averaged
over the profiled runs. "wall" is the batch's time when nothing blocks (EngineBench's "idle" row
for Tandem, with its Java filling of inputs and reading of outputs; timed runs without the
profiler for torch), so wall − kernels is, for torch, host time the GPU waited for, and for
Tandem also that Java and what kernels cost when they run one after another rather than alone.
Tandem's attention node (PackedMultiHeadAttention) also adds the QKV bias and lays out Q, K, V;
torch does those in its GEMMs' epilogues and in copies ("other").
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

KINDS = ("gemm", "attention", "layernorm", "gelu", "other")
ORT_KINDS = {
    "MatMul": "gemm", "Gemm": "gemm", "FusedMatMul": "gemm", "MatMulNBits": "gemm",
    "PackedMultiHeadAttention": "attention", "MultiHeadAttention": "attention", "Attention": "attention",
    "PackedAttention": "attention",
    "SkipLayerNormalization": "layernorm", "LayerNormalization": "layernorm",
    "SkipSimplifiedLayerNormalization": "layernorm", "EmbedLayerNormalization": "layernorm",
    "BiasGelu": "gelu", "FastGelu": "gelu", "Gelu": "gelu",
}
# CUDA kernel names (torch 2.11 on sm90): cuBLAS's nvjet/xmma/cutlass GEMMs, cuDNN's or flash's attention;
# ORT's packed attention also lays out Q, K, V and adds their bias in kernels of its own.
TORCH_KINDS = (
    ("attention", ("flash", "fmha", "attention", "sdpa", "cudnn", "qkv", "addbiastranspose", "transposeqkv")),
    ("gemm", ("gemm", "nvjet", "xmma", "cutlass", "cublas", "splitkreduce")),
    ("layernorm", ("layer_norm", "layernorm")),
    ("gelu", ("gelu",)),
)


def torch_kind(kernel: str) -> str:
    k = kernel.lower()
    for kind, needles in TORCH_KINDS:
        if any(n in k for n in needles):
            return kind
    return "other"


def tally(timed: list, runs: int) -> dict:
    """(kind, name, ms) of every node or kernel of `runs` runs: per-run ms by kind and the 8 heaviest names."""
    kinds = dict.fromkeys(KINDS, 0.0)
    names: dict = {}
    for kind, name, ms in timed:
        kinds[kind] += ms / runs
        names[name] = names.get(name, 0.0) + ms / runs
    return {"kinds": kinds, "ops": dict(sorted(names.items(), key=lambda kv: -kv[1])[:8]),
            "nodes_per_run": len(timed) / runs}


def ort_summary(trace: Path, runs: int) -> dict:
    """Per-run mean ms of the trace's last `runs` model runs, nodes grouped by kind."""
    events = json.loads(trace.read_text())
    model_runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])[-runs:]
    if len(model_runs) < runs:
        raise SystemExit(f"{trace}: {len(model_runs)} model runs, {runs} wanted")
    spans = [(r["ts"], r["ts"] + r["dur"]) for r in model_runs]
    timed = []
    for e in events:
        if e.get("cat") == "Node" and any(a <= e["ts"] < b for a, b in spans):
            op = e.get("args", {}).get("op_name", "?")
            timed.append((ORT_KINDS.get(op, "other"), op, e["dur"] / 1000))
    return {**tally(timed, runs), "run_ms": sum(r["dur"] for r in model_runs) / 1000 / runs}


def cmd_ort(args) -> int:
    traces = sorted(glob.glob(args.trace))
    if not traces:
        raise SystemExit(f"no trace matches {args.trace}")
    s = ort_summary(Path(traces[-1]), args.runs)
    print(json.dumps({"engine": "tandem", "case": args.case, "wall_ms": args.wall_ms, **s}))
    return 0


def cmd_torch(args) -> int:
    import torch
    import transformers
    from torch.profiler import ProfilerActivity, profile
    from tandem_export.modules import load_hf_model

    device = args.device
    gen = torch.Generator(device=device).manual_seed(0)
    loaded: dict = {}

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    for case in args.cases:
        model_name, shape = case.split()
        rows, tokens = (int(x) for x in shape.split("x"))
        if model_name not in loaded:
            loaded.clear()
            if device == "cuda":
                torch.cuda.empty_cache()
            cls = transformers.XLMRobertaModel if model_name == "m3" else transformers.XLMRobertaForSequenceClassification
            loaded[model_name] = load_hf_model(args.models / "hf" / model_name, cls.__name__, attn="sdpa",
                                               half=device == "cuda").to(device).eval()
        model = loaded[model_name]
        ids = torch.randint(4, 250001, (rows, tokens), device=device, generator=gen)
        mask = torch.ones_like(ids)

        @torch.inference_mode()
        def run():
            out = model(input_ids=ids, attention_mask=mask)
            return out.logits if model_name != "m3" else torch.nn.functional.normalize(
                out.last_hidden_state[:, 0].float(), dim=-1)

        for _ in range(3):
            run()
        sync()
        t0 = time.perf_counter()
        for _ in range(args.runs):
            run()
        sync()
        wall_ms = (time.perf_counter() - t0) * 1000 / args.runs
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(args.runs):
                run()
            sync()
        # The Chrome trace's "kernel" / "gpu_memcpy" / "gpu_memset" events are CUPTI's device activities.
        trace = Path(args.scratch) / "torch-trace.json"
        prof.export_chrome_trace(str(trace))
        timed = [(torch_kind(e["name"]) if e["cat"] == "kernel" else "other", e["name"][:60], e.get("dur", 0) / 1000)
                 for e in json.loads(trace.read_text()).get("traceEvents", [])
                 if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
        print(json.dumps({"engine": "torch", "case": case, "wall_ms": wall_ms, **tally(timed, args.runs)}),
              flush=True)
    return 0


def ncu_kernels(csv_path: Path) -> list:
    """(kernel name, ns) in launch order from `ncu --csv --print-units base --metrics gpu__time_duration.sum`."""
    import csv
    lines = csv_path.read_text(errors="replace").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('"ID"'))
    out = []
    for row in csv.DictReader(lines[start:]):
        if row.get("Metric Name") == "gpu__time_duration.sum":
            value = float(row["Metric Value"].replace(",", ""))
            unit = row.get("Metric Unit", "ns")
            out.append((row["Kernel Name"], value * {"ns": 1, "nsecond": 1, "us": 1e3, "usecond": 1e3,
                                                     "ms": 1e6, "msecond": 1e6}.get(unit, 1)))
    return out


def cmd_ncu(args) -> int:
    """A run's kernels: two traces of the same process, one with more runs of the case than the
    other, differ by exactly that many runs (a run's kernel sequence repeats a layer's, so it
    cannot be told from the sequence alone); the last runs of the longer trace are the case's."""
    more = ncu_kernels(Path(args.csv))
    fewer = ncu_kernels(Path(args.fewer))
    extra = args.runs_more - args.runs_fewer
    per_run, rest = divmod(len(more) - len(fewer), extra)
    if rest or per_run <= 0:
        raise SystemExit(f"{len(more)} and {len(fewer)} kernels do not differ by {extra} equal runs")
    runs = min(args.runs_fewer, args.runs_more)
    tail = more[-runs * per_run:]
    names = [k for k, _ in tail]
    if any(names[i * per_run:(i + 1) * per_run] != names[:per_run] for i in range(1, runs)):
        raise SystemExit(f"the last {runs} runs of {per_run} kernels are not the same kernels")
    timed = [(torch_kind(name), name[:60], ns / 1e6) for name, ns in tail]
    print(json.dumps({"engine": "tandem-ncu", "case": args.case, "wall_ms": args.wall_ms, **tally(timed, runs)}))
    return 0


def cmd_table(args) -> int:
    rows = [json.loads(line) for line in Path(args.jsonl).read_text().splitlines() if line.startswith("{")]
    by_case: dict = {}
    for r in rows:
        by_case.setdefault(r["case"], {})[r["engine"]] = r
    print("| batch | engine | wall ms | kernels ms | host gap ms | GEMM | attention | LayerNorm | GELU | other "
          "| nodes or kernels |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for case, engines in by_case.items():
        for name in ("tandem", "tandem-ncu", "torch"):
            r = engines.get(name)
            if r is None:
                continue
            k = r["kinds"]
            busy = sum(k.values())
            wall = r.get("wall_ms")
            label = {"tandem": "Tandem (ORT nodes, blocking)", "tandem-ncu": "Tandem (ncu kernels)",
                     "torch": "torch (CUPTI kernels)"}[name]
            cells = [case, label,
                     f"{wall:.2f}" if wall else "-", f"{busy:.2f}", f"{wall - busy:.2f}" if wall else "-"]
            cells += [f"{k[x]:.2f}" for x in KINDS] + [f"{r['nodes_per_run']:.0f}"]
            print("| " + " | ".join(cells) + " |")
    print()
    for case, engines in by_case.items():
        for name, r in engines.items():
            top = ", ".join(f"{op} {ms:.2f}" for op, ms in r["ops"].items())
            print(f"- {case}, {name}: {top}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("ort")
    o.add_argument("--trace", required=True, help="the trace file (a glob: the newest match is read)")
    o.add_argument("--case", required=True)
    o.add_argument("--runs", type=int, default=10)
    o.add_argument("--wall-ms", type=float, default=None)
    t = sub.add_parser("torch")
    t.add_argument("--models", type=Path, default=Path("/root/bench-models"))
    t.add_argument("--cases", nargs="+", required=True)
    t.add_argument("--runs", type=int, default=10)
    t.add_argument("--scratch", default="/tmp", help="where torch's Chrome trace is written")
    t.add_argument("--device", default="cuda", help="cpu only to try the script: no kernels are seen there")
    n = sub.add_parser("ncu")
    n.add_argument("--csv", required=True, help="ncu's CSV of the process with more runs of the case")
    n.add_argument("--fewer", required=True, help="ncu's CSV of the same process with fewer runs")
    n.add_argument("--runs-more", type=int, required=True)
    n.add_argument("--runs-fewer", type=int, required=True)
    n.add_argument("--case", required=True)
    n.add_argument("--wall-ms", type=float, default=None)
    tb = sub.add_parser("table")
    tb.add_argument("jsonl")
    args = ap.parse_args(argv)
    return {"ort": cmd_ort, "torch": cmd_torch, "ncu": cmd_ncu, "table": cmd_table}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
