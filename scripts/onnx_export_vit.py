"""Writes a small random ViT image encoder in transformers.js' layout (config.json with model_type
"vit", preprocessor_config.json for ViTImageProcessor, onnx/model.onnx) plus a reference: one
32x32 RGB image and the encoder's outputs for it, computed here in torch.

The network is written from the ViT equations (patch embedding as a strided conv, [CLS] token,
learned positions, pre-LN blocks with GELU MLPs, final LayerNorm; HF ViTModel's structure and
names), exported with torch.onnx; inputs pixel_values [B, 3, 32, 32], output last_hidden_state.
The image is already at the processor's size, so resizing is the identity and the reference only
needs the processor's rescale (1/255) and normalisation ((x - 0.5) / 0.5).

Usage: /usr/bin/python3 scripts/onnx_export_vit.py OUT_FOLDER
  -> OUT_FOLDER/{config.json, preprocessor_config.json, onnx/model.onnx, reference.safetensors}
     reference: image [32, 32, 3] (0..255 as float32), cls [1, H], mean [1, H] (mean of the patch tokens)
"""
import json, math, os, sys

import torch
import torch.nn as nn

from _safetensors import write_safetensors  # scripts/_safetensors.py

SIZE, PATCH, H, L, NH, FF = 32, 8, 48, 2, 4, 96


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        r = lambda *s, std=0.2: nn.Parameter(torch.randn(*s, generator=g) * std, requires_grad=False)
        n = (SIZE // PATCH) ** 2
        self.patch_w, self.patch_b = r(H, 3, PATCH, PATCH, std=0.1), r(H, std=0.05)
        self.cls, self.pos = r(1, 1, H), r(1, n + 1, H)
        self.blocks = []
        for l in range(L):
            p = {k: r(*s) for k, s in [("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("o", (H, H)), ("i", (FF, H)), ("out", (H, FF))]}
            p.update({k + "_b": r(s[0], std=0.05) for k, s in [("q", (H,)), ("k", (H,)), ("v", (H,)), ("o", (H,)), ("i", (FF,)), ("out", (H,))]})
            p.update({"ln1_w": nn.Parameter(1 + torch.randn(H, generator=g) * 0.1, requires_grad=False), "ln1_b": r(H, std=0.05),
                      "ln2_w": nn.Parameter(1 + torch.randn(H, generator=g) * 0.1, requires_grad=False), "ln2_b": r(H, std=0.05)})
            for k, v in p.items():
                self.register_parameter(f"b{l}_{k}", v)
            self.blocks.append(p)
        self.lnf_w, self.lnf_b = nn.Parameter(1 + torch.randn(H, generator=g) * 0.1, requires_grad=False), r(H, std=0.05)

    @staticmethod
    def ln(x, w, b):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-12) * w + b

    def forward(self, pixel_values):
        x = torch.nn.functional.conv2d(pixel_values, self.patch_w, self.patch_b, stride=PATCH)  # [B, H, 4, 4]
        b = x.shape[0]
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(b, -1, -1), x], dim=1) + self.pos
        n, d = x.shape[1], H // NH
        split = lambda t: t.reshape(b, n, NH, d).permute(0, 2, 1, 3)
        for p in self.blocks:
            y = self.ln(x, p["ln1_w"], p["ln1_b"])
            q, k, v = (split(y @ p[m].t() + p[m + "_b"]) for m in ("q", "k", "v"))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1) @ v
            x = x + a.permute(0, 2, 1, 3).reshape(b, n, H) @ p["o"].t() + p["o_b"]
            y = self.ln(x, p["ln2_w"], p["ln2_b"]) @ p["i"].t() + p["i_b"]
            y = 0.5 * y * (1 + torch.erf(y / math.sqrt(2)))
            x = x + y @ p["out"].t() + p["out_b"]
        return self.ln(x, self.lnf_w, self.lnf_b)


def main(out):
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    model = ViT().eval()
    path = os.path.join(out, "onnx", "model.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(2, 3, SIZE, SIZE),), path + ".tmp", input_names=["pixel_values"], output_names=["last_hidden_state"],
                          opset_version=14, dynamic_axes={"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}})
    os.replace(path + ".tmp", path)
    cfg = dict(model_type="vit", architectures=["ViTModel"], hidden_size=H, num_hidden_layers=L, num_attention_heads=NH, intermediate_size=FF,
               hidden_act="gelu", image_size=SIZE, patch_size=PATCH, num_channels=3, layer_norm_eps=1e-12, qkv_bias=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    pre = dict(image_processor_type="ViTImageProcessor", do_resize=True, size={"height": SIZE, "width": SIZE}, resample=2, do_rescale=True,
               rescale_factor=1 / 255, do_normalize=True, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    g = torch.Generator().manual_seed(11)
    image = torch.randint(0, 256, (SIZE, SIZE, 3), generator=g).to(torch.float32)
    pixels = ((image / 255 - 0.5) / 0.5).permute(2, 0, 1)[None]
    with torch.no_grad():
        hidden = model(pixels)
    write_safetensors(os.path.join(out, "reference.safetensors"), {"image": image, "cls": hidden[:, 0], "mean": hidden[:, 1:].mean(1)})
    print(json.dumps({"ok": True, "onnx": path}))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1])
