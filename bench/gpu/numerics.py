#!/usr/bin/env python3
"""fp16 on the GPU against fp32 PyTorch, on the fixtures' texts: the numerics check of issue 4.

    python3 bench/gpu/numerics.py prepare --models /root/bench-models --out /root/numerics
    python3 bench/gpu/numerics.py check --url http://127.0.0.1:3500 --refs /root/numerics/references.json

prepare: folders numerics/m3 and numerics/reranker that serve the benchmark's bge-m3-shaped and
reranker-shaped graphs (links to $MODELS/{m3,reranker}/model.onnx) with the fixtures' tokenizer
and their 64-token limit, so that the fixtures' texts (models/src/test/resources/fixtures/
references.json: Chinese, English, mixed, one truncated) give the same ids as there; then
PyTorch fp32 outputs of the same random weights ($MODELS/hf) for those ids, written as
numerics/references.json in the fixtures' format.

check: asks a running Tandem for /embed, /embed_sparse, /embed_all and /rerank on those texts
and prints one table: per output the lowest cosine similarity to the reference and the largest
absolute difference. The target is cosine >= 0.999. The same check runs on the tiny fixtures
themselves (refs = the fixtures' own references.json), see sanity.sh.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import urllib.request
from pathlib import Path

# models/export on PYTHONPATH (numerics.sh sets it) or `pip install models/export`
from tandem_export.modules import load_linear_head
from tandem_export.verify import lexical_weights

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "models" / "src" / "test" / "resources" / "fixtures"
MIN_COSINE = 0.999
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def cosine(a, b) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na > 0 and nb > 0 else (1.0 if na == nb else 0.0)


def sparse_cosine(a: dict, b: dict) -> float:
    keys = set(a) | set(b)
    return cosine([a.get(k, 0.0) for k in keys], [b.get(k, 0.0) for k in keys])


# --------------------------------------------------------------------------
# prepare
# --------------------------------------------------------------------------


def serve_folder(src: Path, dst: Path, max_len: int) -> None:
    """dst serves src's graph with the fixtures' tokenizer and token limit."""
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for name in ("model.onnx", "model.onnx_data", "config.json"):
        if (src / name).exists():
            os.symlink((src / name).resolve(), dst / name)
    for name in TOKENIZER_FILES:
        shutil.copyfile(FIXTURES / "m3-tiny" / name, dst / name)
    manifest = json.loads((src / "tandem.json").read_text())
    manifest["max_input_length"] = max_len
    (dst / "tandem.json").write_text(json.dumps(manifest, indent=2))


def prepare(models: Path, out: Path) -> None:
    import torch
    import transformers

    torch.backends.cuda.matmul.allow_tf32 = False
    refs = json.loads((FIXTURES / "references.json").read_text())
    max_len = int(refs["max_input_length"])
    serve_folder(models / "m3", out / "m3", max_len)
    serve_folder(models / "reranker", out / "reranker", max_len)
    skip = set(json.loads((models / "m3" / "tandem.json").read_text())["sparse_skip_token_ids"])

    encoder = transformers.XLMRobertaModel.from_pretrained(str(models / "hf" / "m3"),
                                                           add_pooling_layer=False).eval()
    hidden = encoder.config.hidden_size
    sparse = load_linear_head(models / "hf" / "m3" / "sparse_linear.pt", hidden, "sparse").float().eval()
    colbert = load_linear_head(models / "hf" / "m3" / "colbert_linear.pt", hidden, "colbert").float().eval()
    embed = []
    for c in refs["embed"]:
        with torch.no_grad():
            t = torch.tensor([c["input_ids"]])
            h = encoder(input_ids=t, attention_mask=torch.ones_like(t)).last_hidden_state[0]
            weights = torch.relu(sparse(h)).squeeze(-1).tolist()
            embed.append({
                "text": c["text"], "input_ids": c["input_ids"],
                "dense_normalized": torch.nn.functional.normalize(h[0], dim=-1).tolist(),
                "sparse": lexical_weights(c["input_ids"], weights, skip),
                "colbert": torch.nn.functional.normalize(colbert(h[1:]), dim=-1).tolist(),
            })
    del encoder
    reranker = transformers.XLMRobertaForSequenceClassification.from_pretrained(
        str(models / "hf" / "reranker")).eval()
    rerank = []
    for c in refs["rerank"]:
        with torch.no_grad():
            t = torch.tensor([c["input_ids"]])
            logit = float(reranker(input_ids=t, attention_mask=torch.ones_like(t)).logits[0, 0])
        rerank.append({"query": c["query"], "text": c["text"], "input_ids": c["input_ids"], "logit": logit,
                       "score": 1 / (1 + math.exp(-logit))})
    (out / "references.json").write_text(json.dumps({
        "generator": "bench/gpu/numerics.py (PyTorch fp32, CPU)", "torch": torch.__version__,
        "max_input_length": max_len, "embed": embed, "rerank": rerank}))
    print(f"wrote {out}/m3, {out}/reranker and {out}/references.json "
          f"({len(embed)} texts, {len(rerank)} pairs)", flush=True)


# --------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------


def post(url: str, path: str, body: dict):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)


def check(url: str, refs_path: Path, label: str) -> bool:
    refs = json.loads(refs_path.read_text())
    texts = [c["text"] for c in refs["embed"]]
    rows = []

    dense = post(url, "/embed", {"inputs": texts, "normalize": True})
    rows.append(("dense (/embed)", [cosine(c["dense_normalized"], v) for c, v in zip(refs["embed"], dense)],
                 max(abs(a - b) for c, v in zip(refs["embed"], dense) for a, b in zip(c["dense_normalized"], v))))

    got_sparse = post(url, "/embed_sparse", {"inputs": texts})
    cos, diff = [], 0.0
    for c, s in zip(refs["embed"], got_sparse):
        want = {int(k): v for k, v in c["sparse"].items()}
        have = {e["index"]: e["value"] for e in s}
        cos.append(sparse_cosine(want, have))
        diff = max([diff] + [abs(want.get(k, 0.0) - have.get(k, 0.0)) for k in set(want) | set(have)])
    rows.append(("sparse (/embed_sparse)", cos, diff))

    tokens = post(url, "/embed_all", {"inputs": texts})
    cos, diff = [], 0.0
    for c, vecs in zip(refs["embed"], tokens):
        if len(vecs) != len(c["colbert"]):
            print(f"{c['text'][:30]!r}: {len(vecs)} token vectors, reference has {len(c['colbert'])}")
            cos.append(0.0)
            continue
        for want, have in zip(c["colbert"], vecs):
            cos.append(cosine(want, have))
            diff = max([diff] + [abs(a - b) for a, b in zip(want, have)])
    rows.append(("ColBERT (/embed_all)", cos, diff))

    logits, want_logits = [], []
    for query in dict.fromkeys(c["query"] for c in refs["rerank"]):
        pairs = [c for c in refs["rerank"] if c["query"] == query]
        ranks = post(url, "/rerank", {"query": query, "texts": [c["text"] for c in pairs], "raw_scores": True})
        by_index = {r["index"]: r["score"] for r in ranks}
        logits += [by_index[i] for i in range(len(pairs))]
        want_logits += [c["logit"] for c in pairs]
    rows.append(("rerank logits (/rerank)", [cosine(want_logits, logits)],
                 max(abs(a - b) for a, b in zip(want_logits, logits))))

    ok = True
    print(f"\n{label}: Tandem vs PyTorch fp32, {len(texts)} texts, {len(want_logits)} pairs\n")
    print("| output | values compared | lowest cosine | largest abs diff | cosine >= 0.999 |")
    print("| --- | --- | --- | --- | --- |")
    for name, cos, diff in rows:
        good = min(cos) >= MIN_COSINE
        ok &= good
        print(f"| {name} | {len(cos)} | {min(cos):.6f} | {diff:.2e} | {'yes' if good else 'NO'} |")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--models", type=Path, default=Path("/root/bench-models"))
    p.add_argument("--out", type=Path, default=Path("/root/numerics"))
    p = sub.add_parser("check")
    p.add_argument("--url", default="http://127.0.0.1:3500")
    p.add_argument("--refs", type=Path, required=True)
    p.add_argument("--label", default="numerics")
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        prepare(args.models, args.out)
        return 0
    return 0 if check(args.url, args.refs, args.label) else 2


if __name__ == "__main__":
    sys.exit(main())
