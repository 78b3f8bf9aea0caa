// job — the job file (YAML) parsed into one typed struct.
//
//     cmd_job job;
//     if (cmd_job_load("jobs/demo.yaml", &job) != RT_OK) {
//         fprintf(stderr, "pcan: %s\n", rt_error());   // "jobs/demo.yaml:7:5: model.weights: ..."
//         return CMD_EXIT_USAGE;
//     }
//     ...
//     cmd_job_free(&job);
//
// The schema is DESIGN.md's "Job file": every key, its type and default live in one table in
// job.c, and cmd_job_defaults() is the one place defaults are set. Parsing is strict: unknown keys
// (with the nearest valid key suggested), wrong types, out-of-range values, duplicate keys,
// anchors/aliases, tabs, bad UTF-8 and files over CMD_JOB_MAX_BYTES are errors that name
// file:line:column and the key. Relative paths are resolved against the job file's folder.
// Keys whose defaults come from the weights file (model.test.*, model.tracker.*) are NaN (numbers)
// or -1 (integers) until set. cmd_job_validate() then checks the file system: inputs exist,
// outputs are writable.
#ifndef PCAN_CMD_JOB_H
#define PCAN_CMD_JOB_H

#include <stdbool.h>
#include <stdio.h>

#include "merge/metrics.h"
#include "runtime/core.h"
#include "shard/datasets.h"

#define CMD_JOB_MAX_BYTES (1 << 20)
#define CMD_JOB_MAX_DEPTH 16

typedef enum cmd_dataset_format {
    CMD_DATASET_VIDEOS,
    CMD_DATASET_FRAMES,
    CMD_DATASET_KITTI_MOTS,
    CMD_DATASET_MOTS20,
    CMD_DATASET_BDD100K_MOTS,
    CMD_DATASET_YOUTUBE_VIS,
    CMD_DATASET_SYNTH,
} cmd_dataset_format;

typedef enum cmd_prototype_memory {
    CMD_PROTOTYPE_MEMORY_VIDEO, // refine-head buffers reset per video (default, deterministic)
    CMD_PROTOTYPE_MEMORY_RANK,  // the official drift across the videos a rank runs
} cmd_prototype_memory;

typedef enum cmd_export_format {
    CMD_EXPORT_KITTI_MOTS,
    CMD_EXPORT_MOTS20,
    CMD_EXPORT_SCALABEL,
    CMD_EXPORT_BDD_BITMASK,
    CMD_EXPORT_YOUTUBE_VIS,
} cmd_export_format;

typedef enum cmd_metrics_protocol {
    CMD_METRICS_TRACKEVAL,
    CMD_METRICS_BDD100K,
    CMD_METRICS_YOUTUBE_VIS,
} cmd_metrics_protocol;

typedef enum cmd_tristate { CMD_AUTO = -1, CMD_FALSE = 0, CMD_TRUE = 1 } cmd_tristate;

typedef struct cmd_strlist {
    char **items;
    int count;
} cmd_strlist;

// One entry of dataset.classes: ground-truth class (id or name) -> model class name.
typedef struct cmd_class_map_entry {
    char *from;
    char *to;
} cmd_class_map_entry;

// Where a key's value sits (1-based), for messages about it after parsing. `file` 0 is the job
// file; k > 0 is job->sources.items[k - 1], the file a cmd_job_set value came from.
typedef struct cmd_job_mark {
    int line, col;
    int file;
} cmd_job_mark;

typedef struct cmd_export {
    cmd_export_format format;
    char *dir;           // absolute
    double min_score;    // 0
    int min_track_len;   // 1
    cmd_strlist classes; // empty = all
    cmd_job_mark dir_at;
} cmd_export;

typedef struct cmd_job {
    char *path; // the job file, absolute
    char *dir;  // its folder
    char *text; // the file's text as read (cmd_job_set does not change it; see cmd_job_write)
    cmd_strlist sources; // files that cmd_job_set values came from (see cmd_job_mark)

    struct {
        cmd_dataset_format format;
        char *root; // absolute
        char *gt;   // absolute or NULL
        char *split;
        cmd_strlist include, exclude;
        cmd_class_map_entry *classes;
        int n_classes;
        cmd_job_mark root_at, gt_at;
    } dataset;

    struct {
        char *weights; // absolute
        cmd_prototype_memory prototype_memory;
        bool refine_head; // true; false = ablation (FCN masks pasted, runtime/model.h)
        struct {
            double score_thr, nms_iou, mask_thr; // NaN = from the weights
            int max_per_img;                     // -1 = from the weights
        } test;
        struct {
            double init_score_thr, obj_score_thr, match_score_thr, memo_momentum; // NaN = weights
            int memo_tracklet_frames, memo_backdrop_frames;                       // -1 = weights
        } tracker;
        cmd_job_mark weights_at;
    } model;

    struct {
        char *archive; // absolute
        char *spool;   // absolute; default <archive>.spool
        cmd_export *exports;
        int n_exports;
        cmd_job_mark archive_at, spool_at;
    } output;

    struct {
        int threads_per_rank; // 0 = auto
        bool resume;
        int retries;
        long max_videos; // 0 = all
        double progress_every;
    } run;

    struct {
        cmd_tristate enabled; // auto = when ground truth is given
        cmd_metrics_protocol protocol;
        cmd_strlist classes;
    } metrics;
} cmd_job;

// Sets every default (the one place they live); owned strings are NULL.
void cmd_job_defaults(cmd_job *job);

// Parses and validates the schema of the job file at `path` into `job` (which the caller then
// owns and frees with cmd_job_free, also on failure). Does not touch the inputs or outputs.
// RT_ERR_IO when the file cannot be read, RT_ERR_CONFIG for anything in its content; the
// message starts with "path:line:column: key: ".
rt_status cmd_job_load(const char *path, cmd_job *job);

// The same from text in memory; `path` names it in messages and anchors relative paths.
rt_status cmd_job_parse(const char *path, const char *text, size_t len, cmd_job *job);

// Checks the file system: dataset root (and gt) exist, the weights file is a pcan-weights file,
// the archive's folder and the spool's parent are writable. RT_ERR_CONFIG with the key's
// location and the reason.
rt_status cmd_job_validate(const cmd_job *job);

// Prints the resolved job (every key, defaults filled in) as YAML.
void cmd_job_print(const cmd_job *job, FILE *f);

void cmd_job_free(cmd_job *job);

// ---------------------------------------------------------------------------------------------
// Overrides (sweeps): one key at a time, through the same typed checks as the job file.
//
//     cmd_job_where at = {"sweep.yaml", 7, 29};
//     if (cmd_job_set(&job, "model.test.score_thr", "0.7", &at) != RT_OK) ...
//     // "sweep.yaml:7:29: model.test.score_thr: 7 is out of range; expected a number in [0, 1]"
//     cmd_job_write(&job, f);   // the effective job, readable by cmd_job_load

// Where an override's value was written: messages name path:line:col (the value's position),
// and relative paths in the value resolve against path's folder.
typedef struct cmd_job_where {
    const char *path;
    int line, col;
} cmd_job_where;

// Sets the leaf key `key` (dotted: "model.tracker.memo_momentum", "run.threads_per_rank",
// "model.weights", any leaf of dataset/model/output/run/metrics except dataset.classes and
// output.exports) from `value`, YAML text of one value ("0.7", "auto", "[a, b]", "'x y'"),
// with exactly the checks the job file's parser applies to that key. Null values are refused.
// The key's mark (for cmd_job_validate) points at `where`. Setting output.archive does not
// move output.spool. RT_ERR_CONFIG ("path:line:col: key: reason"; unknown keys get the nearest
// valid key suggested), RT_ERR_NOMEM. On failure the job is unchanged except possibly that key.
rt_status cmd_job_set(cmd_job *job, const char *key, const char *value, const cmd_job_where *where);

// Formats the resolved value of leaf `key` (the keys cmd_job_set takes) into buf: numbers in the
// shortest form that reads back exactly, "~" for a value from the weights or unset, "auto" for
// threads_per_rank 0, lists comma-separated. RT_ERR_CONFIG for an unknown key.
rt_status cmd_job_get(const cmd_job *job, const char *key, char *buf, size_t cap);

// Writes the job as YAML that cmd_job_parse reads back into an equal job: every key that is set
// (values from the weights left out), paths absolute, strings double-quoted. RT_ERR_IO when the
// stream fails.
rt_status cmd_job_write(const cmd_job *job, FILE *f);

const char *cmd_dataset_format_name(cmd_dataset_format f);
const char *cmd_export_format_name(cmd_export_format f);
const char *cmd_metrics_protocol_name(cmd_metrics_protocol p);

// ---- The job's dataset and metrics as shard/ and merge/ take them (cmd/job_dataset.c) --------
// One reading for `pcan run`, `pcan merge`, `pcan eval --job` and `pcan sweep report`, so that
// they select and evaluate the same videos and classes.

// dataset.format, root, gt, split, include and exclude (borrowed from job); the rest defaults.
shard_dataset_params cmd_job_dataset_params(const cmd_job *job);

// shard_dataset_init(p) with the job's dataset.classes as the class map, resolved against the
// model's class list `classes` (the weights' or the archive's), which then is the dataset's
// class list. Without dataset.classes, p is used as given (classes empty: the format's own
// list, the metric classes the protocols expect). Errors as shard_dataset_init's; RT_ERR_NOMEM.
rt_status cmd_job_dataset_init(const cmd_job *job, const shard_dataset_params *p,
                               const char *const *classes, size_t n_classes, shard_dataset **out);

// Before any work: every dataset.classes value names a class of `classes` (the model's), or is
// `ignore` or `drop`. RT_ERR_CONFIG "JOB: dataset.classes.KEY: ..." listing the valid names.
rt_status cmd_job_check_classes(const cmd_job *job, const char *const *classes, size_t n_classes);

// Whether the job's dataset can have ground truth: dataset.gt is set or the format is annotated.
bool cmd_job_dataset_has_gt(const cmd_job *job);

// metrics.protocol as merge/ names it.
merge_protocol cmd_job_protocol(const cmd_job *job);

#endif
