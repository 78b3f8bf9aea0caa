// report — the metric tables of an evaluation (merge_eval_summary) as `pcan eval` prints them,
// as the report JSON, and as plain rows for the archive's /metrics. Shared by `pcan eval` and
// the merge stage of `pcan run` / `pcan merge`, so the three always agree.
//
//     merge_report_table t;
//     merge_report_table_make(summary, &t);     // rows: classes (+ groups), then the mean rows
//     merge_report_print(stdout, &t, summary);  // TrackEval's / scalabel's layout
//     merge_report_write_json("out/run.report.json", &t, summary);   // atomic
//
// Rows. trackeval: one per class (COMBINED over the videos), then "cls_comb_cls_av" (TrackEval's
// class mean, the mean row). bdd100k: the classes, the super-categories, "AVERAGE" (the
// m-metrics, the mean row) and "OVERALL". Columns are the protocol's fields (merge_te_fields /
// merge_bdd_fields) under the reference tools' names; values are doubles exactly as
// merge_field_value gives them (integer fields hold integers).
//
// JSON: {"protocol": P, "rows": {row: {field: value, ...}, ...}, "videos": n, "missing": n,
// "no_gt": n, "masks": n}; numbers with %.17g (so they read back as the same doubles), NaN and
// infinities as null.
//
// Thread safety: plain functions of their arguments. Not collective. Errors: the JSON writer
// returns RT_ERR_IO naming the path (the file is then not created).
#ifndef PCAN_MERGE_REPORT_H
#define PCAN_MERGE_REPORT_H

#include <stdio.h>

#include "merge/evaluate.h"
#include "merge/metrics.h"

#define MERGE_REPORT_MAX_ROWS (MERGE_MAX_CLASSES + MERGE_MAX_GROUPS + 2)
#define MERGE_REPORT_MAX_FIELDS 64

typedef struct merge_report_table {
    merge_protocol protocol;
    size_t n_rows, n_fields;
    const merge_field *fields; // static table of the protocol
    char row_name[MERGE_REPORT_MAX_ROWS][MERGE_NAME_MAX];
    double value[MERGE_REPORT_MAX_ROWS][MERGE_REPORT_MAX_FIELDS];
    size_t mean_row; // index of the class-mean row
} merge_report_table;

// "trackeval" or "bdd100k".
const char *merge_protocol_name(merge_protocol p);
void merge_report_table_make(const merge_eval_summary *s, merge_report_table *t);
// The tables in the reference tools' layout (TrackEval: a header and a COMBINED line per class;
// bdd100k: scalabel's table), then one line of video counts.
void merge_report_print(FILE *f, const merge_report_table *t, const merge_eval_summary *s);
// One sequence's TrackEval lines ("<video>/<class>"), as `pcan eval --per-video` prints them.
void merge_report_print_video(FILE *f, const char *video, const merge_metrics_params *mp,
                              const merge_video_result *r);
// Writes the JSON above atomically (temp file, fsync, rename).
rt_status merge_report_write_json(const char *path, const merge_report_table *t,
                                  const merge_eval_summary *s);

#endif
