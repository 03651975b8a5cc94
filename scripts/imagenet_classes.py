"""Regenerates src/models/vision/imagenet_classes.ts from torchvision's ImageNet-1k category list.
Usage: /usr/bin/python3 scripts/imagenet_classes.py > /dev/null  (writes the file in place)
"""
import json, os

from torchvision.models._meta import _IMAGENET_CATEGORIES as c

lines = [
    "/**",
    " * The 1000 ImageNet-1k class names in label order, as torchvision lists them",
    " * (`torchvision.models._meta._IMAGENET_CATEGORIES`, BSD-3-Clause; generated with",
    " * scripts/imagenet_classes.py). Keras applications and torchvision share this label order.",
    " */",
    "export const IMAGENET_CLASSES: readonly string[] = [",
]
for i in range(0, 1000, 6):
    lines.append("  " + ", ".join(json.dumps(x) for x in c[i : i + 6]) + ",")
lines.append("];")
out = os.path.join(os.path.dirname(__file__), "..", "src", "models", "vision", "imagenet_classes.ts")
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
print(out)
