"""Turns a Hugging Face BERT folder (config.json + model.safetensors + vocab.txt, as written by
scripts/bert_fixtures.py or by transferkit's saveTextModel) into the folder layout transformers.js
loads: config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx.

The ONNX graph is exported with torch.onnx from a BERT written here from its equations (explicit
matmuls, HF's additive attention mask with finfo.min, erf or tanh GELU, LayerNorm), not from HF's
modeling code nor from transferkit's layers, so the ONNX-vs-TF.js parity test checks two independent
paths. Inputs: input_ids, attention_mask, token_type_ids (int64, dynamic batch and sequence);
output: last_hidden_state, as HF's `optimum` export of `BertModel` for feature extraction.

The tokenizer files are copied when HF_FOLDER has a tokenizer.json; otherwise tokenizer.json is
BertConverter's pipeline (BertNormalizer, BertPreTokenizer, WordPiece, the [CLS] A [SEP] (B [SEP])
template), written from vocab.txt by this script.

Usage: /usr/bin/python3 scripts/onnx_export_bert.py HF_FOLDER OUT_FOLDER
Prints: {"ok": true, "onnx": "OUT_FOLDER/onnx/model.onnx", "bytes": N}
"""
import json, math, os, shutil, sys

import torch
import torch.nn as nn

from _safetensors import read_safetensors  # scripts/_safetensors.py


class Bert(nn.Module):
    def __init__(self, cfg, sd):
        super().__init__()
        self.cfg, self.sd = cfg, {k: nn.Parameter(v, requires_grad=False) for k, v in sd.items()}
        for i, (k, v) in enumerate(self.sd.items()):
            self.register_parameter(f"p{i}", v)
        self.nh = cfg["num_attention_heads"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.act = cfg.get("hidden_act", "gelu")

    def ln(self, x, name):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + self.eps) * self.sd[name + ".weight"] + self.sd[name + ".bias"]

    def dense(self, x, name):
        return x @ self.sd[name + ".weight"].t() + self.sd[name + ".bias"]

    def gelu(self, x):
        if self.act == "gelu_new":
            return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    def forward(self, input_ids, attention_mask, token_type_ids):
        s = self.sd
        n = input_ids.shape[1]
        positions = torch.arange(n, dtype=torch.int64).unsqueeze(0)
        x = s["embeddings.word_embeddings.weight"][input_ids] + s["embeddings.position_embeddings.weight"][positions] \
            + s["embeddings.token_type_embeddings.weight"][token_type_ids]
        x = self.ln(x, "embeddings.LayerNorm")
        # HF get_extended_attention_mask: (1 - mask) * finfo(float32).min, added to the scores.
        add = (1.0 - attention_mask.to(torch.float32))[:, None, None, :] * torch.finfo(torch.float32).min
        b, h = x.shape[0], x.shape[2]
        d = h // self.nh
        split = lambda t: t.reshape(b, n, self.nh, d).permute(0, 2, 1, 3)
        for l in range(self.cfg["num_hidden_layers"]):
            p = f"encoder.layer.{l}."
            q, k, v = (split(self.dense(x, p + "attention.self." + m)) for m in ("query", "key", "value"))
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + add, dim=-1)
            ctx = (probs @ v).permute(0, 2, 1, 3).reshape(b, n, h)
            x = self.ln(self.dense(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            y = self.dense(self.gelu(self.dense(x, p + "intermediate.dense")), p + "output.dense")
            x = self.ln(y + x, p + "output.LayerNorm")
        return x


def tokenizer_json(vocab, lower):
    ids = {t: i for i, t in enumerate(vocab)}  # last duplicate wins, as HF load_vocab
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    added = sorted(({"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                    for t in special), key=lambda a: a["id"])
    tok = lambda t, ty: {"SpecialToken": {"id": t, "type_id": ty}}
    seq = lambda s, ty: {"Sequence": {"id": s, "type_id": ty}}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": lower},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing", "single": [tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0)],
                           "pair": [tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0), seq("B", 1), tok("[SEP]", 1)],
                           "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": ids},
    }


def main(src, out):
    cfg = json.load(open(os.path.join(src, "config.json")))
    assert cfg["model_type"] == "bert", f"{src}: only BERT is exported by this script (model_type {cfg['model_type']})"
    sd, _ = read_safetensors(os.path.join(src, "model.safetensors"))
    sd = {k[5:] if k.startswith("bert.") else k: v for k, v in sd.items()}
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    model = Bert(cfg, sd).eval()
    ids = torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]])
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    path = os.path.join(out, "onnx", "model.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask, types), path + ".tmp", input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=14,
                          dynamic_axes={n: {0: "batch_size", 1: "sequence_length"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
    os.replace(path + ".tmp", path)
    shutil.copy(os.path.join(src, "config.json"), os.path.join(out, "config.json"))
    if os.path.exists(os.path.join(src, "tokenizer.json")):
        # A folder saved with its tokenizer (transferkit's saveTextModel, HF save_pretrained): keep it.
        for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
            if os.path.exists(os.path.join(src, f)):
                shutil.copy(os.path.join(src, f), os.path.join(out, f))
        print(json.dumps({"ok": True, "onnx": path, "bytes": os.path.getsize(path)}))
        return
    vocab = open(os.path.join(src, "vocab.txt"), encoding="utf-8").read().split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    tcfg_path = os.path.join(src, "tokenizer_config.json")
    tcfg = json.load(open(tcfg_path)) if os.path.exists(tcfg_path) else {}
    lower = tcfg.get("do_lower_case", True)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab, lower), f)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": lower, "model_max_length": cfg["max_position_embeddings"], "tokenizer_class": "BertTokenizer",
                   "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]"}, f)
    print(json.dumps({"ok": True, "onnx": path, "bytes": os.path.getsize(path)}))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1], sys.argv[2])
