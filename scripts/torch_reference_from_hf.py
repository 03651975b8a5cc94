"""Reads a Hugging Face model folder (config.json + model.safetensors) the way a Python user would,
builds the independent torch.nn reference (nn.Embedding, nn.LayerNorm, nn.TransformerEncoderLayer
post-LN GELU, nn.Linear heads) from its tensors by HF name, and prints its outputs for the inputs
given as JSON on stdin ({"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids"?: ...}).

It is the check that transferkit's export is loadable by PyTorch code keyed on HF names: every
tensor must be found under the name and shape HF uses, or this script fails.

Usage: /usr/bin/python3 scripts/torch_reference_from_hf.py FOLDER < inputs.json
Prints: {"last_hidden_state": [...], "logits": [...] (task checkpoints)}
"""
import json, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from _safetensors import read_safetensors  # scripts/_safetensors.py


folder = sys.argv[1]
cfg = json.load(open(f"{folder}/config.json"))
sd, meta = read_safetensors(f"{folder}/model.safetensors")
assert meta.get("format") == "pt", "transformers requires metadata format=pt"
family = cfg["model_type"]
prefix = {"bert": "bert.", "distilbert": "distilbert.", "roberta": "roberta."}[family]
arch = cfg["architectures"][0]
task = "sequence-classification" if arch.endswith("ForSequenceClassification") else "base"
get = lambda k: sd[prefix + k] if task != "base" else sd[k]
inp = json.load(sys.stdin)
ids = torch.tensor(inp["input_ids"])
mask = torch.tensor(inp["attention_mask"])

if family == "distilbert":
    H, L, NH, FF, eps, act = cfg["dim"], cfg["n_layers"], cfg["n_heads"], cfg["hidden_dim"], 1e-12, cfg.get("activation", "gelu")
    names = lambda l: [f"transformer.layer.{l}.attention.{n}" for n in ["q_lin", "k_lin", "v_lin", "out_lin"]] + \
        [f"transformer.layer.{l}.{n}" for n in ["sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"]]
else:
    H, L, NH, FF = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"]
    eps, act = cfg.get("layer_norm_eps", 1e-12), cfg.get("hidden_act", "gelu")
    names = lambda l: [f"encoder.layer.{l}.{n}" for n in ["attention.self.query", "attention.self.key", "attention.self.value",
                                                            "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                                                            "output.dense", "output.LayerNorm"]]
activation = {"gelu": "gelu", "relu": "relu", "gelu_new": lambda x: F.gelu(x, approximate="tanh")}[act]

with torch.no_grad():
    x = F.embedding(ids, get("embeddings.word_embeddings.weight"))
    if family == "roberta":
        pad = cfg.get("pad_token_id", 1)
        real = (ids != pad).long()
        positions = torch.cumsum(real, 1) * real + pad
    else:
        positions = torch.arange(ids.shape[1])[None].expand_as(ids)
    x = x + F.embedding(positions, get("embeddings.position_embeddings.weight"))
    if family != "distilbert":
        types = torch.tensor(inp["token_type_ids"]) if "token_type_ids" in inp else torch.zeros_like(ids)
        x = x + F.embedding(types, get("embeddings.token_type_embeddings.weight"))
    x = F.layer_norm(x, (H,), get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias"), eps)
    for l in range(L):
        q, k, v, o, ln1, i, out, ln2 = names(l)
        layer = nn.TransformerEncoderLayer(H, NH, FF, dropout=0.0, activation=activation, layer_norm_eps=eps, batch_first=True).eval()
        layer.self_attn.in_proj_weight.copy_(torch.cat([get(q + ".weight"), get(k + ".weight"), get(v + ".weight")]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([get(q + ".bias"), get(k + ".bias"), get(v + ".bias")]))
        for mod, name in [(layer.self_attn.out_proj, o), (layer.norm1, ln1), (layer.linear1, i), (layer.linear2, out), (layer.norm2, ln2)]:
            mod.weight.copy_(get(name + ".weight")); mod.bias.copy_(get(name + ".bias"))
        x = layer(x, src_key_padding_mask=mask == 0)
    result = {"last_hidden_state": x.flatten().tolist()}
    if task == "sequence-classification":
        first = x[:, 0]
        if family == "bert":
            pooled = torch.tanh(first @ get("pooler.dense.weight").T + get("pooler.dense.bias"))
            logits = pooled @ sd["classifier.weight"].T + sd["classifier.bias"]
        elif family == "distilbert":
            h = F.relu(first @ sd["pre_classifier.weight"].T + sd["pre_classifier.bias"])
            logits = h @ sd["classifier.weight"].T + sd["classifier.bias"]
        else:
            h = torch.tanh(first @ sd["classifier.dense.weight"].T + sd["classifier.dense.bias"])
            logits = h @ sd["classifier.out_proj.weight"].T + sd["classifier.out_proj.bias"]
        result["logits"] = logits.flatten().tolist()
print(json.dumps(result))
