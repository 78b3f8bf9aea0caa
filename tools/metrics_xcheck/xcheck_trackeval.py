"""Cross-check merge/metrics against TrackEval itself on random KITTI-MOTS-style cases.

Not part of `make test` (it needs a TrackEval checkout, MIT licence, not vendored here;
Debian's /usr/bin/python3 with numpy and scipy):

    git clone https://github.com/JonathonLuiten/TrackEval /tmp/TrackEval   # or a local mirror
    make -j2 && /usr/bin/python3 tools/metrics_xcheck/xcheck_trackeval.py /tmp/TrackEval 0 200

For every seed it writes 3 random sequences (moving blobs, ignore regions, misses, id switches,
wrong classes, false positives, empty tracker files), runs TrackEval (HOTA, CLEAR, Identity; the
pycocotools calls are served by the numpy stand-in next to this file, exact for valid masks) and
our te_drv, and compares every per-sequence and combined field for exact float equality.
"""
import sys, os, shutil, subprocess, json
import numpy as np
np.float = float; np.int = int; np.bool = bool
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE); sys.path.insert(0, sys.argv[1])
DRV = '/tmp/pcan_te_drv'
from pycocotools import mask as mu
import trackeval

H, W = 16, 24
def enc(m):
    return mu._encode_flat(m.T.reshape(-1).astype(np.uint8), H, W)['counts'].decode()

def gen_seq(rng, T):
    ntr = rng.integers(1, 7)
    tracks = []
    for k in range(ntr):
        cls = int(rng.integers(1, 3))
        t0 = int(rng.integers(0, T)); t1 = int(rng.integers(t0, T))
        y, x = rng.integers(0, H - 3), rng.integers(0, W - 3)
        hh, ww = rng.integers(2, 7), rng.integers(2, 8)
        vy, vx = rng.integers(-1, 2), rng.integers(-1, 2)
        tracks.append(dict(id=cls * 1000 + k, cls=cls, t0=t0, t1=t1, y=y, x=x, h=hh, w=ww, vy=vy, vx=vx))
    gt_lines, tr_lines = [], []
    # tracker id mapping with switches
    tmap = {tr['id']: int(rng.integers(1, 50)) for tr in tracks}
    for t in range(T):
        lab = np.zeros((H, W), dtype=np.int64)
        objs = {}
        if rng.random() < 0.3:
            y, x = rng.integers(0, H - 2), rng.integers(0, W - 2)
            lab[y:y + rng.integers(2, 6), x:x + rng.integers(2, 8)] = 10000
        boxes = {}
        for tr in tracks:
            if not (tr['t0'] <= t <= tr['t1']) or rng.random() < 0.1: continue
            y = int(np.clip(tr['y'] + tr['vy'] * (t - tr['t0']), 0, H - 2)); x = int(np.clip(tr['x'] + tr['vx'] * (t - tr['t0']), 0, W - 2))
            lab[y:y + tr['h'], x:x + tr['w']] = tr['id']; boxes[tr['id']] = (y, x, tr['h'], tr['w'], tr['cls'])
        for v in np.unique(lab):
            if v == 0: continue
            m = lab == v
            cls = 10 if v == 10000 else boxes[v][4]
            gt_lines.append(f"{t} {v} {cls} {H} {W} {enc(m)}")
        # tracker
        tl = np.zeros((H, W), dtype=np.int64); tcls = {}
        used = set()
        for gid, (y, x, hh, ww, cls) in boxes.items():
            if rng.random() < 0.15: continue
            if rng.random() < 0.1: tmap[gid] = int(rng.integers(1, 50))
            tid = tmap[gid]
            if tid in used: continue
            used.add(tid)
            dy, dx = rng.integers(-1, 2), rng.integers(-1, 2); dh, dw = rng.integers(-1, 2), rng.integers(-1, 2)
            y2, x2 = max(0, y + dy), max(0, x + dx)
            tl[y2:y2 + max(1, hh + dh), x2:x2 + max(1, ww + dw)] = tid
            tcls[tid] = cls if rng.random() > 0.05 else 3 - cls
        for _ in range(int(rng.integers(0, 3))):
            tid = int(rng.integers(50, 60))
            if tid in used: continue
            used.add(tid)
            y, x = rng.integers(0, H - 2), rng.integers(0, W - 2)
            tl[y:y + rng.integers(1, 5), x:x + rng.integers(1, 6)] = tid; tcls[tid] = int(rng.integers(1, 3))
        for v in np.unique(tl):
            if v == 0: continue
            tr_lines.append(f"{t} {v} {tcls[v]} {H} {W} {enc(tl == v)}")
    return gt_lines, tr_lines

def main(seed, nseq):
    rng = np.random.default_rng(seed)
    root = '/tmp/pcan_xcheck_case'
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(f'{root}/gt/label_02'); os.makedirs(f'{root}/trk/t/data')
    info = {}; args = []
    for s in range(nseq):
        T = int(rng.integers(1, 12)); name = f'{s:04d}'
        g, tr = gen_seq(rng, T)
        if rng.random() < 0.1: tr = []
        if rng.random() < 0.05: g = [l for l in g if l.split()[2] == '10']
        open(f'{root}/gt/label_02/{name}.txt', 'w').write('\n'.join(g) + ('\n' if g else ''))
        open(f'{root}/trk/t/data/{name}.txt', 'w').write('\n'.join(tr) + ('\n' if tr else ''))
        info[name] = T; args += [str(T), f'{root}/gt/label_02/{name}.txt', f'{root}/trk/t/data/{name}.txt']
    ec = trackeval.Evaluator.get_default_eval_config()
    ec.update(USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False, OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False,
              PLOT_CURVES=False, TIME_PROGRESS=False, OUTPUT_EMPTY_CLASSES=False, DISPLAY_LESS_PROGRESS=True, PRINT_ONLY_COMBINED=True)
    dc = trackeval.datasets.KittiMOTS.get_default_dataset_config()
    dc.update(GT_FOLDER=f'{root}/gt', TRACKERS_FOLDER=f'{root}/trk', SEQ_INFO=info, PRINT_CONFIG=False)
    import io, contextlib
    with contextlib.redirect_stdout(io.StringIO()):
        res, msg = trackeval.Evaluator(ec).evaluate([trackeval.datasets.KittiMOTS(dc)],
                        [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(), trackeval.metrics.Identity()])
    r = res['KittiMOTS']['t']
    out = subprocess.run([DRV] + args, capture_output=True, text=True)
    if out.returncode: print('driver failed', out.stderr); return 1
    mine = json.loads(out.stdout)
    bad = 0
    for cls in ['car', 'pedestrian']:
        for seq in list(info) + ['COMBINED_SEQ']:
            R = r[seq][cls]
            ref = {'HOTA': np.mean(R['HOTA']['HOTA']), 'DetA': np.mean(R['HOTA']['DetA']), 'AssA': np.mean(R['HOTA']['AssA']),
                   'LocA': np.mean(R['HOTA']['LocA']), 'AssRe': np.mean(R['HOTA']['AssRe']), 'AssPr': np.mean(R['HOTA']['AssPr']),
                   'HOTA0': R['HOTA']['HOTA(0)'], 'LocA0': R['HOTA']['LocA(0)'],
                   'MOTA': R['CLEAR']['MOTA'], 'MOTP': R['CLEAR']['MOTP'], 'sMOTA': R['CLEAR']['sMOTA'], 'MOTAL': R['CLEAR']['MOTAL'],
                   'CLR_TP': R['CLEAR']['CLR_TP'], 'CLR_FN': R['CLEAR']['CLR_FN'], 'CLR_FP': R['CLEAR']['CLR_FP'],
                   'IDSW': R['CLEAR']['IDSW'], 'MT': R['CLEAR']['MT'], 'PT': R['CLEAR']['PT'], 'ML': R['CLEAR']['ML'],
                   'Frag': R['CLEAR']['Frag'], 'CLR_Frames': R['CLEAR']['CLR_Frames'], 'MLR': R['CLEAR']['MLR'], 'FP_per_frame': R['CLEAR']['FP_per_frame'],
                   'IDF1': R['Identity']['IDF1'], 'IDTP': R['Identity']['IDTP'], 'IDFN': R['Identity']['IDFN'], 'IDFP': R['Identity']['IDFP']}
            m = mine[cls][seq]
            for k, v in ref.items():
                if float(v) != m[k]:
                    bad += 1
                    if bad < 15: print(f'seed {seed} {cls} {seq} {k}: trackeval {float(v)!r} mine {m[k]!r}')
    return bad

if __name__ == '__main__':
    subprocess.run(['mpicc', '-std=c11', '-O2', '-D_DEFAULT_SOURCE', '-I', REPO, os.path.join(HERE, 'te_drv.c'),
                    os.path.join(REPO, 'build/libpcan.a'), '-lm', '-o', DRV], check=True)
    tot = 0
    for seed in range(int(sys.argv[2]), int(sys.argv[3])):
        b = main(seed, 3)
        tot += b
    print('total mismatches', tot)
