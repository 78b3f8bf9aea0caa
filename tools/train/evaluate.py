"""Run the reference (tools/ref VideoTracker) over a `pcan synth --jpeg` split and score it.

    /usr/bin/python3 tools/train/evaluate.py --weights models/pcan-synth-small.h5 \
        --data DIR --out OUTDIR [--no-refine] [--trackeval /path/to/TrackEval]
    /usr/bin/python3 tools/train/evaluate.py --results RESULTS_DIR --data DIR --out OUTDIR \
        --trackeval /path/to/TrackEval       # score e.g. pcan run's kitti-mots export
    /usr/bin/python3 tools/train/evaluate.py --archive RUN.h5 --data DIR --out OUTDIR \
        --trackeval /path/to/TrackEval       # score the C engine's rows (pcan run archive)

Writes OUTDIR/data/<video>.txt (KITTI-MOTS: frame id class_id h w rle; masks de-overlapped as
pcan does: painted in ascending score order, a higher score wins the pixel, ties: the later
one), then, with --trackeval (a TrackEval checkout, MIT licence, not vendored), scores them with
TrackEval's KittiMOTS dataset and HOTA/CLEAR/Identity metrics. KittiMOTS knows the classes
car and pedestrian only, so each class c is scored on its own: ground truth and results of
class c are written as class 1 ("car") with the ignore regions (class 10), every other class
dropped (classes never interact in KittiMOTS except through ignore regions). Prints per class
and the class mean of HOTA, DetA, AssA, MOTSA (= TrackEval's MOTA on masks), IDF1, and writes
OUTDIR/scores.json. pycocotools is served by the numpy stand-in in tools/metrics_xcheck.

--no-refine: the refine head (instance-level PCAM) is switched off: its output is replaced by
the FCN mask head's logits of the detection's class (tracking, memory and everything else
unchanged), to measure what the prototypes add.
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
sys.path.insert(0, TOOLS)
sys.path.insert(0, HERE)
from ref import load_model, VideoTracker  # noqa: E402
import data as synthdata  # noqa: E402


def deoverlap(masks, scores):
    order = np.argsort(np.asarray(scores), kind='stable')  # ascending: higher score paints last
    owner = np.full(masks.shape[1:], -1, np.int64)
    for i in order:
        owner[masks[i]] = i
    return [owner == i for i in range(len(masks))]


def track_split(weights, data_dir, out, refine=True, mode='video'):
    model = load_model(weights)
    names = [c for c in model.cfg['classes']]
    with open(os.path.join(data_dir, 'classes.txt')) as f:
        ds_names = [ln.strip() for ln in f if ln.strip()]
    class_id = [ds_names.index(n) + 1 for n in names]  # model label -> dataset class id
    rh = model.roi_head.refine_head
    if not refine:
        orig = rh.run

        def run_fcn(feat_a, mask_a, feat_b, mask_b, pos_mu, neg_mu):
            r = orig(feat_a, mask_a, feat_b, mask_b, pos_mu, neg_mu)
            r['refine_pred'] = mask_b
            return r
        rh.run = run_fcn
    vt = VideoTracker(model, prototype_memory=mode)
    os.makedirs(os.path.join(out, 'data'), exist_ok=True)
    vids = sorted(os.listdir(os.path.join(data_dir, 'frames')))
    nframes = {}
    t0 = time.time()
    import cv2
    for vi, v in enumerate(vids):
        if vi:
            vt.begin_video()
        fdir = os.path.join(data_dir, 'frames', v)
        files = sorted(os.listdir(fdir))
        nframes[v] = len(files)
        lines = []
        for t, fn in enumerate(files):
            rgb = cv2.cvtColor(cv2.imread(os.path.join(fdir, fn)), cv2.COLOR_BGR2RGB)
            r = vt.step(rgb)
            if r['ids'].numel() == 0:
                continue
            masks = deoverlap(r['masks'].numpy(), r['scores'].numpy())
            h, w = rgb.shape[:2]
            for i in range(r['ids'].numel()):
                if not masks[i].any():
                    continue
                lines.append('%d %d %d %d %d %s\n' % (t, int(r['ids'][i]),
                                                      class_id[int(r['labels'][i])], h, w,
                                                      synthdata.rle_encode(masks[i])))
        with open(os.path.join(out, 'data', v + '.txt'), 'w') as f:
            f.writelines(lines)
    print('tracked %d videos in %.1f s' % (len(vids), time.time() - t0), flush=True)
    return ds_names, nframes


def archive_results(path, out, ds_names):
    """A pcan archive (merge/archive.h: /results rows with uncompressed column-major RLE counts)
    -> OUTDIR/data/<video>.txt in KITTI-MOTS, masks de-overlapped as above."""
    import h5py
    with h5py.File(path, 'r') as f:
        names = [c.decode() if isinstance(c, bytes) else c for c in f.attrs['classes']]
        vids = f['videos'][:]
        r = {k: f['results'][k][:] for k in ('video', 'frame', 'track_id', 'label', 'score',
                                              'rle_start', 'rle')}
    os.makedirs(os.path.join(out, 'data'), exist_ok=True)
    for vi, v in enumerate(vids):
        h, w = int(v['height']), int(v['width'])
        rows = range(int(v['row_start']), int(v['row_start']) + int(v['row_count']))
        by_frame = {}
        for i in rows:
            by_frame.setdefault(int(r['frame'][i]), []).append(i)
        lines = []
        for t in sorted(by_frame):
            idx = by_frame[t]
            masks = []
            for i in idx:
                counts = r['rle'][r['rle_start'][i]:r['rle_start'][i + 1]]
                flat = np.repeat(np.arange(len(counts)) % 2, counts).astype(bool)
                masks.append(flat.reshape(w, h).T)
            masks = deoverlap(np.stack(masks), r['score'][idx])
            for k, i in enumerate(idx):
                if masks[k].any():
                    lines.append('%d %d %d %d %d %s\n' % (
                        t, int(r['track_id'][i]), ds_names.index(names[int(r['label'][i])]) + 1,
                        h, w, synthdata.rle_encode(masks[k])))
        vid = v['id'].decode() if isinstance(v['id'], bytes) else str(v['id'])
        with open(os.path.join(out, 'data', vid + '.txt'), 'w') as f:
            f.writelines(lines)


def score(trackeval_dir, data_dir, out, ds_names, nframes):
    sys.path.insert(0, os.path.join(TOOLS, 'metrics_xcheck'))  # numpy pycocotools stand-in
    sys.path.insert(0, trackeval_dir)
    np.float, np.int, np.bool = float, int, bool  # TrackEval uses the removed aliases
    import trackeval
    rows = {}
    for ci, cname in enumerate(ds_names, start=1):
        tmp = os.path.join(out, 'te_%s' % cname)
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, 'gt', 'label_02'))
        os.makedirs(os.path.join(tmp, 'trk', 'pcan', 'data'))
        for v in nframes:
            for src, dst, gt in ((os.path.join(data_dir, 'instances_txt', v + '.txt'),
                                  os.path.join(tmp, 'gt', 'label_02', v + '.txt'), True),
                                 (os.path.join(out, 'data', v + '.txt'),
                                  os.path.join(tmp, 'trk', 'pcan', 'data', v + '.txt'), False)):
                keep = []
                for ln in open(src):
                    p = ln.split()
                    if int(p[2]) == ci:
                        p[2] = '1'
                        keep.append(' '.join(p) + '\n')
                    elif gt and int(p[2]) == 10:
                        keep.append(ln)
                open(dst, 'w').writelines(keep)
        ev = trackeval.Evaluator(dict(USE_PARALLEL=False, PRINT_RESULTS=False,
                                      PRINT_CONFIG=False, TIME_PROGRESS=False,
                                      OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False,
                                      PLOT_CURVES=False, PRINT_ONLY_COMBINED=True))
        ds = trackeval.datasets.KittiMOTS(dict(
            GT_FOLDER=os.path.join(tmp, 'gt'), TRACKERS_FOLDER=os.path.join(tmp, 'trk'),
            CLASSES_TO_EVAL=['car'], SEQ_INFO=dict(nframes), PRINT_CONFIG=False))
        mets = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(),
                trackeval.metrics.Identity()]
        res, _ = ev.evaluate([ds], mets)
        c = res['KittiMOTS']['pcan']['COMBINED_SEQ']['car']
        rows[cname] = dict(HOTA=float(np.mean(c['HOTA']['HOTA'])) * 100,
                           DetA=float(np.mean(c['HOTA']['DetA'])) * 100,
                           AssA=float(np.mean(c['HOTA']['AssA'])) * 100,
                           MOTSA=float(c['CLEAR']['MOTA']) * 100,
                           IDF1=float(c['Identity']['IDF1']) * 100,
                           IDSW=int(c['CLEAR']['IDSW']))
        shutil.rmtree(tmp, ignore_errors=True)
    rows['class mean'] = {k: float(np.mean([rows[n][k] for n in ds_names]))
                          for k in ('HOTA', 'DetA', 'AssA', 'MOTSA', 'IDF1')}
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--weights', help='run the reference with these weights')
    ap.add_argument('--archive', help='instead of --weights: score the rows of a pcan archive '
                    '(pcan run output)')
    ap.add_argument('--results', help='instead of --weights: score this folder of KITTI-MOTS '
                    'result files (<video>.txt, e.g. a pcan run kitti-mots export)')
    ap.add_argument('--data', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--no-refine', action='store_true')
    ap.add_argument('--prototype-memory', default='video', choices=['video', 'rank'])
    ap.add_argument('--trackeval', help='TrackEval checkout (scores with TrackEval itself)')
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.results or a.archive:
        with open(os.path.join(a.data, 'classes.txt')) as f:
            ds_names = [ln.strip() for ln in f if ln.strip()]
        nframes = {v: len(os.listdir(os.path.join(a.data, 'frames', v)))
                   for v in sorted(os.listdir(os.path.join(a.data, 'frames')))}
        os.makedirs(os.path.join(a.out, 'data'), exist_ok=True)
        if a.archive:
            archive_results(a.archive, a.out, ds_names)
        for v in nframes if a.results else []:
            src = os.path.join(a.results, v + '.txt')
            lines = open(src).readlines() if os.path.exists(src) else []
            open(os.path.join(a.out, 'data', v + '.txt'), 'w').writelines(lines)
    else:
        ds_names, nframes = track_split(a.weights, a.data, a.out, not a.no_refine,
                                        a.prototype_memory)
    if a.trackeval:
        rows = score(a.trackeval, a.data, a.out, ds_names, nframes)
        print('%-12s %6s %6s %6s %6s %6s' % ('class', 'HOTA', 'DetA', 'AssA', 'MOTSA', 'IDF1'))
        for k, r in rows.items():
            print('%-12s %6.2f %6.2f %6.2f %6.2f %6.2f' % (k, r['HOTA'], r['DetA'], r['AssA'],
                                                          r['MOTSA'], r['IDF1']))
        with open(os.path.join(a.out, 'scores.json'), 'w') as f:
            json.dump(dict(weights=a.weights, results=a.results, archive=a.archive, data=a.data, refine=not a.no_refine, rows=rows),
                      f, indent=1)


if __name__ == '__main__':
    main()
