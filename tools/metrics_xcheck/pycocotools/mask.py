# Minimal numpy stand-in for pycocotools.mask used by xcheck_trackeval.py (our own code).
# Minimal numpy stand-in for pycocotools.mask (compressed RLE strings only), for cross-checks.
import numpy as np

def _fr_string(s, h, w):
    if isinstance(s, bytes): s = s.decode()
    cnts = []; p = 0
    while p < len(s):
        x = 0; k = 0; more = True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1f) << (5 * k)
            more = bool(c & 0x20); p += 1; k += 1
            if not more and (c & 0x10): x |= -1 << (5 * k)
        if len(cnts) > 2: x += cnts[-2]
        cnts.append(x)
    return cnts

def _to_string(cnts):
    out = []
    for i, v in enumerate(cnts):
        x = v - cnts[i - 2] if i > 2 else v
        more = True
        while more:
            c = x & 0x1f; x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more: c |= 0x20
            out.append(chr(c + 48))
    return ''.join(out).encode()

def _decode(r):
    h, w = r['size']
    flat = np.zeros(h * w, dtype=np.uint8)
    if h * w == 0: return flat
    p = 0; v = 0
    for c in _fr_string(r['counts'], h, w):
        flat[p:p + c] = v; p += c; v ^= 1
    return flat  # column-major flat

def _encode_flat(flat, h, w):
    cnts = []; cur = 0; run = 0
    for v in flat:
        if v != cur: cnts.append(run); cur = v; run = 0
        run += 1
    cnts.append(run)
    return {'size': [h, w], 'counts': _to_string(cnts)}

def merge(rles, intersect=False):
    if len(rles) == 0: return {'size': [0, 0], 'counts': b''}
    h, w = rles[0]['size']
    if any(list(r['size']) != [h, w] for r in rles): return {'size': [0, 0], 'counts': b''}
    acc = _decode(rles[0]).astype(bool)
    for r in rles[1:]:
        m = _decode(r).astype(bool)
        acc = (acc & m) if intersect else (acc | m)
    return _encode_flat(acc.astype(np.uint8), h, w)

def area(r):
    if isinstance(r, list): return np.array([area(x) for x in r])
    return int(_decode(r).sum())

def iou(dt, gt, iscrowd):
    if len(dt) == 0 or len(gt) == 0: return []
    out = np.zeros((len(dt), len(gt)))
    D = [_decode(d).astype(bool) for d in dt]; G = [_decode(g).astype(bool) for g in gt]
    for i, d in enumerate(D):
        for j, g in enumerate(G):
            if d.size != g.size or d.size == 0: continue
            inter = int((d & g).sum())
            if inter == 0: continue
            u = int(d.sum()) if iscrowd[j] else int((d | g).sum())
            out[i, j] = inter / u
    return out

def toBbox(r):
    h, w = r['size']
    m = _decode(r).reshape(w, h).T
    ys, xs = np.nonzero(m)
    if len(ys) == 0: return np.zeros(4)
    return np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], dtype=float)
