// datasets_internal — helpers shared by the dataset readers (shard/datasets*.c, shard/ds_*.c).
// Not part of the public API: nothing outside those files includes this header.
#ifndef PCAN_SHARD_DATASETS_INTERNAL_H
#define PCAN_SHARD_DATASETS_INTERNAL_H

#include <stdio.h>

#include "shard/datasets.h"

// The longest path or annotation line we build; longer ones are an input error, not a bug.
#define SHARD_PATH_MAX 4096

enum { SHARD_GT_FILES = 0, SHARD_GT_SINGLE = 1, SHARD_GT_BITMASKS = 2 };

// Frame indices at or past this are refused when the video's length is unknown: the per-frame
// arrays are sized by the last frame, so a typo must not allocate gigabytes (2^24 frames is six
// days at 30 fps).
#define SHARD_MAX_FRAMES ((int64_t)1 << 24)

// class_index of a rule whose objects are dropped (not in the class list, or mapped to "drop").
#define SHARD_CLASS_DROP (-2)

struct shard_class_rule {
    char *key;           // gt class id (decimal) or name
    int32_t class_index; // into ds->classes; -1 for class-less ignore regions; SHARD_CLASS_DROP
    bool ignore;         // objects of this class become ignore regions
};

// A growable list of owned strings.
typedef struct shard_strvec {
    char **v;
    size_t n, cap;
} shard_strvec;

rt_status shard_strvec_push(shard_strvec *s, const char *str);
void shard_strvec_free(shard_strvec *s);

// "a/b" in a fresh rt_malloc'd string; NULL with RT_ERR_NOMEM set.
char *shard_path_join(const char *a, const char *b);
bool shard_is_dir(const char *path);
bool shard_is_file(const char *path);

enum { SHARD_LIST_FILES = 1, SHARD_LIST_DIRS = 2 };
// Names in `dir` (no hidden entries) of the given kind, keeping files whose extension is in
// `exts` (case-insensitive, without the dot; NULL-terminated; NULL keeps all), sorted by
// shard_natural_cmp. RT_ERR_IO naming `dir` when it cannot be read.
rt_status shard_list_dir(const char *dir, int kind, const char *const *exts, shard_strvec *out);
// Counts the files of `dir` with one of `exts`; RT_ERR_IO when `dir` cannot be read.
rt_status shard_count_files(const char *dir, const char *const *exts, int64_t *n);
// The image extensions of frame folders: jpg jpeg png.
extern const char *const shard_image_exts[];
// Pointer to the last '.' of the last path component, or to the terminating NUL.
const char *shard_path_ext(const char *name);

// Reads a whole text file into a NUL-terminated rt_malloc'd buffer.
rt_status shard_read_text(const char *path, char **text, size_t *len);

// Width and height of a PNG or JPEG file from its header.
rt_status shard_image_size(const char *path, int32_t *width, int32_t *height);

// The class rule for a ground-truth class given by id text and/or name (either may be NULL).
const shard_class_rule *shard_class_lookup(const shard_dataset *ds, const char *id,
                                           const char *name);

// Collects the objects of one video in any order and turns them into a shard_gt.
typedef enum shard_place_kind {
    SHARD_PLACE_LINE,     // a = line number
    SHARD_PLACE_SCALABEL, // a = frame entry, b = label index
    SHARD_PLACE_YTVIS,    // a = annotation index, b = frame index in segmentations
    SHARD_PLACE_PNG,      // a = frame index (bitmask file name in b_name)
} shard_place_kind;

typedef struct shard_gtb_item {
    int64_t frame;
    int32_t a, b;
    shard_gt_object obj;
} shard_gtb_item;

typedef struct shard_gt_builder {
    const char *file; // for messages
    shard_place_kind kind;
    bool scalabel_object_form; // "frames[i]" instead of "[i]"
    int64_t n_frames;  // known length, or -1
    int frame_base;    // what the file calls frame 0 (1 for MOTS20), for messages
    int64_t frames_seen; // last checked frame + 1 (dropped objects count too)
    int32_t height, width; // expected mask size, 0 = take from the first object
    const char *size_from; // where the expected size came from (an image path), or NULL
    bool *annotated;   // [n_annotated] or NULL (all annotated); frames past the end are not
    size_t n_annotated;
    shard_gtb_item *items;
    size_t n, cap;
} shard_gt_builder;

void shard_gtb_init(shard_gt_builder *b, const char *file, shard_place_kind kind,
                    int64_t n_frames);
// Formats the place of (a, b) in the builder's file ("line 7", "[3].labels[2]", ...).
void shard_gtb_place(const shard_gt_builder *b, int32_t a, int32_t bb, char *buf, size_t cap);
// Checks the frame range and the mask size (the first mask sets the size when none is expected).
rt_status shard_gtb_check(shard_gt_builder *b, int64_t frame, int32_t a, int32_t bb,
                          const rt_rle *mask);
// Checks as above, then takes ownership of o->mask (also on failure).
rt_status shard_gtb_add(shard_gt_builder *b, int64_t frame, int32_t a, int32_t bb,
                        shard_gt_object *o);
// Orders objects by frame, checks duplicate track ids per frame, builds *out. The builder is
// emptied either way; free it with shard_gtb_free.
rt_status shard_gtb_finish(shard_gt_builder *b, shard_gt **out);
void shard_gtb_free(shard_gt_builder *b);
// Marks a frame as covered by the annotations (switches the builder to per-frame flags).
rt_status shard_gtb_mark(shard_gt_builder *b, int64_t frame);

// Expected mask size of a video from its first frame image (frame folders only; video files are
// not opened here). Leaves the builder alone when the source is not a frame folder.
rt_status shard_gtb_expect_image_size(shard_gt_builder *b, const shard_dataset_video *v);

// Format readers.
rt_status shard_gt_read_txt(const shard_dataset *ds, const shard_dataset_video *v,
                            int frame_base, shard_gt **out);
rt_status shard_gt_read_scalabel(const shard_dataset *ds, const shard_dataset_video *v,
                                 shard_gt **out);
rt_status shard_gt_read_ytvis(const shard_dataset *ds, const shard_dataset_video *v,
                              shard_gt **out);
rt_status shard_gt_read_bitmasks(const shard_dataset *ds, const shard_dataset_video *v,
                                 shard_gt **out);

// Listing helpers of the JSON formats: names of the videos a Scalabel file / YouTube-VIS JSON
// annotates (sorted, unique) and, for YouTube-VIS, the category names in id order.
rt_status shard_scalabel_video_names(const char *path, shard_strvec *names);
rt_status shard_ytvis_index(const char *path, shard_strvec *videos, shard_strvec *categories,
                            shard_strvec *category_ids);

// Seqmaps: KITTI (`seq empty first last`, length = last + 1) and MOTChallenge (header `name`).
rt_status shard_seqmap_read_kitti(const char *path, shard_strvec *seqs, int64_t **lengths);
rt_status shard_seqmap_read_mot(const char *path, shard_strvec *seqs);
// seqLength from a MOTChallenge seqinfo.ini; *len = -1 when the key is absent.
rt_status shard_seqinfo_length(const char *path, int64_t *len);
// Class names of a synth classes.txt, one per line.
rt_status shard_read_class_names(const char *path, shard_strvec *names);

#endif
