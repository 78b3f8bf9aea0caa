"""Cross-check pcan's TrackEval files (<class>_summary.txt, <class>_detailed.csv; merge/report.c)
against TrackEval's own on random KITTI-MOTS-style cases, byte for byte.

Not part of `make test` (it needs a TrackEval checkout, MIT licence, not vendored here;
Debian's /usr/bin/python3 with numpy and scipy):

    make -j2 && /usr/bin/python3 tools/metrics_xcheck/xcheck_detailed.py /tmp/TrackEval 0 100

Each seed writes 3 random sequences with xcheck_trackeval.py's generator (empty tracker files and
GT-less sequences included, so TrackEval's early returns and their int zeros occur) and runs
TrackEval with OUTPUT_DETAILED; odd seeds also set should_classes_combine on the dataset, so
cls_comb_cls_av and cls_comb_det_av are written too. detailed_drv writes ours; every file must
be identical.
"""
import sys, os, shutil, subprocess, filecmp, io, contextlib
import numpy as np
np.float = float; np.int = int; np.bool = bool
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE); sys.path.insert(0, sys.argv[1])
import trackeval
from xcheck_trackeval import gen_seq

DRV = '/tmp/pcan_detailed_drv'
ROOT = '/tmp/pcan_xcheck_detailed'


def main(seed, nseq):
    rng = np.random.default_rng(seed)
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(f'{ROOT}/gt/label_02'); os.makedirs(f'{ROOT}/trk/t/data'); os.makedirs(f'{ROOT}/mine')
    info = {}; args = []
    for s in range(nseq):
        T = int(rng.integers(1, 12)); name = f'{s:04d}'
        g, tr = gen_seq(rng, T)
        if rng.random() < 0.15: tr = []
        if rng.random() < 0.15: g = [l for l in g if l.split()[2] == '10']
        open(f'{ROOT}/gt/label_02/{name}.txt', 'w').write('\n'.join(g) + ('\n' if g else ''))
        open(f'{ROOT}/trk/t/data/{name}.txt', 'w').write('\n'.join(tr) + ('\n' if tr else ''))
        info[name] = T; args += [str(T), f'{ROOT}/gt/label_02/{name}.txt', f'{ROOT}/trk/t/data/{name}.txt']
    combine = seed % 2
    ec = trackeval.Evaluator.get_default_eval_config()
    ec.update(USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False, OUTPUT_SUMMARY=True,
              OUTPUT_DETAILED=True, PLOT_CURVES=False, TIME_PROGRESS=False, DISPLAY_LESS_PROGRESS=True)
    dc = trackeval.datasets.KittiMOTS.get_default_dataset_config()
    dc.update(GT_FOLDER=f'{ROOT}/gt', TRACKERS_FOLDER=f'{ROOT}/trk', OUTPUT_FOLDER=f'{ROOT}/ref',
              SEQ_INFO=info, PRINT_CONFIG=False)
    ds = trackeval.datasets.KittiMOTS(dc)
    ds.should_classes_combine = bool(combine)
    with contextlib.redirect_stdout(io.StringIO()):
        trackeval.Evaluator(ec).evaluate([ds], [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(),
                                                trackeval.metrics.Identity()])
    out = subprocess.run([DRV, f'{ROOT}/mine', str(combine)] + args, capture_output=True, text=True)
    if out.returncode:
        print('driver failed', out.stderr); return 1
    ref = sorted(os.listdir(f'{ROOT}/ref/t')); mine = sorted(os.listdir(f'{ROOT}/mine'))
    if ref != mine:
        print(f'seed {seed}: files differ: trackeval {ref} mine {mine}'); return 1
    bad = 0
    for f in ref:
        if not filecmp.cmp(f'{ROOT}/ref/t/{f}', f'{ROOT}/mine/{f}', shallow=False):
            bad += 1
            a = open(f'{ROOT}/ref/t/{f}').read().split('\n'); b = open(f'{ROOT}/mine/{f}').read().split('\n')
            hdr = a[0].split(',')
            for la, lb in zip(a[1:], b[1:]):
                for h, x, y in zip(hdr, la.split(','), lb.split(',')):
                    if x != y: print(f'seed {seed} {f} {la.split(",")[0]} {h}: trackeval {x} mine {y}')
    return bad


if __name__ == '__main__':
    subprocess.run(['mpicc', '-std=c11', '-O2', '-D_DEFAULT_SOURCE', '-I', REPO,
                    os.path.join(HERE, 'detailed_drv.c'), os.path.join(REPO, 'build/libpcan.a'),
                    '-lm', '-o', DRV], check=True)
    tot = 0
    for seed in range(int(sys.argv[2]), int(sys.argv[3])):
        tot += main(seed, 3)
    print('files differing', tot)
