#!/usr/bin/python3
"""Writes tests/data/resize_golden.bin: OpenCV INTER_LINEAR resizes of random RGB uint8 images.

runtime/preprocess.c reproduces cv2.resize(..., INTER_LINEAR) bit for bit (the official
pipeline resizes with OpenCV); tests/test_preprocess.c compares against these outputs, so
make test needs no OpenCV. Regenerate with: /usr/bin/python3 tools/make_resize_golden.py

Format (little endian): b"PCRZ", u32 version 1, u32 cases; per case: u32 sw, sh, dw, dh, cn,
then sh*sw*cn source bytes, then dh*dw*cn resized bytes (row-major, interleaved channels).
"""
import struct
import sys

import cv2
import numpy as np

CASES = [  # (sw, sh, dw, dh): down, up, odd, 2x exactly (OpenCV's area fast path), 1-pixel
    (64, 48, 32, 24), (61, 37, 101, 59), (100, 60, 67, 40), (33, 47, 16, 23),
    (17, 9, 50, 31), (64, 36, 80, 45), (90, 51, 89, 50), (40, 30, 41, 31),
    (7, 5, 3, 2), (48, 48, 24, 24), (5, 3, 1, 1), (35, 21, 36, 22),
]


def main(out):
    rng = np.random.RandomState(1234)
    blob = [b"PCRZ", struct.pack("<II", 1, len(CASES))]
    for sw, sh, dw, dh in CASES:
        src = rng.randint(0, 256, size=(sh, sw, 3), dtype=np.uint8)
        dst = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LINEAR)
        blob.append(struct.pack("<5I", sw, sh, dw, dh, 3))
        blob.append(src.tobytes())
        blob.append(dst.tobytes())
    with open(out, "wb") as f:
        f.write(b"".join(blob))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/resize_golden.bin")
