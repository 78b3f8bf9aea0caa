"""`pcan synth --jpeg` datasets as numpy caches: frames decoded once, instance id maps per frame.

cache(data_dir, path) writes/reads an .npz-like directory of .npy files:
  frames  uint8  [N,H,W,3]  RGB, every frame of every video, video after video
  ids     int16  [N,H,W]    KITTI-MOTS object id per pixel (class*1000+instance; 10000 = ignore;
                            0 = background); later objects in a file overwrite earlier ones
                            (the masks of one frame never overlap in KITTI-MOTS)
  starts  int64  [V+1]      first frame of each video (starts[-1] = N)
"""
import os

import cv2
import numpy as np


def rle_decode(s, h, w):
    """COCO compressed RLE string (column-major runs, as KITTI-MOTS stores it) -> uint8 [h,w]."""
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1f) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    flat = np.zeros(h * w, np.uint8)
    pos, v = 0, 0
    for c in counts:
        if v:
            flat[pos:pos + c] = 1
        pos += c
        v ^= 1
    return flat.reshape(w, h).T


def rle_encode(m):
    """uint8/bool [h,w] -> COCO compressed RLE string (column-major)."""
    flat = np.asarray(m, np.uint8).T.reshape(-1)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = list(np.diff(bounds))
    if flat.size and flat[0] == 1:
        runs = [0] + runs
    out = []
    for i, x in enumerate(runs):
        x = int(x)
        if i > 2:
            x -= int(runs[i - 2])
        more = True
        while more:
            c = x & 0x1f
            x >>= 5
            more = not ((c & 0x10 == 0 and x == 0) or (c & 0x10 and x == -1))
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return ''.join(out)


def load_split(data_dir):
    vids = sorted(os.listdir(os.path.join(data_dir, 'frames')))
    frames, ids, starts = [], [], [0]
    for v in vids:
        fdir = os.path.join(data_dir, 'frames', v)
        names = sorted(os.listdir(fdir))
        vf = [cv2.cvtColor(cv2.imread(os.path.join(fdir, n)), cv2.COLOR_BGR2RGB) for n in names]
        h, w = vf[0].shape[:2]
        vi = np.zeros((len(vf), h, w), np.int16)
        with open(os.path.join(data_dir, 'instances_txt', v + '.txt')) as f:
            for line in f:
                t, oid, _cls, hh, ww, rle = line.split()
                m = rle_decode(rle, int(hh), int(ww)).astype(bool)
                vi[int(t)][m] = int(oid)
        frames += vf
        ids.append(vi)
        starts.append(starts[-1] + len(vf))
    return dict(frames=np.stack(frames), ids=np.concatenate(ids),
                starts=np.array(starts, np.int64), videos=np.array(vids))


def cache(data_dir, path):
    """The split of data_dir, built once into directory `path` and memory-mapped afterwards."""
    keys = ('frames', 'ids', 'starts', 'videos')
    if not all(os.path.exists(os.path.join(path, k + '.npy')) for k in keys):
        d = load_split(data_dir)
        os.makedirs(path, exist_ok=True)
        for k in keys:
            np.save(os.path.join(path, k + '.tmp.npy'), d[k])
            os.replace(os.path.join(path, k + '.tmp.npy'), os.path.join(path, k + '.npy'))
    return {k: np.load(os.path.join(path, k + '.npy'), mmap_mode='r' if k in ('frames', 'ids')
                       else None) for k in keys}
