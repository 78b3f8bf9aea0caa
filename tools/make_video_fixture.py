#!/usr/bin/python3
"""Makes tests/data/video/: a 4:2:0 JPEG written by OpenCV and OpenCV's own decode of it.

tests/test_video.c checks that shard/video decodes the JPEG to within a few levels of OpenCV
(libjpeg-turbo), which is what the PyTorch reference (mmcv/cv2.imread) sees. The picture is
synthetic (gradients, sharp colour edges, noise), written by the pcan developers; no outside data.
Run with Debian's interpreter: /usr/bin/python3 tools/make_video_fixture.py
"""
import os
import sys

import cv2
import numpy as np


def main(out):
    os.makedirs(out, exist_ok=True)
    h, w = 48, 66  # odd chroma width on purpose (33)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float64)  # BGR
    img[..., 0] = 255 * x / (w - 1)
    img[..., 1] = 255 * y / (h - 1)
    img[..., 2] = np.where((x // 6 + y // 6) % 2 == 0, 230, 20)  # sharp red checkerboard
    img += np.random.default_rng(7).normal(0, 10, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    jpg = os.path.join(out, 'cv2_420.jpg')
    # libjpeg's default sampling for colour is 4:2:0 (this OpenCV has no option to set it).
    ok = cv2.imwrite(jpg, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    dec = cv2.imread(jpg, cv2.IMREAD_COLOR)
    assert cv2.imwrite(os.path.join(out, 'cv2_420.decoded.png'), dec)
    print(f'wrote {jpg} and its OpenCV decode ({dec.shape[1]}x{dec.shape[0]})')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'tests/data/video')
