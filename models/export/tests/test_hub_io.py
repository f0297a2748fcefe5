"""hub_io: config.json, tokenizer files and checkpoint weights (standard library + numpy)."""

from __future__ import annotations

import json
import os

import pytest

from conftest import SHARED_TOKENIZER, write_safetensors
from tandem_export.common import ExportError, unique_ids
from tandem_export.hub_io import (JsonVocab, check_model_dir, compute_max_input_length, copy_tokenizer_files,
                                  detect_architecture, model_dims, pin_config, special_token_ids,
                                  write_xlmr_tokenizer_files)


@pytest.mark.parametrize("cfg,arch", [
    ({"model_type": "xlm-roberta"}, "xlm-roberta"),
    ({"model_type": "roberta"}, "xlm-roberta"),
    ({"architectures": ["XLMRobertaForSequenceClassification"]}, "xlm-roberta"),
    ({"model_type": "bert"}, "bert"),
    ({"architectures": ["BertModel"]}, "bert"),
])
def test_detect_architecture(cfg, arch):
    assert detect_architecture(cfg) == arch


def test_detect_architecture_refuses_others():
    with pytest.raises(ExportError, match="unsupported model"):
        detect_architecture({"model_type": "llama", "architectures": ["LlamaForCausalLM"]})


def test_max_input_length_and_dims():
    # bge-m3: 8194 positions, pad 1 -> 8192; BERT uses every position
    assert compute_max_input_length({"max_position_embeddings": 8194, "pad_token_id": 1}, "xlm-roberta") == 8192
    assert compute_max_input_length({"max_position_embeddings": 514}, "xlm-roberta") == 512
    assert compute_max_input_length({"max_position_embeddings": 512, "pad_token_id": 0}, "bert") == 512
    assert model_dims({"hidden_size": 1024, "num_attention_heads": 16}) == (1024, 16)
    with pytest.raises(ExportError, match="lacks"):
        model_dims({"hidden_size": 8})


def test_check_model_dir(tmp_path):
    with pytest.raises(ExportError, match="not found"):
        check_model_dir(tmp_path / "absent")
    with pytest.raises(ExportError, match="no config.json"):
        check_model_dir(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ExportError, match="no weights"):
        check_model_dir(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    check_model_dir(tmp_path)


def test_special_ids_from_tokenizer_files(tmp_path):
    write_xlmr_tokenizer_files(tmp_path, SHARED_TOKENIZER, 64)
    vocab = JsonVocab(tmp_path / "tokenizer.json")
    assert [vocab.token_to_id(t) for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    ids = special_token_ids(tmp_path, vocab, {})
    assert ids == {"cls": 0, "eos": 2, "pad": 1, "unk": 3}
    assert unique_ids([ids["cls"], ids["eos"], ids["pad"], ids["unk"], 0]) == [0, 2, 1, 3]
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert cfg["model_max_length"] == 64 and cfg["mask_token"] == "<mask>"


def test_tokenizer_link_and_copy(tmp_path):
    write_xlmr_tokenizer_files(tmp_path / "a", SHARED_TOKENIZER, 64, link=True)
    link = tmp_path / "a" / "tokenizer.json"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.read_bytes() == SHARED_TOKENIZER.read_bytes()
    copied = copy_tokenizer_files(tmp_path / "a", tmp_path / "b")
    assert copied == ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
    assert not (tmp_path / "b" / "tokenizer.json").is_symlink()
    with pytest.raises(ExportError, match="no tokenizer.json"):
        copy_tokenizer_files(tmp_path / "empty", tmp_path / "c")


def test_pin_config(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "roberta", "architectures": ["X"], "hidden_size": 8}))
    pin_config(path, ["XLMRobertaForSequenceClassification"], {"0": "LABEL_0"}, num_labels=True, hidden_size=32)
    cfg = json.loads(path.read_text())
    assert cfg == {"model_type": "xlm-roberta", "architectures": ["XLMRobertaForSequenceClassification"],
                   "hidden_size": 32, "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}, "num_labels": 1}


def test_weights_from_safetensors_and_npz(tmp_path):
    np = pytest.importorskip("numpy", reason="numpy is not installed")
    from tandem_export.hub_io import CheckpointError, load_encoder_weights, load_head, read_safetensors
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    write_safetensors(tmp_path / "model.safetensors", {"roberta.embeddings.x": a, "classifier.b": a[0]})
    got = read_safetensors(tmp_path / "model.safetensors")
    np.testing.assert_array_equal(got["roberta.embeddings.x"], a)
    assert set(load_encoder_weights(tmp_path)) == {"embeddings.x", "classifier.b"}
    np.savez(tmp_path / "sparse_linear.npz", weight=a[:1], bias=a[0, :1])
    w, b = load_head(tmp_path, "sparse_linear")
    assert w.shape == (1, 3) and b.shape == (1,)
    assert load_head(tmp_path, "colbert_linear") is None
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_encoder_weights(tmp_path / "sparse_linear.npz").keys()


def test_bf16_and_f16_safetensors(tmp_path):
    np = pytest.importorskip("numpy", reason="numpy is not installed")
    import struct
    from tandem_export.hub_io import read_safetensors
    vals = np.array([1.5, -2.0, 0.15625], dtype=np.float32)
    bf16 = (vals.view(np.uint32) >> 16).astype(np.uint16).tobytes()
    f16 = vals.astype(np.float16).tobytes()
    header = json.dumps({"b": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]},
                         "h": {"dtype": "F16", "shape": [3], "data_offsets": [6, 12]}}).encode()
    (tmp_path / "w.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bf16 + f16)
    got = read_safetensors(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(got["b"], vals)
    np.testing.assert_array_equal(got["h"], vals)
    assert got["b"].dtype == np.float32
