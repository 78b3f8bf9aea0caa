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

#include "runtime/core.h"

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

// Where a key's value sits in the job file (1-based), for messages about it after parsing.
typedef struct cmd_job_mark {
    int line, col;
} cmd_job_mark;

typedef struct cmd_export {
    cmd_export_format format;
    char *dir;         // absolute
    double min_score;  // 0
    int min_track_len; // 1
    cmd_strlist classes; // empty = all
    cmd_job_mark dir_at;
} cmd_export;

typedef struct cmd_job {
    char *path; // the job file, absolute
    char *dir;  // its folder
    char *text; // the file's text, stored in every archive

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
            int memo_tracklet_frames, memo_backdrop_frames;                        // -1 = weights
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

const char *cmd_dataset_format_name(cmd_dataset_format f);
const char *cmd_export_format_name(cmd_export_format f);
const char *cmd_metrics_protocol_name(cmd_metrics_protocol p);

#endif
