"""`quantize-int8` on the committed tiny fixture models: the new folder's layout, the quantised
operators in its graph, and the reported cosines recomputed here from the two graphs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES
from tandem_export.cli import build_parser, main
from tandem_export.verify import VERIFY_PAIRS, VERIFY_TEXTS

np = pytest.importorskip("numpy")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
tokenizers = pytest.importorskip("tokenizers")
pytest.importorskip("onnxruntime.quantization")

MAX_LEN = 64  # the tiny fixtures' max_input_length


def run_graph(path: Path, enc, output: str):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": np.array([enc.ids], dtype=np.int64),
             "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
             "token_type_ids": np.array([enc.type_ids], dtype=np.int64)}
    wanted = {i.name for i in sess.get_inputs()}
    return sess.run([output], {k: v for k, v in feeds.items() if k in wanted})[0].astype(np.float64)


def encode(folder: Path, *item):
    tok = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_LEN)
    return tok.encode(*item)


def cos(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def ops(path: Path) -> set:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def test_plain_layout_cls_cosines_recomputed(tmp_path):
    src, out = FIXTURES / "m3-tiny-plain", tmp_path / "int8"
    assert main(["quantize-int8", "--onnx-dir", str(src), "--out", str(out)]) == 0

    graph = out / "onnx" / "model.onnx"
    assert graph.is_file() and not (out / "model.onnx").exists()
    for name in ("config.json", "1_Pooling/config.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (out / name).read_bytes() == (src / name).read_bytes(), name
    assert not (out / "tokenizer.json").is_symlink()  # the shared tokenizer is copied, not linked
    assert (out / "tokenizer.json").read_bytes() == (FIXTURES / "tokenizer.json").read_bytes()
    got_ops = ops(graph)
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= got_ops or "DynamicQuantizeMatMul" in got_ops
    weights = {i.name for i in onnx.load(str(graph)).graph.initializer}
    fp32_weight_matmuls = [n.name for n in onnx.load(str(graph)).graph.node
                           if n.op_type == "MatMul" and n.input[1] in weights]
    assert fp32_weight_matmuls == []  # every MatMul with a weight is quantised

    report = json.loads((out / "quantize-report.json").read_text(encoding="utf-8"))
    assert (report["output"], report["pooling"], report["items"]) == ("last_hidden_state", "cls", len(VERIFY_TEXTS))
    assert report["settings"]["per_channel"] is True and report["settings"]["reduce_range"] is False
    per_item = report["per_item_cosine"]
    assert report["min_cosine"] == pytest.approx(min(per_item), abs=1e-12)
    assert report["mean_cosine"] == pytest.approx(sum(per_item) / len(per_item), abs=1e-12)
    assert 0.9 < report["min_cosine"] <= report["mean_cosine"] < 1.0
    for i in (0, len(VERIFY_TEXTS) - 1):
        enc = encode(src, VERIFY_TEXTS[i])
        ref = run_graph(src / "onnx" / "model.onnx", enc, "last_hidden_state")[0, 0]
        got = run_graph(graph, enc, "last_hidden_state")[0, 0]
        assert np.abs(got - ref).max() > 1e-4  # the int8 graph really computes something else
        assert per_item[i] == pytest.approx(cos(ref, got), abs=1e-9)


def test_reranker_search_with_texts_file(tmp_path):
    src, out = FIXTURES / "reranker-tiny", tmp_path / "rr-int8"
    texts = tmp_path / "pairs.txt"
    pairs = list(VERIFY_PAIRS) + [("熊猫", "大熊猫是中国的国宝")]
    texts.write_text("\n".join(f"{q}\t{d}" for q, d in pairs) + "\n\n", encoding="utf-8")
    assert main(["quantize-int8", "--onnx-dir", str(src), "--out", str(out), "--texts", str(texts),
                 "--search"]) == 0

    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops(out / "model.onnx")
    manifest = json.loads((out / "tandem.json").read_text(encoding="utf-8"))
    original = json.loads((src / "tandem.json").read_text(encoding="utf-8"))
    assert manifest["dtype"] == "float32" and manifest["kind"] == "reranker"
    assert {k: v for k, v in manifest.items() if k != "quantization"} == original
    assert manifest["quantization"]["weights"] == "int8"

    report = json.loads((out / "quantize-report.json").read_text(encoding="utf-8"))
    assert report["items"] == len(pairs) and report["output"] == "logits"
    assert len(report["candidates"]) == 4
    best = max(report["candidates"], key=lambda c: (c["min_cosine"], c["mean_cosine"]))
    assert report["settings"] == best["settings"] and report["min_cosine"] == best["min_cosine"]
    assert manifest["quantization"]["per_channel"] == report["settings"]["per_channel"]
    ref = [run_graph(src / "model.onnx", encode(src, q, d), "logits")[0, 0] for q, d in pairs]
    got = [run_graph(out / "model.onnx", encode(src, q, d), "logits")[0, 0] for q, d in pairs]
    assert report["compared"] == "scores as one vector"
    assert report["min_cosine"] == pytest.approx(cos(ref, got), abs=1e-9)
    assert report["max_abs_diff"] == pytest.approx(max(abs(a - b) for a, b in zip(ref, got)), abs=1e-6)
    assert 0.5 < report["min_cosine"] < 1.0


def test_gather_preprocess_and_speed(tmp_path):
    src, out = FIXTURES / "m3-tiny", tmp_path / "m3-int8"
    assert main(["quantize-int8", "--onnx-dir", str(src), "--out", str(out), "--with-gather", "--preprocess",
                 "--per-channel", "off", "--speed-rounds", "1"]) == 0
    report = json.loads((out / "quantize-report.json").read_text(encoding="utf-8"))
    assert report["output"] == "dense_vecs" and report["pooling"] == "output"
    assert report["settings"]["op_types"] == ["MatMul", "Gather"] and report["settings"]["per_channel"] is False
    assert "preprocess_note" in report["settings"]
    assert "DequantizeLinear" in report["quantized_ops"]  # the int8 embedding tables
    speed = report["speed"]
    assert speed["threads"] == 1 and speed["texts"] == len(VERIFY_TEXTS)
    assert speed["best_texts_per_s"]["int8"] > 0 and speed["best_texts_per_s"]["fp32"] > 0
    enc = encode(src, VERIFY_TEXTS[1])
    ref = run_graph(src / "model.onnx", enc, "dense_vecs")[0]
    got = run_graph(out / "model.onnx", enc, "dense_vecs")[0]
    assert report["per_item_cosine"][1] == pytest.approx(cos(ref, got), abs=1e-9)


def test_min_cosine_gate_and_errors(tmp_path, capsys):
    src = FIXTURES / "m3-tiny-plain"
    assert main(["quantize-int8", "--onnx-dir", str(src), "--out", str(tmp_path / "a"), "--min-cosine", "1.01"]) == 2
    assert "min cosine" in capsys.readouterr().out
    assert main(["quantize-int8", "--onnx-dir", str(src), "--out", str(src)]) == 1
    assert main(["quantize-int8", "--onnx-dir", str(tmp_path / "a" / "1_Pooling"), "--out", str(tmp_path / "b")]) == 1
    assert "neither model.onnx nor onnx/model.onnx" in capsys.readouterr().out


def test_quantize_flags():
    a = build_parser().parse_args(["quantize-int8", "--onnx-dir", "d", "--out", "o"])
    assert (a.onnx_dir, a.out, a.texts, a.per_channel, a.reduce_range) == (Path("d"), Path("o"), None, None, None)
    assert not (a.search or a.preprocess or a.with_gather) and a.speed_rounds == 0 and a.min_cosine is None
    a = build_parser().parse_args(["quantize-int8", "--onnx-dir", "d", "--out", "o", "--texts", "t.txt",
                                   "--per-channel", "off", "--reduce-range", "on", "--search", "--preprocess",
                                   "--with-gather", "--min-cosine", "0.99", "--speed-rounds", "3"])
    assert (a.per_channel, a.reduce_range, a.min_cosine, a.speed_rounds) == ("off", "on", 0.99, 3)
    assert a.search and a.preprocess and a.with_gather and a.texts == Path("t.txt")
