#!/usr/bin/env python3
"""Split one big annotation JSON into one file per video, for pcan's dataset readers.

pcan loads ground truth one video at a time. A YouTube-VIS annotation file, or a Scalabel
(BDD100K MOTS) file holding every video, would otherwise be parsed whole for every video. Split
it once, then give the output folder as `dataset.gt`:

    tools/split_annotations.py youtube-vis train/instances.json train/gt-per-video
    tools/split_annotations.py scalabel seg_track_val.json labels/seg_track_20/rles/val

youtube-vis: <out>/<video folder>.json = {"videos": [that video], "annotations": [its
annotations], "categories": [all categories]}; the folder is the directory part of
file_names[0], as pcan names YouTube-VIS videos.
scalabel:    <out>/<videoName>.json = the list of that video's frames, in file order.

Only the standard library; each file is written under a temporary name and renamed.
"""
import argparse
import json
import os
import sys


def write_json(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def safe_name(name, what):
    if not name or '/' in name or name in ('.', '..') or name.startswith('.'):
        sys.exit('split_annotations: %s %r cannot be a file name' % (what, name))
    return name


def split_ytvis(data, out):
    if not isinstance(data, dict) or not isinstance(data.get('videos'), list):
        sys.exit('split_annotations: not a YouTube-VIS file (no "videos" list)')
    by_video = {}
    for a in data.get('annotations') or []:
        by_video.setdefault(a.get('video_id'), []).append(a)
    cats = data.get('categories') or []
    seen = set()
    for i, v in enumerate(data['videos']):
        names = v.get('file_names') or []
        if not names or '/' not in names[0]:
            sys.exit('split_annotations: videos[%d]: file_names[0] is not "<video>/<frame>"' % i)
        folder = safe_name(names[0].rsplit('/', 1)[0], 'video folder')
        if folder in seen:
            sys.exit('split_annotations: two videos in the folder %r' % folder)
        seen.add(folder)
        write_json(os.path.join(out, folder + '.json'),
                   {'videos': [v], 'annotations': by_video.get(v.get('id'), []),
                    'categories': cats})
    return len(seen)


def split_scalabel(data, out):
    frames = data.get('frames') if isinstance(data, dict) else data
    if not isinstance(frames, list):
        sys.exit('split_annotations: not a Scalabel file (a list of frames or {"frames": [...]})')
    by_video = {}
    for i, fr in enumerate(frames):
        name = fr.get('videoName') if isinstance(fr, dict) else None
        if not isinstance(name, str):
            sys.exit('split_annotations: frames[%d] has no videoName' % i)
        by_video.setdefault(safe_name(name, 'videoName'), []).append(fr)
    for name, frs in by_video.items():
        write_json(os.path.join(out, name + '.json'), frs)
    return len(by_video)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('format', choices=['youtube-vis', 'scalabel'])
    ap.add_argument('input')
    ap.add_argument('out_dir')
    args = ap.parse_args(argv)
    with open(args.input) as f:
        data = json.load(f)
    os.makedirs(args.out_dir, exist_ok=True)
    split = split_ytvis if args.format == 'youtube-vis' else split_scalabel
    n = split(data, args.out_dir)
    print('split_annotations: %d videos written to %s' % (n, args.out_dir))
    return 0


if __name__ == '__main__':
    sys.exit(main())
