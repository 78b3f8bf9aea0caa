"""Cross-check merge/vis against youtubevos/cocoapi's YTVOSeval on random cases.

Not part of `make test` (needs a youtubevos/cocoapi checkout, Simplified BSD, not vendored):

    make -j2 && /usr/bin/python3 tools/metrics_xcheck/xcheck_ytvis.py /path/to/youtubevos-cocoapi 0 200

Random videos (boxes moving over 1-4 frames, missing frames, crowd GT, wrong categories,
overlapping results, sizes that reach the medium range); ytvos.py/ytvoseval.py run unmodified
with the numpy pycocotools stand-in next to this file, numpy >= 1.18 fixes applied by
monkeypatching (float linspace counts, np.float), matplotlib stubbed. Compares the 12 stats for
exact float equality.
"""
import builtins, shutil, tempfile
builtins.unicode = str
import sys, json, subprocess, os, io, contextlib
import numpy as np
np.float = float
_ls = np.linspace
np.linspace = lambda a, b, n, **k: _ls(a, b, int(n), **k)
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PKG = tempfile.mkdtemp(prefix='pcan_ytvis_')
shutil.copytree(os.path.join(HERE, 'pycocotools'), os.path.join(PKG, 'pycocotools'))
for f in ('ytvos.py', 'ytvoseval.py'):
    shutil.copy(os.path.join(sys.argv[1], 'PythonAPI', 'pycocotools', f), os.path.join(PKG, 'pycocotools', f))
os.makedirs(os.path.join(PKG, 'matplotlib'))
for f, body in (('__init__', 'def use(*a, **k): pass'), ('pyplot', ''), ('collections', 'PatchCollection = None'),
                ('patches', 'Polygon = None')):
    open(os.path.join(PKG, 'matplotlib', f + '.py'), 'w').write(body + '\n')
sys.path.insert(0, PKG)
DRV = os.path.join(PKG, 'vis_drv')
subprocess.run(['mpicc', '-std=c11', '-O2', '-D_DEFAULT_SOURCE', '-I', REPO, os.path.join(HERE, 'vis_drv.c'),
                os.path.join(REPO, 'build/libpcan.a'), '-lm', '-o', DRV], check=True)
import matplotlib; matplotlib.use('Agg')
from pycocotools.ytvos import YTVOS
from pycocotools.ytvoseval import YTVOSeval
from pycocotools import mask as mu

def enc(m):
    h, w = m.shape
    flat = m.T.reshape(-1).astype(np.int8)
    ch = np.flatnonzero(np.diff(flat)) + 1
    b = np.concatenate([[0], ch, [flat.size]])
    runs = list(np.diff(b))
    if flat.size and flat[0] == 1: runs = [0] + runs
    return mu._to_string([int(x) for x in runs]).decode()

def case(seed, drv):
    rng = np.random.default_rng(seed)
    H, W = int(rng.choice([40, 200])), int(rng.choice([60, 330]))
    videos, anns, res, lines = [], [], [], []
    aid = 1
    for vid in range(1, int(rng.integers(1, 5)) + 1):
        T = int(rng.integers(1, 5))
        videos.append(dict(id=vid, width=W, height=H, length=T, file_names=[f'{vid}/{t}.jpg' for t in range(T)]))
        for k in range(int(rng.integers(0, 5))):
            cat = int(rng.integers(1, 4)); crowd = int(rng.random() < 0.15)
            y, x = rng.integers(0, H - 2), rng.integers(0, W - 2)
            hh, ww = rng.integers(2, H - 1), rng.integers(2, W - 1)
            segs = []; areas = []
            for t in range(T):
                if rng.random() < 0.2: segs.append(None); areas.append(None); continue
                m = np.zeros((H, W), np.uint8); yy = min(H - 1, y + t); m[yy:yy + hh, x:x + ww] = 1
                segs.append({'size': [H, W], 'counts': enc(m)}); areas.append(float(m.sum()))
            anns.append(dict(id=aid, video_id=vid, category_id=cat, iscrowd=crowd, segmentations=segs, areas=areas,
                             bboxes=[None] * T, height=H, width=W)); aid += 1
            lines.append(f"G {vid} {cat} {crowd} 0 {T} {H} {W} " + " ".join(s['counts'] if s else '-' for s in segs))
            for _ in range(int(rng.integers(0, 3))):
                sc = float(np.round(rng.random(), 2)); c2 = cat if rng.random() < 0.85 else int(rng.integers(1, 4))
                dy, dx = rng.integers(-3, 4), rng.integers(-3, 4)
                rs = []
                for t in range(T):
                    if rng.random() < 0.15: rs.append(None); continue
                    m = np.zeros((H, W), np.uint8); yy = max(0, min(H - 1, y + t + dy)); m[yy:yy + hh, max(0, x + dx):x + dx + ww] = 1
                    rs.append({'size': [H, W], 'counts': enc(m)})
                res.append(dict(video_id=vid, category_id=c2, score=sc, segmentations=rs))
        for _ in range(int(rng.integers(0, 3))):
            m = np.zeros((H, W), np.uint8); y, x = rng.integers(0, H - 2), rng.integers(0, W - 2); m[y:y + 5, x:x + 7] = 1
            rs = [{'size': [H, W], 'counts': enc(m)} if rng.random() < 0.8 else None for t in range(T)]
            res.append(dict(video_id=vid, category_id=int(rng.integers(1, 4)), score=float(np.round(rng.random(), 2)), segmentations=rs))
    for r in res:
        T = len(r['segmentations'])
        lines.append(f"R {r['video_id']} {r['category_id']} 0 {r['score']!r} {T} {H} {W} " + " ".join(s['counts'] if s else '-' for s in r['segmentations']))
    gt = dict(videos=videos, annotations=anns, categories=[dict(id=i, name=str(i), supercategory='x') for i in (1, 2, 3)])
    json.dump(gt, open(os.path.join(PKG, 'gt.json'), 'w'))
    if not res or not anns: return 0
    with contextlib.redirect_stdout(io.StringIO()):
        g = YTVOS(os.path.join(PKG, 'gt.json')); d = g.loadRes(res)
        E = YTVOSeval(g, d, 'segm'); E.evaluate(); E.accumulate(); E.summarize()
    ref = list(E.stats)
    out = subprocess.run([drv], input="\n".join(lines) + "\n", capture_output=True, text=True)
    mine = [float(x) for x in out.stdout.split()]
    bad = sum(1 for a, b in zip(ref, mine) if a != b)
    if ref[4] != -1 or ref[5] != -1: print('medium/large range case', seed, [round(x, 3) for x in ref])
    if bad or len(mine) != 12:
        print('seed', seed, 'ref', ref, 'mine', mine, out.stderr[:200])
    return bad

tot = 0
for s in range(int(sys.argv[2]), int(sys.argv[3])): tot += case(s, DRV)
print('total mismatches', tot)
