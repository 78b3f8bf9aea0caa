#!/usr/bin/python3
"""Golden exports for tests/test_export.c, derived from tests/data/export/archive.txt alone.

    /usr/bin/python3 tools/export_golden.py        # rewrites tests/data/export/golden/

Written from the format descriptions (METRICS.md §1, merge/export.h) with numpy and plain
string formatting: masks are painted as pixel arrays, RLE is encoded from its definition, JSON
is serialised here. It shares no code with pcan, so the C export is checked against an
independent derivation. Bitmask PNGs are compared by their pixels: the golden holds the raw
RGBA bytes (<frame>.rgba, rows top to bottom) because PNG compression bytes depend on zlib.
"""
import json
import os
import shutil
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, "tests", "data", "export", "archive.txt")
OUT = os.path.join(ROOT, "tests", "data", "export", "golden")
BDD = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]

# name, min_score, min_track_len, classes (None: all)
CONFIGS = [("all", 0.0, 1, None), ("filtered", 0.5, 2, ["car", "pedestrian"])]


def parse(path):
    classes, videos = [], []
    for line in open(path):
        t = line.split("#")[0].split()
        if not t:
            continue
        if t[0] == "classes":
            classes = t[1:]
        elif t[0] == "video":
            videos.append(dict(id=t[1], h=int(t[2]), w=int(t[3]), frames=int(t[4]),
                               ok=t[5] == "ok", rows=[]))
        elif t[0] == "row":
            v = videos[-1]
            m = np.zeros((v["h"], v["w"]), bool)
            for r in t[5:]:
                ys, xs = r.split(",")
                y0, y1 = map(int, ys.split(":"))
                x0, x1 = map(int, xs.split(":"))
                m[y0:y1, x0:x1] = True
            # the archive stores float32 scores; C compares and averages them as doubles
            v["rows"].append(dict(frame=int(t[1]), tid=int(t[2]), label=int(t[3]),
                                  score=float(np.float32(t[4])), mask=m))
    return classes, videos


def rle_counts(m):
    flat = m.flatten(order="F").astype(np.uint8)  # column-major
    counts, cur, run = [], 0, 0
    for px in flat:
        if px != cur:
            counts.append(run)
            cur, run = px, 0
        run += 1
    counts.append(run)
    return counts


def rle_string(counts):
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            ch = x & 0x1F
            x >>= 5  # Python's >> is arithmetic, as the C code's on long
            more = (x != -1) if ch & 0x10 else (x != 0)
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
            if not more:
                break
    return "".join(out)


def jreal(x, prec):
    """A double as jansson prints it with JSON_REAL_PRECISION(prec)."""
    s = "%.*g" % (prec, x)
    if "." not in s and "e" not in s:
        s += ".0"
    if "e" in s:
        mant, exp = s.split("e")
        sign = "-" if exp.startswith("-") else ""
        s = mant + "e" + sign + exp.lstrip("+-").lstrip("0")
    return s


def dump(x, prec):
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return jreal(x, prec)
    if isinstance(x, str):
        return json.dumps(x, ensure_ascii=False)
    if isinstance(x, list):
        return "[" + ",".join(dump(e, prec) for e in x) + "]"
    if isinstance(x, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v, prec) for k, v in x.items()) + "}"
    raise TypeError(x)


def json_list(items, prec):
    return "[" + "".join(("\n" if i == 0 else ",\n") + dump(o, prec)
                         for i, o in enumerate(items)) + "\n]\n"


def kitti_ids(classes):
    if "car" in classes or "pedestrian" in classes:
        ids, nxt = [], 3
        for c in classes:
            if c == "car":
                ids.append(1)
            elif c == "pedestrian":
                ids.append(2)
            else:
                if nxt == 10:
                    nxt += 1
                ids.append(nxt)
                nxt += 1
        return ids
    return [i + 1 for i in range(len(classes))]


def kitti_obj(cls, tid):
    return cls * 1000 + tid if tid < 1000 else cls * 1000 + tid % 1000 + (tid // 1000) * 100000


def deoverlap(v, rows, f):
    """Frame f's rows painted in ascending score order (stable: on a tie the later row, the
    higher track id, paints last); the non-empty remains as (row, mask) in track-id order."""
    fr = [r for r in rows if r["frame"] == f]  # ascending track id, as in the spec
    owner = np.full((v["h"], v["w"]), -1)
    for i in sorted(range(len(fr)), key=lambda i: fr[i]["score"]):
        owner[fr[i]["mask"]] = i
    objs = [(r, owner == i) for i, r in enumerate(fr)]
    return [(r, m) for r, m in objs if m.any()]


def n_frames(v):
    return max([v["frames"]] + [r["frame"] + 1 for r in v["rows"]])


def kept_rows(v, classes, min_score, min_len, keep_classes):
    """The rows that pass the class and score filters and whose track is written in at least
    min_len frames when those rows are de-overlapped."""
    rows = [r for r in v["rows"]
            if (keep_classes is None or classes[r["label"]] in keep_classes)
            and r["score"] >= min_score]
    if min_len <= 1:
        return rows
    length = {}
    for f in range(n_frames(v)):
        for r, _ in deoverlap(v, rows, f):
            length[r["tid"]] = length.get(r["tid"], 0) + 1
    return [r for r in rows if length.get(r["tid"], 0) >= min_len]


def frames_of(v, classes, min_score, min_len, keep_classes):
    """Per frame: the written objects (row, mask) after filters and de-overlap."""
    rows = kept_rows(v, classes, min_score, min_len, keep_classes)
    return [deoverlap(v, rows, f) for f in range(n_frames(v))]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="\n") as f:
        f.write(text)


def main():
    classes, videos = parse(SPEC)
    kid = kitti_ids(classes)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for name, min_score, min_len, keep in CONFIGS:
        base = os.path.join(OUT, name)
        names = [""] * max(kid)
        for i, c in enumerate(classes):
            names[kid[i] - 1] = c
        for fmt in ("kitti-mots", "mots20"):
            write(os.path.join(base, fmt, "classes.txt"),
                  "".join((c or ("ignore" if i == 9 else "unused")) + "\n"
                          for i, c in enumerate(names)))
        vis = []
        for vi, v in enumerate(videos):
            if not v["ok"]:
                continue
            frames = frames_of(v, classes, min_score, min_len, keep)
            h, w = v["h"], v["w"]
            kept = sorted({r["tid"] for r in kept_rows(v, classes, min_score, min_len, keep)})
            inst = {t: t for t in kept}
            if kept and kept[-1] >= 1000 and len(kept) < 1000:
                inst = {t: i + 1 for i, t in enumerate(kept)}
            for fmt, off in (("kitti-mots", 0), ("mots20", 1)):
                lines = []
                for f, objs in enumerate(frames):
                    for r, m in objs:
                        c = kid[r["label"]]
                        lines.append("%d %d %d %d %d %s\n" % (
                            f + off, kitti_obj(c, inst[r["tid"]]), c, h, w, rle_string(rle_counts(m))))
                write(os.path.join(base, fmt, v["id"] + ".txt"), "".join(lines))
            sc = []
            for f, objs in enumerate(frames):
                sc.append({"name": "%s-%07d.jpg" % (v["id"], f + 1), "videoName": v["id"],
                           "frameIndex": f,
                           "labels": [{"id": str(r["tid"]), "category": classes[r["label"]],
                                       "score": r["score"],
                                       "rle": {"counts": rle_string(rle_counts(m)),
                                               "size": [h, w]}} for r, m in objs]})
            write(os.path.join(base, "scalabel", v["id"] + ".json"), json_list(sc, 9))
            renumber = max([r["tid"] for o in frames for r, _ in o] + [0]) > 65535
            assert not renumber
            for f, objs in enumerate(frames):
                img = np.zeros((h, w, 4), np.uint8)
                for r, m in sorted(objs, key=lambda o: o[0]["score"]):
                    img[m] = [BDD.index(classes[r["label"]]) + 1, 0, r["tid"] >> 8,
                              r["tid"] & 255]
                p = os.path.join(base, "bdd-bitmask", v["id"], "%s-%07d.rgba" % (v["id"], f + 1))
                os.makedirs(os.path.dirname(p), exist_ok=True)
                img.tofile(p)
            # youtube-vis: every archive id here is non-numeric -> video_id = position + 1
            tracks = sorted({r["tid"] for o in frames for r, _ in o})
            for t in tracks:
                seg = [None] * len(frames)
                scores, votes = [], [0] * len(classes)
                for f, objs in enumerate(frames):
                    for r, m in objs:
                        if r["tid"] == t:
                            seg[f] = {"size": [h, w], "counts": rle_string(rle_counts(m))}
                            scores.append(r["score"])
                            votes[r["label"]] += 1
                total = 0.0
                for s in scores:  # in frame order, as the C sum
                    total += s
                vis.append({"video_id": vi + 1, "category_id": int(np.argmax(votes)) + 1,
                            "score": total / len(scores), "segmentations": seg})
        write(os.path.join(base, "youtube-vis", "results.json"), json_list(vis, 17))
    print("wrote", OUT)


if __name__ == "__main__":
    sys.exit(main())
