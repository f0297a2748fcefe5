"""export-packed on tiny random XLM-R checkpoints, run through onnxruntime's CPU provider with
--attention portable and compared with a float64 numpy reference (and with transformers when
torch is here)."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, PAD, packed_feeds, reference_hidden

np = pytest.importorskip("numpy", reason="numpy is not installed: the packed-graph tests need it")
pytest.importorskip("onnx", reason="onnx is not installed: the packed graph cannot be built")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (not packaged by Debian bookworm; "
                                               "pip install 'models/export[test]')")

from tandem_export import cli  # noqa: E402

ROWS = [[0, 25, 87, 14, 2], [0, 310, 2], [0, 7, 9, 11, 13, 17, 19, 23, 29, 2]]
ATOL = 2e-4


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _export(folder, out, *extra):
    assert cli.main(["export-packed", "--model", str(folder), "--out", str(out), "--attention", "portable",
                     "--fp32", *extra]) == 0
    return json.loads((out / "tandem.json").read_text(encoding="utf-8"))


def test_embedder_matches_numpy_reference(tiny_embedder, tmp_path):
    folder, cfg, weights, heads = tiny_embedder
    manifest = _export(folder, tmp_path / "out", "--source", "tiny")
    assert manifest["layout"] == "packed" and manifest["kind"] == "embedder" and "requires" not in manifest
    assert manifest["sparse_skip_token_ids"] == [0, 2, 1, 3]
    assert manifest["max_input_length"] == 32 and manifest["dtype"] == "float32" and manifest["source"] == "tiny"
    assert (tmp_path / "out" / "tokenizer.json").is_file()
    out = _session(tmp_path / "out" / "model.onnx").run(None, packed_feeds(ROWS))
    names = [o.name for o in _session(tmp_path / "out" / "model.onnx").get_outputs()]
    got = dict(zip(names, out))
    assert got["dense_vecs"].shape == (len(ROWS), cfg["hidden_size"])
    sw, sb = heads["sparse_linear"]
    cw, cb = heads["colbert_linear"]
    start = 0
    for b, row in enumerate(ROWS):
        h = reference_hidden(cfg, weights, row)
        end = start + len(row)
        np.testing.assert_allclose(got["dense_vecs"][b], h[0], atol=ATOL)
        np.testing.assert_allclose(got["sparse_weights"][start:end], np.maximum(h @ sw.T + sb, 0)[:, 0], atol=ATOL)
        np.testing.assert_allclose(got["colbert_vecs"][start:end], h @ cw.T + cb, atol=ATOL)
        start = end


def test_reranker_matches_numpy_reference(tiny_reranker, tmp_path):
    folder, cfg, weights = tiny_reranker
    manifest = _export(folder, tmp_path / "out")
    assert manifest["kind"] == "reranker" and manifest["outputs"] == {"logits": "logits"}
    (logits,) = _session(tmp_path / "out" / "model.onnx").run(["logits"], packed_feeds(ROWS))
    for b, row in enumerate(ROWS):
        cls = reference_hidden(cfg, weights, row, prefix="roberta.")[0]
        pre = np.tanh(cls @ weights["classifier.dense.weight"].T + weights["classifier.dense.bias"])
        want = pre @ weights["classifier.out_proj.weight"].T + weights["classifier.out_proj.bias"]
        np.testing.assert_allclose(logits[b], want, atol=ATOL)


def test_numpy_reference_matches_transformers(tiny_embedder, tiny_reranker):
    """The reference above is itself checked against transformers' XLM-R (skipped without torch)."""
    torch = pytest.importorskip("torch", reason="torch is not installed: the numpy reference is not cross-checked")
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    folder, cfg, weights, _ = tiny_embedder
    model = transformers.XLMRobertaModel.from_pretrained(str(folder), add_pooling_layer=False,
                                                         attn_implementation="eager").eval()
    rfolder, rcfg, rweights = tiny_reranker
    reranker = transformers.XLMRobertaForSequenceClassification.from_pretrained(
        str(rfolder), attn_implementation="eager").eval()
    for row in ROWS:
        ids = torch.tensor([row])
        with torch.no_grad():
            h = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0].double().numpy()
            hr = reranker.roberta(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
        np.testing.assert_allclose(h, reference_hidden(cfg, weights, row), atol=1e-4)
        np.testing.assert_allclose(hr.double().numpy(), reference_hidden(rcfg, rweights, row, "roberta."),
                                   atol=1e-4)


def test_packed_attention_graph_is_valid_and_needs_cuda(tiny_embedder, tmp_path):
    """The default (fp16, PackedMultiHeadAttention) graph passes the checker; the manifest says cuda."""
    import onnx
    folder = tiny_embedder[0]
    assert cli.main(["export-packed", "--model", str(folder), "--out", str(tmp_path / "gpu")]) == 0
    manifest = json.loads((tmp_path / "gpu" / "tandem.json").read_text(encoding="utf-8"))
    assert manifest["requires"] == "cuda" and manifest["dtype"] == "float16"
    model = onnx.load(str(tmp_path / "gpu" / "model.onnx"))
    onnx.checker.check_model(model)
    ops = {n.op_type for n in model.graph.node}
    assert "PackedMultiHeadAttention" in ops and "Softmax" not in ops


def test_refuses_what_it_cannot_build(tiny_embedder, tmp_path):
    folder, cfg, _, _ = tiny_embedder
    bad = tmp_path / "relu"
    bad.mkdir()
    for f in folder.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "config.json").write_text(json.dumps(dict(cfg, hidden_act="relu")), encoding="utf-8")
    assert cli.main(["export-packed", "--model", str(bad), "--out", str(tmp_path / "out"), "--attention",
                     "portable"]) == 1
    assert cli.main(["export-packed", "--model", str(folder), "--out", str(folder)]) == 1


@pytest.mark.parametrize("name", ["m3-tiny-packed", "reranker-tiny-packed"])
def test_committed_fixture_graphs_match_references(name):
    """fixtures/*-tiny-packed (what the Java CPU tests run) against references.json's PyTorch outputs."""
    refs = json.loads((FIXTURES / "references.json").read_text(encoding="utf-8"))
    session = _session(FIXTURES / name / "model.onnx")
    if name.startswith("m3"):
        cases = refs["embed"]
        out = dict(zip([o.name for o in session.get_outputs()],
                       session.run(None, packed_feeds([c["input_ids"] for c in cases], PAD))))
        for b, case in enumerate(cases):
            np.testing.assert_allclose(out["dense_vecs"][b], case["dense"], atol=1e-4)
    else:
        cases = refs["rerank"]
        (logits,) = session.run(["logits"], packed_feeds([c["input_ids"] for c in cases], PAD))
        np.testing.assert_allclose(logits[:, 0], [c["logit"] for c in cases], atol=1e-4)
