"""Writes small random BERT / DistilBERT checkpoints in the Hugging Face layout, with reference
outputs computed by an independent implementation assembled from stock torch.nn modules.

Why independent: the reference is not HF's modeling code (not installed here) nor a port of
transferkit's; it is nn.Embedding + nn.LayerNorm + nn.TransformerEncoderLayer(norm_first=False,
activation=gelu), i.e. PyTorch's own post-LN encoder block, loaded with the same tensors under HF
names. If transferkit's layers or its HF name map are wrong, the outputs differ.

Each fixture folder holds: config.json, model.safetensors (HF names, written by hand: Debian has no
safetensors package), vocab.txt, tokenizer_config.json, and reference.safetensors with the inputs
(input_ids, attention_mask, token_type_ids; padded and unpadded batches) and the outputs
(last_hidden_state, pooler_output for BERT, logits of the classification head).

Usage: /usr/bin/python3 scripts/bert_fixtures.py OUT_DIR
  -> OUT_DIR/bert, OUT_DIR/bert_tanh (gelu_new activation), OUT_DIR/distilbert, OUT_DIR/roberta
"""
import argparse, json, os, struct

import torch
import torch.nn as nn
import torch.nn.functional as F

from _safetensors import write_safetensors  # scripts/_safetensors.py


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz.,!?'") + [
    "the", "a", "film", "movie", "good", "bad", "great", "not", "is", "was", "and", "it", "this", "of",
    "book", "story", "fun", "boring", "love", "hate", "##s", "##ing", "##ed", "##ly", "##er", "un", "##able"]
H, L, NH, FF, P, LABELS = 32, 2, 4, 64, 40, 3


def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


def load_block(layer, q, k, v, o, ln1, i, out, ln2):
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.cat([q[0], k[0], v[0]]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([q[1], k[1], v[1]]))
        layer.self_attn.out_proj.weight.copy_(o[0]); layer.self_attn.out_proj.bias.copy_(o[1])
        layer.norm1.weight.copy_(ln1[0]); layer.norm1.bias.copy_(ln1[1])
        layer.linear1.weight.copy_(i[0]); layer.linear1.bias.copy_(i[1])
        layer.linear2.weight.copy_(out[0]); layer.linear2.bias.copy_(out[1])
        layer.norm2.weight.copy_(ln2[0]); layer.norm2.bias.copy_(ln2[1])


def linear(n_out, n_in):
    return (rnd(n_out, n_in), rnd(n_out, std=0.05))


def norm():
    return (1 + rnd(H, std=0.1), rnd(H, std=0.05))


def inputs(with_types):
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(5, len(VOCAB), (3, 12), generator=g)
    lengths = [12, 7, 3]
    mask = torch.zeros(3, 12, dtype=torch.int64)
    for r, n in enumerate(lengths):
        mask[r, :n] = 1
        ids[r, 0] = 2  # [CLS]
        ids[r, n - 1] = 3  # [SEP]
        ids[r, n:] = 0  # [PAD]
    types = torch.zeros(3, 12, dtype=torch.int64)
    types[0, 6:12] = 1
    types[1, 4:7] = 1
    return ids, mask, types if with_types else None


def run_encoder(emb, layers, ids, mask, types):
    x = emb(ids, types)
    pad = mask == 0
    for layer in layers:
        x = layer(x, src_key_padding_mask=pad)
    return x


BERT_BLOCK = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
              "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
DISTILBERT_BLOCK = ["attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
                    "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"]


def random_blocks(sd, prefix, names, act, eps=1e-12):
    """L random post-LN blocks: their tensors into `sd` under `prefix.{l}.<name>`, and the same
    tensors loaded into nn.TransformerEncoderLayer modules (returned)."""
    q, k, v, o, ln1, i, out, ln2 = names
    blocks = []
    for l in range(L):
        p = f"{prefix}.{l}."
        parts = {}
        for name, shape in [(q, (H, H)), (k, (H, H)), (v, (H, H)), (o, (H, H)), (i, (FF, H)), (out, (H, FF))]:
            parts[name] = linear(*shape)
            sd[p + name + ".weight"], sd[p + name + ".bias"] = parts[name]
        for name in [ln1, ln2]:
            parts[name] = norm()
            sd[p + name + ".weight"], sd[p + name + ".bias"] = parts[name]
        layer = nn.TransformerEncoderLayer(H, NH, FF, dropout=0.0, activation=act, layer_norm_eps=eps, batch_first=True, norm_first=False).eval()
        load_block(layer, *[parts[n] for n in names])
        blocks.append(layer)
    return blocks


def make_bert(out, act_name, act):
    torch.manual_seed(0)
    sd = {}
    sd["embeddings.word_embeddings.weight"] = rnd(len(VOCAB), H)
    sd["embeddings.position_embeddings.weight"] = rnd(P, H)
    sd["embeddings.token_type_embeddings.weight"] = rnd(2, H)
    sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"] = norm()
    blocks = random_blocks(sd, "encoder.layer", BERT_BLOCK, act)
    sd["pooler.dense.weight"], sd["pooler.dense.bias"] = linear(H, H)
    clf = linear(LABELS, H)

    word, pos, typ = nn.Embedding(len(VOCAB), H), nn.Embedding(P, H), nn.Embedding(2, H)
    ln = nn.LayerNorm(H, eps=1e-12)
    with torch.no_grad():
        word.weight.copy_(sd["embeddings.word_embeddings.weight"]); pos.weight.copy_(sd["embeddings.position_embeddings.weight"])
        typ.weight.copy_(sd["embeddings.token_type_embeddings.weight"])
        ln.weight.copy_(sd["embeddings.LayerNorm.weight"]); ln.bias.copy_(sd["embeddings.LayerNorm.bias"])

    def emb(ids, types):
        return ln(word(ids) + pos(torch.arange(ids.shape[1]))[None] + typ(types))

    pooler = nn.Linear(H, H); classifier = nn.Linear(H, LABELS)
    with torch.no_grad():
        pooler.weight.copy_(sd["pooler.dense.weight"]); pooler.bias.copy_(sd["pooler.dense.bias"])
        classifier.weight.copy_(clf[0]); classifier.bias.copy_(clf[1])

    ids, mask, types = inputs(True)
    ref = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    full = torch.ones_like(mask)
    for tag, m in [("", mask), ("unpadded_", full)]:
        hidden = run_encoder(emb, blocks, ids, m, types)
        pooled = torch.tanh(pooler(hidden[:, 0]))
        ref[tag + "last_hidden_state"] = hidden
        ref[tag + "pooler_output"] = pooled
        ref[tag + "logits"] = classifier(pooled)

    os.makedirs(out, exist_ok=True)
    cfg = dict(model_type="bert", architectures=["BertModel"], vocab_size=len(VOCAB), hidden_size=H, num_hidden_layers=L,
               num_attention_heads=NH, intermediate_size=FF, hidden_act=act_name, max_position_embeddings=P,
               type_vocab_size=2, layer_norm_eps=1e-12, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    write_base_and_classifier(out, cfg, sd, "bert.", clf, "BertForSequenceClassification")
    write_safetensors(os.path.join(out, "reference.safetensors"), ref)


def make_roberta(out):
    """RoBERTa: BERT's encoder with padding-aware position ids (pad id 1, positions start at 2),
    one token type, LayerNorm eps 1e-5, and the dense-tanh-out_proj classification head."""
    torch.manual_seed(2)
    pad = 1
    sd = {}
    sd["embeddings.word_embeddings.weight"] = rnd(len(VOCAB), H)
    sd["embeddings.position_embeddings.weight"] = rnd(P, H)
    sd["embeddings.token_type_embeddings.weight"] = rnd(1, H)
    sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"] = norm()
    blocks = random_blocks(sd, "encoder.layer", BERT_BLOCK, "gelu", eps=1e-5)
    sd["pooler.dense.weight"], sd["pooler.dense.bias"] = linear(H, H)
    dense, out_proj = linear(H, H), linear(LABELS, H)
    word, pos, typ, ln = nn.Embedding(len(VOCAB), H), nn.Embedding(P, H), nn.Embedding(1, H), nn.LayerNorm(H, eps=1e-5)
    with torch.no_grad():
        word.weight.copy_(sd["embeddings.word_embeddings.weight"]); pos.weight.copy_(sd["embeddings.position_embeddings.weight"])
        typ.weight.copy_(sd["embeddings.token_type_embeddings.weight"])
        ln.weight.copy_(sd["embeddings.LayerNorm.weight"]); ln.bias.copy_(sd["embeddings.LayerNorm.bias"])

    def emb(ids, _types):
        real = (ids != pad).long()
        positions = torch.cumsum(real, dim=1) * real + pad
        return ln(word(ids) + pos(positions) + typ(torch.zeros_like(ids)))

    ids, mask, _ = inputs(False)
    ids = torch.where(mask == 1, ids, torch.full_like(ids, pad))  # RoBERTa pads with id 1
    ids[ids == 0] = 5
    ref = {"input_ids": ids, "attention_mask": mask}
    hidden = run_encoder(emb, blocks, ids, mask, None)
    ref["last_hidden_state"] = hidden
    ref["pooler_output"] = torch.tanh(hidden[:, 0] @ sd["pooler.dense.weight"].T + sd["pooler.dense.bias"])
    x = torch.tanh(hidden[:, 0] @ dense[0].T + dense[1])
    ref["logits"] = x @ out_proj[0].T + out_proj[1]
    os.makedirs(out, exist_ok=True)
    cfg = dict(model_type="roberta", architectures=["RobertaModel"], vocab_size=len(VOCAB), hidden_size=H, num_hidden_layers=L,
               num_attention_heads=NH, intermediate_size=FF, hidden_act="gelu", max_position_embeddings=P, type_vocab_size=1,
               layer_norm_eps=1e-5, pad_token_id=pad)
    extra = {"classifier.dense.weight": dense[0], "classifier.dense.bias": dense[1]}
    # RobertaForSequenceClassification has no pooler: drop it from the task checkpoint.
    base_sd = {k: v for k, v in sd.items()}
    write_base_and_classifier(out, cfg, base_sd, "roberta.", out_proj, "RobertaForSequenceClassification", extra, clf_name="classifier.out_proj", drop_pooler=True)
    write_safetensors(os.path.join(out, "reference.safetensors"), ref)


def make_distilbert(out):
    torch.manual_seed(1)
    sd = {}
    sd["embeddings.word_embeddings.weight"] = rnd(len(VOCAB), H)
    sd["embeddings.position_embeddings.weight"] = rnd(P, H)
    sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"] = norm()
    blocks = random_blocks(sd, "transformer.layer", DISTILBERT_BLOCK, "gelu")
    word, pos, ln = nn.Embedding(len(VOCAB), H), nn.Embedding(P, H), nn.LayerNorm(H, eps=1e-12)
    with torch.no_grad():
        word.weight.copy_(sd["embeddings.word_embeddings.weight"]); pos.weight.copy_(sd["embeddings.position_embeddings.weight"])
        ln.weight.copy_(sd["embeddings.LayerNorm.weight"]); ln.bias.copy_(sd["embeddings.LayerNorm.bias"])

    def emb(ids, _types):
        return ln(word(ids) + pos(torch.arange(ids.shape[1]))[None])

    pre = linear(H, H)
    clf = linear(LABELS, H)
    pre_l, clf_l = nn.Linear(H, H), nn.Linear(H, LABELS)
    with torch.no_grad():
        pre_l.weight.copy_(pre[0]); pre_l.bias.copy_(pre[1]); clf_l.weight.copy_(clf[0]); clf_l.bias.copy_(clf[1])
    ids, mask, _ = inputs(False)
    ref = {"input_ids": ids, "attention_mask": mask}
    for tag, m in [("", mask), ("unpadded_", torch.ones_like(mask))]:
        hidden = run_encoder(emb, blocks, ids, m, None)
        ref[tag + "last_hidden_state"] = hidden
        ref[tag + "logits"] = clf_l(F.relu(pre_l(hidden[:, 0])))
    os.makedirs(out, exist_ok=True)
    cfg = dict(model_type="distilbert", architectures=["DistilBertModel"], vocab_size=len(VOCAB), dim=H, n_layers=L, n_heads=NH,
               hidden_dim=FF, activation="gelu", max_position_embeddings=P)
    sd_cls_extra = {"pre_classifier.weight": pre[0], "pre_classifier.bias": pre[1]}
    write_base_and_classifier(out, cfg, sd, "distilbert.", clf, "DistilBertForSequenceClassification", sd_cls_extra)
    write_safetensors(os.path.join(out, "reference.safetensors"), ref)


def write_base_and_classifier(out, cfg, sd, prefix, clf, arch, extra=None, clf_name="classifier", drop_pooler=False):
    """The bare encoder in OUT (as `*Model.save_pretrained`), and OUT/classifier with the task model's
    names (`bert.` prefix + `classifier.*`, as `*ForSequenceClassification.save_pretrained`)."""
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(out, "model.safetensors"), sd)
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": P, "tokenizer_class": "BertTokenizer"}, f)
    cdir = os.path.join(out, "classifier")
    os.makedirs(cdir, exist_ok=True)
    ccfg = dict(cfg, architectures=[arch], id2label={str(i): f"label_{i}" for i in range(LABELS)},
                label2id={f"label_{i}": i for i in range(LABELS)})
    with open(os.path.join(cdir, "config.json"), "w") as f:
        json.dump(ccfg, f, indent=2)
    csd = {prefix + k: v for k, v in sd.items() if not (drop_pooler and k.startswith("pooler."))}
    csd[clf_name + ".weight"], csd[clf_name + ".bias"] = clf
    csd.update(extra or {})
    write_safetensors(os.path.join(cdir, "model.safetensors"), csd)


p = argparse.ArgumentParser()
p.add_argument("out")
a = p.parse_args()
torch.set_num_threads(1)
make_bert(os.path.join(a.out, "bert"), "gelu", "gelu")
make_bert(os.path.join(a.out, "bert_tanh"), "gelu_new", lambda x: F.gelu(x, approximate="tanh"))
make_distilbert(os.path.join(a.out, "distilbert"))
make_roberta(os.path.join(a.out, "roberta"))
print(json.dumps({"ok": True}))
