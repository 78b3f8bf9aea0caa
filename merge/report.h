// report — the metric tables of an evaluation (merge_eval_summary) as `pcan eval` prints them,
// as the report JSON, and as plain rows for the archive's /metrics. Shared by `pcan eval` and
// the merge stage of `pcan run` / `pcan merge`, so the three always agree.
//
//     merge_report_table t;
//     merge_report_table_make(summary, &t);     // rows: classes (+ groups), then the mean rows
//     merge_report_print(stdout, &t, summary);  // TrackEval's / scalabel's / YTVOSeval's layout
//     merge_report_write_json("out/run.report.json", &t, summary);   // atomic
//
// Rows. trackeval: one per class (COMBINED over the videos), then "cls_comb_cls_av" (TrackEval's
// class mean, the mean row: classes without any data count, as TrackEval's Evaluator calls
// combine_classes_class_averaged) and "cls_comb_det_av" (counts pooled over classes). bdd100k:
// the classes, the super-categories, "AVERAGE" (the m-metrics, the mean row) and "OVERALL".
// youtube-vis: one row "all" with YTVOSeval's 12 stats (AP, AP50, ... ARl; -1 when undefined).
// Columns are the protocol's fields (merge_te_fields / merge_bdd_fields / the VIS stats) under
// the reference tools' names; values are doubles exactly as merge_field_value gives them
// (integer fields hold integers).
//
// Printing. trackeval (TrackEval's _base_metric.print_table): for every class, one table per
// metric (HOTA, CLEAR, Identity, Count): a blank line, the title "HOTA: pcan-<class>" and the
// metric's summary fields, the sequence rows (merge_report_print_sequences only) and the COMBINED
// row; '%-35s' then '%-10s' cells; floats as 100·x in Python's '{:1.5g}', integers plain.
// TrackEval's names are kept (for masks MOTA is MOTSA, MOTP MOTSP, sMOTA sMOTSA; a note line
// says so). The class combinations follow only when s->combine_classes (TrackEval's KittiMOTS
// and MOTSChallenge report classes separately). bdd100k: scalabel's Result.table() (a pandas
// to_string of the rows with '{:.1f}' floats, NaN as ' - ', dashed lines after the header, the
// classes and the super-categories). youtube-vis: YTVOSeval.summarize's twelve lines. Then one
// line of video counts.
//
// JSON: {"protocol": P, "rows": {row: {field: value, ...}, ...}, ["summary": {...},] "videos": n,
// "missing": n, "no_gt": n, "masks": n}; trackeval rows add the per-α arrays under TrackEval's
// detailed-CSV names (HOTA___5 ... HOTA___95, AssA___5, HOTA_TP___5, ...); bdd100k's "summary" is scalabel's summary() (mMOTA,
// mMOTP, mIDF1 from AVERAGE; MOTA ... FM from OVERALL). Numbers with %.17g (they read back as
// the same doubles), NaN and infinities as null.
//
// TrackEval's <class>_summary.txt and <class>_detailed.csv files: merge_report_write_summaries,
// merge_report_write_detailed.
//
// Thread safety: plain functions of their arguments. Not collective. Errors: the writers return
// RT_ERR_IO naming the path (the file is then not created).
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

// "trackeval", "bdd100k" or "youtube-vis".
const char *merge_protocol_name(merge_protocol p);
// The protocol's columns: merge_te_fields, merge_bdd_fields, or the 12 VIS stats (name and
// mots_name "AP", "AP50", ... "ARl"). Static.
const merge_field *merge_report_fields(merge_protocol p, size_t *n);
void merge_report_table_make(const merge_eval_summary *s, merge_report_table *t);
// The tables in the reference tools' layout (above), then one line of video counts.
void merge_report_print(FILE *f, const merge_report_table *t, const merge_eval_summary *s);

// TrackEval's tables with sequence rows (as TrackEval prints them by default): seqs[i] is the
// result of the video named names[i], in the order to print (TrackEval sorts by name). Other
// protocols print as merge_report_print.
void merge_report_print_sequences(FILE *f, const merge_report_table *t,
                                  const merge_eval_summary *s, const char *const *names,
                                  const merge_video_result *seqs, size_t n_seqs);

// Writes the JSON above atomically (temp file, fsync, rename).
rt_status merge_report_write_json(const char *path, const merge_report_table *t,
                                  const merge_eval_summary *s);

// trackeval: TrackEval's <dir>/<row>_summary.txt for every row printed (utils.
// write_summary_results: a space-separated header of the fields in TrackEval's default order and
// a line of the strings the table prints, csv's "\r\n" line ends); atomic. Nothing for the other
// protocols. The folder must exist. RT_ERR_IO.
rt_status merge_report_write_summaries(const char *dir, const merge_report_table *t,
                                       const merge_eval_summary *s);

// trackeval: TrackEval's <dir>/<row>_detailed.csv for every row printed (utils.
// write_detailed_results with the metrics' detailed_results): a header "seq", HOTA's HOTA(0),
// LocA(0), HOTALocA(0), its per-α arrays HOTA___5 ... HOTA___95, HOTA___AUC (the mean), ...
// HOTA_FP___AUC, then CLEAR's, Identity's and Count's fields (276 columns); a row per sequence of
// the classes (seqs[i] named names[i], all the videos evaluated, in strcmp order as TrackEval
// sorts them; none for the class combinations) and the COMBINED row. Values are fractions as
// Python's csv prints them: floats as repr (merge_report_format_repr), ints plain, each value
// typed as TrackEval's code leaves it (an int 0 where it returns early for a sequence without
// results or GT, Frag a float after a full evaluation, ...); csv's "\r\n" line ends. Atomic.
// Nothing for the other protocols. The folder must exist. RT_ERR_IO.
rt_status merge_report_write_detailed(const char *dir, const merge_report_table *t,
                                      const merge_eval_summary *s, const char *const *names,
                                      const merge_video_result *seqs, size_t n_seqs);

// Python's repr(float): the shortest digits that read back as x, positional for
// 1e-4 <= |x| < 1e16 with at least one decimal ("1.0", "0.0001", "1234.5"), else scientific
// ("1e-05", "1.5e+16"); "nan", "inf", "-inf".
void merge_report_format_repr(double x, char *out, size_t cap);

// A CSV field as Python's csv.writer (QUOTE_MINIMAL) writes it: quoted, with doubled quotes,
// when it holds a comma, quote, CR or LF.
void merge_report_csv_field(FILE *f, const char *s);

// TrackEval's cell for a float: 100·x as Python's '{:1.5g}' ("nan", "inf", "-inf" as Python
// spells them).
void merge_report_format_g5(double x, char *out, size_t cap);

#endif
