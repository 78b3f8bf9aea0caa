// datasets — listing a job's videos and reading their ground truth, for every `dataset.format`.
//
//     shard_dataset_params p = shard_dataset_default_params();
//     p.format = SHARD_FMT_KITTI_MOTS;
//     p.root = "/data/kitti-mots";            // holds image_02/<seq>/
//     p.split = "val";                        // seqmap split (optional)
//     shard_dataset *ds = NULL;
//     if (shard_dataset_init(&p, &ds) != RT_OK) die(rt_error());
//     for (size_t i = 0; i < ds->n_videos; i++) {
//         if (!ds->videos[i].has_gt) continue;
//         shard_gt *gt = NULL;
//         if (shard_gt_load(ds, i, &gt) != RT_OK) die(rt_error());  // one video at a time
//         for (int64_t f = 0; f < gt->n_frames; f++)
//             for (size_t k = 0; k < gt->frames[f].n_objects; k++) use(&gt->frames[f].objects[k]);
//         shard_gt_free(&gt);
//     }
//     shard_dataset_free(&ds);
//
// A dataset is a list of videos sorted by id (strcmp order): id, source (a video file or a folder
// of frames), frame count when known, has-gt flag. Ground truth is loaded per video on demand
// (the merge stage evaluates one video at a time; nothing keeps all of it in memory). In memory,
// frames are always 0-based indices into the video's frames, whatever the file convention (MOTS20
// files are 1-based; BDD100K uses frameIndex; YouTube-VIS maps file_names to the frame folder).
//
// Layouts (root = dataset.root, gt = dataset.gt, defaulting to root; split = dataset.split):
//   videos        root/*.{mp4,mkv,avi,webm,mov,mpg,mpeg,m4v} (case-insensitive), id = file name
//                 without extension; no ground truth; frames unknown (-1).
//   frames        root/<video>/*.{jpg,jpeg,png}; id = folder name; frames are counted (a folder
//                 without images is listed with 0 frames: the decoder then fails that video).
//   kitti-mots    frames in root/image_02/<seq>/. Annotations gt/instances_txt/<seq>.txt (KITTI
//                 MOTS) or gt/label_02/<seq>.txt (TrackEval). With a split, the seqmap
//                 gt/evaluate_mots.seqmap.<split> (or gt/<split>.seqmap) lists the sequences and
//                 their lengths (last frame + 1); every listed sequence must have its file.
//                 Without a split: every frame folder and every annotation file. Lines
//                 `frame obj_id class_id h w rle`, frames 0-based, class_id = obj_id / 1000.
//   mots20        root/<seq>/img1/ and gt/<seq>/gt/gt.txt, frames **1-based** in the file; length
//                 from <seq>/seqinfo.ini seqLength, else the image count. With a split, the
//                 seqmap gt/seqmaps/MOTS-<split>.txt or MOTS20-<split>.txt (also one level up, as
//                 in TrackEval's data/gt/mot_challenge/) lists the sequences (header line `name`).
//   bdd100k-mots  root/images/seg_track_20/<split>/<video>/*.jpg (split required). Annotations:
//                 a Scalabel JSON per video (gt/<video>.json, default
//                 root/labels/seg_track_20/rles/<split>/), or one Scalabel JSON file for all
//                 videos (gt is a file; it is parsed whole on every load: for large sets split it
//                 with tools/split_annotations.py), or bitmask PNG folders (gt/<video>/<frame>.png, default
//                 root/labels/seg_track_20/bitmasks/<split>/; R category 1..8, G attribute bits
//                 truncated<<3|occluded<<2|crowd<<1|ignored, instance id (B<<8)|A, 0 background).
//                 A bitmask PNG is tied to the image of the same stem.
//   youtube-vis   root/JPEGImages/<video>/ and the annotation JSON gt (default
//                 root/instances.json) with videos[].file_names "<video>/<frame>"; segmentations
//                 are compressed or uncompressed COCO RLE or null. The JSON is parsed whole on
//                 every load: for large sets split it once into gt/<video>.json files
//                 (tools/split_annotations.py) and give that folder as gt. Frames not listed in
//                 file_names have `annotated == false`. A single JSON without `annotations`
//                 (valid/test splits) lists no ground truth.
//   synth         what `pcan synth` writes: gt/classes.txt (class names, one per line; class id
//                 k is line k, 1-based; at most 9 as 10 marks ignore regions),
//                 gt/instances_txt/<video>.txt (KITTI MOTS lines, class ids 1..K, 10 = ignore,
//                 obj_id = class*1000 + instance, frames 0-based) and each video's source as
//                 either root/videos/<video>.<video ext> or root/frames/<video>/ (not both).
// include/exclude globs (fnmatch) select video ids: a video is kept when it matches some include
// glob (or there are none) and no exclude glob.
//
// Classes. `classes` is the job's class list (the model's class names, in order); object class
// indices refer to it. When it is empty, the format's own list is used: kitti-mots {car,
// pedestrian}, mots20 {pedestrian}, bdd100k-mots the 8 classes {pedestrian, rider, car, truck,
// bus, train, motorcycle, bicycle}, youtube-vis the JSON categories in id order, synth
// classes.txt. Each ground-truth class goes through the first matching rule of:
//   1. the job's `class_map`: key = class id (decimal text) or name (KITTI/MOTS20 1 = car,
//      2 = pedestrian; synth the classes.txt names; BDD category names; YouTube-VIS category id
//      or name); value = a name of the class list, `ignore` (the objects become class-less
//      ignore regions) or `drop`. A value that is none of these is RT_ERR_CONFIG.
//   2. the format's default map (an entry whose class the list lacks drops its objects):
//      kitti-mots 1 -> car, 2 -> pedestrian; mots20 2 -> pedestrian; synth k -> its name;
//      youtube-vis each category -> the class of the same name; bdd100k-mots each of the 8 ->
//      itself, aliases bike->bicycle, caravan->car, motor->motorcycle, person->pedestrian,
//      van->car, and distractors 'other person'->pedestrian, 'other vehicle'->car,
//      trailer->truck as ignore regions of that class (bdd100k_to_scalabel).
//   3. no rule: as the protocol does (METRICS.md). kitti-mots, mots20, synth and youtube-vis drop
//      the objects (evaluation is per class, so other classes never see them); bdd100k-mots
//      rejects the file with "unknown category", as scalabel does.
// Ignore regions: KITTI/MOTS20/synth class 10 (always; class_index -1); BDD labels with the crowd
// or ignored attribute (class kept); YouTube-VIS iscrowd (ignore and crowd set).
//
// Errors: RT_ERR_CONFIG for bad params (unknown format, missing split, class map naming an
// unknown class), RT_ERR_IO for missing folders/files, RT_ERR_FORMAT for malformed annotations
// with the file and the place (line number, or JSON path like `[12].labels[3].rle.counts`), and
// RT_ERR_DECODE for bad PNG data. Messages are set with rt_error_set. Nothing here aborts on bad
// input.
//
// Thread safety: a shard_dataset is read-only after init; shard_gt_load may be called from
// several threads on the same dataset. Not collective (no MPI here).
#ifndef PCAN_SHARD_DATASETS_H
#define PCAN_SHARD_DATASETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"
#include "runtime/rle.h"

typedef enum shard_dataset_format {
    SHARD_FMT_VIDEOS,
    SHARD_FMT_FRAMES,
    SHARD_FMT_KITTI_MOTS,
    SHARD_FMT_MOTS20,
    SHARD_FMT_BDD100K_MOTS,
    SHARD_FMT_YOUTUBE_VIS,
    SHARD_FMT_SYNTH,
} shard_dataset_format;

// "videos", "frames", "kitti-mots", "mots20", "bdd100k-mots", "youtube-vis", "synth".
const char *shard_dataset_format_name(shard_dataset_format f);
// RT_ERR_CONFIG (message lists the valid names) when `name` is none of them.
rt_status shard_dataset_format_parse(const char *name, shard_dataset_format *out);

typedef struct shard_class_map_entry {
    const char *gt;    // ground-truth class id (decimal text) or name
    const char *model; // a name in `classes`, or "ignore"
} shard_class_map_entry;

// All pointers are borrowed for the duration of shard_dataset_init (it copies what it keeps).
typedef struct shard_dataset_params {
    shard_dataset_format format;
    const char *root;  // required
    const char *gt;    // NULL: the format's default location (see above)
    const char *split; // NULL: no seqmap (required for bdd100k-mots)
    const char *const *include;
    size_t n_include;
    const char *const *exclude;
    size_t n_exclude;
    const char *const *classes; // the job's class list; n_classes == 0: the format's own list
    size_t n_classes;
    const shard_class_map_entry *class_map; // n_class_map == 0: the format's default map
    size_t n_class_map;
    // false: a sequence whose frames are missing is still listed (source NULL) as long as its
    // annotations exist, for evaluation without the images.
    bool require_sources;
} shard_dataset_params;

// format SHARD_FMT_VIDEOS, everything else empty, require_sources true.
shard_dataset_params shard_dataset_default_params(void);

typedef struct shard_dataset_video {
    char *id;       // unique within the dataset
    char *source;   // video file or frame folder; NULL only when !require_sources and missing
    int64_t frames; // -1 when unknown (video files)
    bool has_gt;
    char *gt_path;  // this video's annotation file or bitmask folder (NULL: none or shared file)
} shard_dataset_video;

typedef struct shard_class_rule shard_class_rule; // resolved class map (private)

typedef struct shard_dataset {
    shard_dataset_format format;
    shard_dataset_video *videos; // sorted by id (strcmp)
    size_t n_videos;
    char **classes; // effective class list
    size_t n_classes;
    // Private to the readers.
    char *gt_file; // shared annotation file (youtube-vis; bdd100k-mots single JSON)
    int gt_kind;   // per-video files, one shared file, or bitmask folders
    shard_class_rule *rules;
    size_t n_rules;
} shard_dataset;

// Scans the dataset described by `params` (directory listings, seqmaps, seqinfo.ini files, the
// YouTube-VIS / single-file Scalabel JSON for which videos have annotations). On success *out
// owns everything; on failure *out is NULL and the message names the file and the reason.
rt_status shard_dataset_init(const shard_dataset_params *params, shard_dataset **out);
void shard_dataset_free(shard_dataset **ds);
// Index of the video with this id, or -1.
int64_t shard_dataset_find(const shard_dataset *ds, const char *id);

typedef struct shard_gt_object {
    int32_t track_id;    // as in the file (KITTI/MOTS20 obj_id, BDD id or instance, YT-VIS ann id)
    int32_t class_index; // index into ds->classes; -1 for class-less ignore regions
    bool ignore;         // an ignore region, not an object to match (see the header comment)
    bool crowd;          // the source marked it crowd (BDD crowd attribute, YouTube-VIS iscrowd)
    rt_rle mask;         // owned by the shard_gt
} shard_gt_object;

typedef struct shard_gt_frame {
    shard_gt_object *objects; // points into shard_gt.objects; in file order
    size_t n_objects;
    bool annotated; // false for frames the annotations do not cover (YouTube-VIS, BDD bitmasks)
} shard_gt_frame;

typedef struct shard_gt {
    int64_t n_frames;      // the video's frame count when known, else last annotated frame + 1
    int32_t height, width; // mask size (0 x 0 when the video has no objects)
    shard_gt_frame *frames; // [n_frames]
    shard_gt_object *objects; // all objects, ordered by frame
    size_t n_objects;
} shard_gt;

// Reads the ground truth of video `index` (which must have has_gt). On success *out owns the
// masks; on failure *out is NULL and the message names the file and the place. Thread-safe.
rt_status shard_gt_load(const shard_dataset *ds, size_t index, shard_gt **out);
void shard_gt_free(shard_gt **gt);

// Natural order of frame file names: digit runs compare as numbers ("f2" < "f10"), the rest
// bytewise; ties broken by strcmp so the order is total.
int shard_natural_cmp(const char *a, const char *b);

// ---- YouTube-VIS results ---------------------------------------------------------------------
//
//     shard_vis_results *r = NULL;
//     if (shard_vis_results_init(ds, "out/vis", &r) != RT_OK) die(rt_error());  // or .../x.json
//     for each video index i of ds with has_gt:
//         shard_vis_video *v = NULL;
//         if (shard_vis_results_load(r, i, &v) != RT_OK) die(rt_error());
//         for (size_t t = 0; t < v->n_tracks; t++) use(&v->tracks[t]);      // file order
//         shard_vis_video_free(&v);
//     shard_vis_results_free(&r);
//
// A YouTube-VIS results file (the challenge's format; what `pcan export --format youtube-vis`
// writes): a JSON list of tracks {"video_id", "category_id", "score", "segmentations": [COCO RLE
// or null per frame]}; a folder means its results.json. `ds` must be a youtube-vis dataset with
// annotations: its JSON gives the meaning of the ids (video_id = videos[].id, whose file_names
// folder is the dataset video; category_id = categories[].id, mapped to a class of ds by the
// same rules as the ground truth). segmentations[k] is frame k of the video (0-based in its
// frame folder; without one, file_names[k]), as the export writes it. Masks are parsed by the
// ground-truth reader's RLE parser.
// Tracks whose video_id is no dataset video with ground truth are counted in n_unmatched and
// left out. Errors (RT_ERR_FORMAT, naming the file and JSON path like `[12].segmentations[3]`):
// not a list, a missing or mistyped key, a category_id the annotations do not list, more
// segmentations than the video has frames, polygons, masks of different sizes in one video;
// RT_ERR_CONFIG when ds is not a youtube-vis dataset with annotations; RT_ERR_IO.
// init parses the whole file once and keeps it; load decodes one video's masks. Thread safety:
// read-only after init (load may run on several threads). Not collective.
typedef struct shard_vis_results shard_vis_results;

typedef struct shard_vis_track {
    int32_t class_index;        // index into ds->classes; -1: its category is mapped to no class
                                // (dropped or an ignore class), so it is not evaluated
    double score;
    const rt_rle *const *masks; // [n_frames]: frame k, NULL where segmentations[k] is null
    size_t n_frames;
} shard_vis_track;

typedef struct shard_vis_video {
    shard_vis_track *tracks; // in file order
    size_t n_tracks;
    int32_t height, width;   // the masks' size (0 x 0 when every segmentation is null)
    rt_rle *store;           // private: the masks
    const rt_rle **ptrs;     // private: the tracks' mask tables
    size_t n_store;
} shard_vis_video;

// Borrows ds for the lifetime of *out.
rt_status shard_vis_results_init(const shard_dataset *ds, const char *path,
                                 shard_vis_results **out);
void shard_vis_results_free(shard_vis_results **r);
// The results file actually read (the folder's results.json), for messages.
const char *shard_vis_results_file(const shard_vis_results *r);
// Number of result tracks for dataset video `index`.
size_t shard_vis_results_count(const shard_vis_results *r, size_t index);
// Tracks whose video_id matches no dataset video with ground truth.
size_t shard_vis_results_unmatched(const shard_vis_results *r);
// Decodes the tracks of dataset video `index` (none: an empty video). *out owns the masks.
rt_status shard_vis_results_load(const shard_vis_results *r, size_t index,
                                 shard_vis_video **out);
void shard_vis_video_free(shard_vis_video **v);

#endif
