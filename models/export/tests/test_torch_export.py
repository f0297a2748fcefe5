"""The traced exports (export-m3, export-plain, export-reranker) on tiny random transformers models,
each verified by the CLI against PyTorch; then `verify` and the lexical-weight rule. Needs torch,
transformers, tokenizers, onnx and onnxruntime: skipped, with the reason printed, without them."""

from __future__ import annotations

import json

import pytest

from conftest import HIDDEN, SHARED_TOKENIZER, tiny_config

torch = pytest.importorskip("torch", reason="torch is not installed: the traced exports are not tested")
transformers = pytest.importorskip("transformers", reason="transformers is not installed: the traced exports "
                                                         "are not tested")
pytest.importorskip("tokenizers", reason="tokenizers is not installed: the traced exports are not tested")
pytest.importorskip("onnx", reason="onnx is not installed: the traced exports are not tested")
pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: the traced exports are not tested")

from tandem_export import cli  # noqa: E402
from tandem_export.hub_io import write_xlmr_tokenizer_files  # noqa: E402
from tandem_export.verify import lexical_weights  # noqa: E402


@pytest.fixture(scope="module")
def hf_models(tmp_path_factory):
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("hf")
    cfg = tiny_config("XLMRobertaModel")
    encoder = transformers.XLMRobertaModel(transformers.XLMRobertaConfig(**cfg)).eval()
    encoder.save_pretrained(str(root / "m3"))
    torch.save(torch.nn.Linear(HIDDEN, 1).state_dict(), str(root / "m3" / "sparse_linear.pt"))
    torch.save(torch.nn.Linear(HIDDEN, HIDDEN).state_dict(), str(root / "m3" / "colbert_linear.pt"))
    rcfg = tiny_config("XLMRobertaForSequenceClassification", num_labels=1)
    reranker = transformers.XLMRobertaForSequenceClassification(transformers.XLMRobertaConfig(**rcfg)).eval()
    reranker.save_pretrained(str(root / "reranker"))
    for name in ("m3", "reranker"):
        write_xlmr_tokenizer_files(root / name, SHARED_TOKENIZER, 32)
    return root


@pytest.mark.parametrize("command,model,graph", [
    ("export-m3", "m3", "model.onnx"),
    ("export-plain", "m3", "onnx/model.onnx"),
    ("export-reranker", "reranker", "model.onnx"),
])
def test_export_and_verify(hf_models, tmp_path, command, model, graph):
    out = tmp_path / command
    extra = ["--source", "tiny"] if command == "export-m3" else []
    assert cli.main([command, "--model", str(hf_models / model), "--out", str(out), *extra]) == 0
    assert (out / graph).is_file() and (out / "tokenizer.json").is_file()
    if command == "export-plain":
        assert json.loads((out / "1_Pooling" / "config.json").read_text())["pooling_mode_cls_token"]
    else:
        manifest = json.loads((out / "tandem.json").read_text())
        assert manifest["max_input_length"] == 32 and manifest["dtype"] == "float32"
    assert cli.main(["verify", "--onnx-dir", str(out), "--model", str(hf_models / model)]) == 0


def test_lexical_weights():
    assert lexical_weights([0, 5, 7, 5, 2, 9], [1.0, 0.2, 0.0, 0.4, 3.0, -1.0], [0, 2, 1, 3]) == {"5": 0.4}
