"""Writes the small image fixtures of test/data/decode_formats.test.ts with Pillow (an encoder
independent of the decoders under test). Committed under test/fixtures/images (a few KB).

  pattern.png            24x16 RGB, 12 distinct colours in blocks (the reference pixels)
  pattern.webp           the same pixels, lossless WebP
  pattern_lossy.webp     lossy WebP, quality 90
  pattern_lossy_pillow.png  Pillow's (libwebp's) decoding of pattern_lossy.webp
  pattern.gif            the same pixels as a GIF (12 colours fit its palette exactly)
  animated.gif           two frames: the pattern, then all black (decoders take the first)
  pattern_rgba.webp      lossless WebP with an alpha channel (alpha is dropped, RGB kept)
Usage: /usr/bin/python3 scripts/image_format_fixtures.py OUT_DIR
"""
import os, sys
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255),
           (12, 34, 56), (200, 100, 50), (90, 90, 90), (255, 255, 255), (0, 0, 0), (128, 64, 192)]
img = Image.new("RGB", (24, 16))
for y in range(16):
    for x in range(24):
        img.putpixel((x, y), colours[(y // 8) * 6 + x // 4])
img.save(os.path.join(out, "pattern.png"))
img.save(os.path.join(out, "pattern.webp"), lossless=True)
img.save(os.path.join(out, "pattern_lossy.webp"), quality=90)
Image.open(os.path.join(out, "pattern_lossy.webp")).convert("RGB").save(os.path.join(out, "pattern_lossy_pillow.png"))
img.save(os.path.join(out, "pattern.gif"))
black = Image.new("RGB", (24, 16))
img.save(os.path.join(out, "animated.gif"), save_all=True, append_images=[black], duration=100, loop=0)
rgba = img.convert("RGBA")
rgba.putalpha(128)
rgba.save(os.path.join(out, "pattern_rgba.webp"), lossless=True)
