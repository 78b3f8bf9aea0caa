#!/usr/bin/python3
"""Times the PyTorch reference (tools/ref) on the frame `pcan bench` uses, and torchvision's own
ResNet-50-FPN backbone on the same input, so that `make bench-ref` can compare the C engine with
the reference in one run on one machine (the machine's speed drifts: compare ratios only).

    /usr/bin/python3 tools/bench_ref.py [--threads 1,2] [--dets 20] [--runs 3] [--pcan bin/pcan]

R50 with the formula weights (tools/README.md), detections forced to --dets like
`pcan bench --dets` (every (RoI, class) candidate passes the score threshold, the class NMS keeps
the best N). Prints the median frame time, the backbone+FPN time, torchvision's backbone+FPN
time, and then runs `pcan bench --r50` with the same settings and prints the ratios.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref.config import CONFIG_DIR, load_config  # noqa: E402
from ref.init import formula_state  # noqa: E402
from ref.model import PCAN  # noqa: E402
from ref.video import VideoTracker  # noqa: E402


def bench_frame(pcan, size):
    """Frame 5 of video 0 of `pcan synth --seed 7` at `size`, as pcan bench renders it (JPEG)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([pcan, 'synth', '--out', d, '--videos', '1', '--frames', '6', '--seed', '7',
                        '--size', size, '--jpeg'], check=True, capture_output=True)
        bgr = cv2.imread(os.path.join(d, 'frames', '0000', '000005.jpg'))
    return np.ascontiguousarray(bgr[:, :, ::-1])


def timed(fn, runs):
    fn()  # warm-up
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--dets', type=int, default=20)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--size', default='1280x720')
    ap.add_argument('--pcan', default='bin/pcan')
    a = ap.parse_args()
    rgb = bench_frame(a.pcan, a.size)
    cfg = load_config(open(os.path.join(CONFIG_DIR, 'r50.yaml')).read())
    cfg['test']['score_thr'] = -1.0           # every candidate passes ...
    cfg['test']['max_per_img'] = a.dets       # ... and the class NMS keeps the best N
    model = PCAN(cfg)
    model.load_state_dict(formula_state(model))
    import torchvision
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
    tv = resnet_fpn_backbone(backbone_name='resnet50', weights=None, trainable_layers=0).eval()
    img, _ = model.preprocess(rgb)
    rows = []
    for nt in [int(t) for t in a.threads.split(',')]:
        torch.set_num_threads(nt)
        with torch.inference_mode():
            vt = VideoTracker(model)
            frame = timed(lambda: vt.step(rgb), a.runs)
            ours = timed(lambda: model.neck(model.backbone(img)[1]), a.runs)
            theirs = timed(lambda: tv(img), a.runs)
        out = subprocess.run([a.pcan, 'bench', '--r50', '--threads', str(nt), '--dets', str(a.dets),
                              '--runs', str(a.runs), '--size', a.size],
                             check=True, capture_output=True, text=True).stdout
        c_frame = float(re.search(r'^  frame\s+([\d.]+) ms', out, re.M).group(1)) / 1e3
        rows.append((nt, frame, ours, theirs, c_frame))
        print('threads %d: reference frame %.2f s (backbone+FPN %.2f s; torchvision backbone+FPN '
              '%.2f s, reference/torchvision %.2f); pcan frame %.2f s; pcan/reference %.2f'
              % (nt, frame, ours, theirs, ours / theirs, c_frame, c_frame / frame), flush=True)
    print('torch %s, torchvision %s, %s' % (torch.__version__, torchvision.__version__, a.size))


if __name__ == '__main__':
    main()
