// The shared metric tables, printers and JSON / summary writers (see report.h).
#include "merge/report.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "runtime/fsutil.h"

const char *merge_protocol_name(merge_protocol p) {
    return p == MERGE_PROTOCOL_BDD100K       ? "bdd100k"
           : p == MERGE_PROTOCOL_YOUTUBE_VIS ? "youtube-vis"
                                             : "trackeval";
}

// The VIS stats as fields of merge_vis_stats (names from merge_vis_stat_name's table).
#define VF(i, name) {name, name, offsetof(merge_vis_stats, v) + (i) * sizeof(double), 'f'}
static const merge_field vis_fields[MERGE_VIS_NSTATS] = {
    VF(0, "AP"),   VF(1, "AP50"),  VF(2, "AP75"),   VF(3, "APs"),  VF(4, "APm"),  VF(5, "APl"),
    VF(6, "AR1"),  VF(7, "AR10"),  VF(8, "AR100"),  VF(9, "ARs"),  VF(10, "ARm"), VF(11, "ARl"),
};
#undef VF

const merge_field *merge_report_fields(merge_protocol p, size_t *n) {
    if (p != MERGE_PROTOCOL_YOUTUBE_VIS)
        return p == MERGE_PROTOCOL_BDD100K ? merge_bdd_fields(n) : merge_te_fields(n);
    *n = MERGE_VIS_NSTATS;
    return vis_fields;
}

static void fill_row(merge_report_table *t, size_t r, const char *name, const void *row) {
    snprintf(t->row_name[r], MERGE_NAME_MAX, "%s", name);
    for (size_t i = 0; i < t->n_fields; i++) t->value[r][i] = merge_field_value(&t->fields[i], row);
}

void merge_report_table_make(const merge_eval_summary *s, merge_report_table *t) {
    memset(t, 0, sizeof *t);
    const merge_totals *tot = &s->totals;
    const merge_metrics_params *mp = &tot->params;
    size_t nc = mp->n_classes;
    t->protocol = s->protocol;
    t->fields = merge_report_fields(s->protocol, &t->n_fields);
    RT_ASSERT(t->n_fields <= MERGE_REPORT_MAX_FIELDS);
    if (s->protocol == MERGE_PROTOCOL_YOUTUBE_VIS) {
        fill_row(t, 0, "all", &s->vis);
        t->n_rows = 1;
        t->mean_row = 0;
    } else if (s->protocol == MERGE_PROTOCOL_TRACKEVAL) {
        merge_te_row rows[MERGE_MAX_CLASSES + 2];
        for (size_t c = 0; c < nc; c++) merge_totals_te_row(tot, c, &rows[c]);
        // The Evaluator calls combine_classes_class_averaged without ignore_empty_classes.
        merge_te_class_average(rows, nc, false, &rows[nc]);
        merge_totals_te_det_average(tot, &rows[nc + 1]);
        for (size_t c = 0; c < nc + 2; c++)
            fill_row(t, c, c < nc ? mp->class_name[c] : c == nc ? "cls_comb_cls_av"
                                                                 : "cls_comb_det_av", &rows[c]);
        t->n_rows = nc + 2;
        t->mean_row = nc;
    } else {
        size_t nr = nc + mp->n_groups + 2;
        merge_bdd_row rows[MERGE_REPORT_MAX_ROWS];
        merge_totals_bdd_rows(tot, rows);
        for (size_t r = 0; r < nr; r++) {
            const char *name = r < nc                  ? mp->class_name[r]
                               : r < nc + mp->n_groups ? mp->group_name[r - nc]
                               : r == nr - 2           ? "AVERAGE"
                                                       : "OVERALL";
            fill_row(t, r, name, &rows[r]);
        }
        t->n_rows = nr;
        t->mean_row = nr - 2;
    }
}

// ---- TrackEval ---------------------------------------------------------------------------------

// TrackEval's metric families and their summary_fields, in print order.
typedef struct te_metric {
    const char *name;
    const char *fields[18];
} te_metric;

static const te_metric te_metrics[] = {
    {"HOTA", {"HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA",
              "HOTA(0)", "LocA(0)", "HOTALocA(0)", NULL}},
    {"CLEAR", {"MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR", "sMOTA", "CLR_TP",
               "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag", NULL}},
    {"Identity", {"IDF1", "IDR", "IDP", "IDTP", "IDFN", "IDFP", NULL}},
    {"Count", {"Dets", "GT_Dets", "IDs", "GT_IDs", NULL}},
};

// utils.write_summary_results' default_order.
static const char *const summary_order[] = {
    "HOTA",   "DetA",   "AssA",   "DetRe",  "DetPr", "AssRe",   "AssPr", "LocA",
    "OWTA",   "HOTA(0)", "LocA(0)", "HOTALocA(0)", "MOTA", "MOTP", "MODA", "CLR_Re",
    "CLR_Pr", "MTR",    "PTR",    "MLR",    "CLR_TP", "CLR_FN", "CLR_FP", "IDSW",
    "MT",     "PT",     "ML",     "Frag",   "sMOTA", "IDF1",    "IDR",   "IDP",
    "IDTP",   "IDFN",   "IDFP",   "Dets",   "GT_Dets", "IDs",   "GT_IDs"};

void merge_report_format_g5(double x, char *out, size_t cap) {
    if (isnan(x)) snprintf(out, cap, "nan");
    else if (isinf(x)) snprintf(out, cap, "%s", x > 0 ? "inf" : "-inf");
    else snprintf(out, cap, "%.5g", 100.0 * x);
}

static size_t field_index(const merge_report_table *t, const char *name) {
    for (size_t i = 0; i < t->n_fields; i++)
        if (!strcmp(t->fields[i].name, name)) return i;
    RT_ASSERT(!"unknown TrackEval field");
    return 0;
}

// One cell as TrackEval's _summary_row formats it.
static void te_cell(const merge_report_table *t, const double *values, const char *field,
                    char *out, size_t cap) {
    size_t i = field_index(t, field);
    if (t->fields[i].type == 'i') snprintf(out, cap, "%lld", (long long)values[i]);
    else merge_report_format_g5(values[i], out, cap);
}

static void te_print_row(FILE *f, const merge_report_table *t, const te_metric *m,
                         const char *name, const double *values) {
    char cell[64];
    fprintf(f, "%-35s", name);
    for (size_t i = 0; m->fields[i]; i++) {
        te_cell(t, values, m->fields[i], cell, sizeof cell);
        fprintf(f, "%-10s", cell);
    }
    fputc('\n', f);
}

static bool te_row_printed(const merge_report_table *t, const merge_eval_summary *s, size_t r) {
    return s->combine_classes || r < s->totals.params.n_classes || r >= t->n_rows;
}

static void te_print(FILE *f, const merge_report_table *t, const merge_eval_summary *s,
                     const char *const *names, const merge_video_result *seqs, size_t n_seqs) {
    size_t nc = s->totals.params.n_classes;
    double v[MERGE_REPORT_MAX_FIELDS];
    for (size_t r = 0; r < t->n_rows; r++) {
        if (!te_row_printed(t, s, r)) continue;
        for (size_t m = 0; m < RT_COUNTOF(te_metrics); m++) {
            char title[128];
            snprintf(title, sizeof title, "%s: pcan-%s", te_metrics[m].name, t->row_name[r]);
            fprintf(f, "\n%-35s", title);
            for (size_t i = 0; te_metrics[m].fields[i]; i++)
                fprintf(f, "%-10s", te_metrics[m].fields[i]);
            fputc('\n', f);
            // Combined classes have no per-sequence rows in TrackEval.
            for (size_t q = 0; r < nc && q < n_seqs; q++) {
                merge_te_row row;
                merge_video_te_row(&seqs[q], r, &row);
                for (size_t i = 0; i < t->n_fields; i++)
                    v[i] = merge_field_value(&t->fields[i], &row);
                te_print_row(f, t, &te_metrics[m], names[q], v);
            }
            te_print_row(f, t, &te_metrics[m], "COMBINED", t->value[r]);
        }
    }
    fprintf(f, "\n(masks: MOTA is MOTSA, MOTP is MOTSP, MODA is MODSA, sMOTA is sMOTSA)\n");
}

rt_status merge_report_write_summaries(const char *dir, const merge_report_table *t,
                                       const merge_eval_summary *s) {
    if (t->protocol != MERGE_PROTOCOL_TRACKEVAL) return RT_OK;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (!te_row_printed(t, s, r)) continue;
        char path[4096], cell[64];
        snprintf(path, sizeof path, "%s/%s_summary.txt", dir, t->row_name[r]);
        rt_atomic_file af;
        rt_status st = rt_atomic_open(&af, path);
        if (st != RT_OK) return st;
        for (size_t i = 0; i < RT_COUNTOF(summary_order); i++)
            fprintf(af.f, "%s%s", i ? " " : "", summary_order[i]);
        fputs("\r\n", af.f);
        for (size_t i = 0; i < RT_COUNTOF(summary_order); i++) {
            te_cell(t, t->value[r], summary_order[i], cell, sizeof cell);
            fprintf(af.f, "%s%s", i ? " " : "", cell);
        }
        fputs("\r\n", af.f);
        if (ferror(af.f)) {
            rt_atomic_abort(&af);
            return rt_error_set(RT_ERR_IO, "%s: write failed", path);
        }
        if ((st = rt_atomic_commit(&af)) != RT_OK) return st;
    }
    return RT_OK;
}

// ---- scalabel (pandas DataFrame.to_string) and YTVOSeval ---------------------------------------

// A cell as pandas formats it (DataFrame.to_string with float_format): floats through the
// format alone ("50.0", "-inf"; NaN as "NaN", which scalabel replaces by " - "), integers with
// '{: d}' (a space in place of the sign).
static void bdd_cell(const merge_report_table *t, size_t r, size_t c, char *out, size_t cap) {
    double x = t->value[r][c];
    if (t->fields[c].type == 'i') snprintf(out, cap, "%s%lld", x < 0 ? "" : " ", (long long)x);
    else if (isnan(x)) snprintf(out, cap, " - ");
    else if (isinf(x)) snprintf(out, cap, "%s", x > 0 ? "inf" : "-inf");
    else snprintf(out, cap, "%.1f", x);
}

// scalabel's Result.table(): DataFrame.to_string (index left-justified; every column
// right-justified to its widest cell or its header, which pandas writes as " <name>" for numeric
// columns; one space between columns), dashed lines after the header, the classes and the
// super-categories.
static void bdd_print(FILE *f, const merge_report_table *t, const merge_eval_summary *s) {
    size_t iw = 0, w[MERGE_REPORT_MAX_FIELDS];
    char cell[64];
    for (size_t r = 0; r < t->n_rows; r++) iw = RT_MAX(iw, strlen(t->row_name[r]));
    size_t line = iw;
    for (size_t c = 0; c < t->n_fields; c++) {
        w[c] = 1 + strlen(t->fields[c].name);
        for (size_t r = 0; r < t->n_rows; r++) {
            bdd_cell(t, r, c, cell, sizeof cell);
            w[c] = RT_MAX(w[c], strlen(cell));
        }
        line += 1 + w[c];
    }
    size_t nc = s->totals.params.n_classes, ng = s->totals.params.n_groups;
    fputs("\n", f);
    fprintf(f, "%-*s", (int)iw, "");
    for (size_t c = 0; c < t->n_fields; c++) fprintf(f, " %*s", (int)w[c], t->fields[c].name);
    fputc('\n', f);
    for (size_t r = 0; r < t->n_rows; r++) {
        if (r == 0 || r == nc || r == nc + ng) {
            for (size_t k = 0; k < line; k++) fputc('-', f);
            fputc('\n', f);
        }
        fprintf(f, "%-*s", (int)iw, t->row_name[r]);
        for (size_t c = 0; c < t->n_fields; c++) {
            bdd_cell(t, r, c, cell, sizeof cell);
            fprintf(f, " %*s", (int)w[c], cell);
        }
        fputc('\n', f);
    }
}

static void vis_print(FILE *f, const merge_report_table *t) {
    // YTVOSeval.summarize's _summarizeDets: (AP?, IoU, area, maxDets) per stat.
    static const struct {
        int ap;
        const char *iou, *area;
        int max_dets;
    } lines[MERGE_VIS_NSTATS] = {
        {1, "0.50:0.95", "all", 100},    {1, "0.50", "all", 100},
        {1, "0.75", "all", 100},         {1, "0.50:0.95", "small", 100},
        {1, "0.50:0.95", "medium", 100}, {1, "0.50:0.95", "large", 100},
        {0, "0.50:0.95", "all", 1},      {0, "0.50:0.95", "all", 10},
        {0, "0.50:0.95", "all", 100},    {0, "0.50:0.95", "small", 100},
        {0, "0.50:0.95", "medium", 100}, {0, "0.50:0.95", "large", 100},
    };
    for (int i = 0; i < MERGE_VIS_NSTATS; i++)
        fprintf(f, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                lines[i].ap ? "Average Precision" : "Average Recall", lines[i].ap ? "(AP)" : "(AR)",
                lines[i].iou, lines[i].area, lines[i].max_dets, t->value[0][i]);
}

void merge_report_print_sequences(FILE *f, const merge_report_table *t,
                                  const merge_eval_summary *s, const char *const *names,
                                  const merge_video_result *seqs, size_t n_seqs) {
    if (t->protocol == MERGE_PROTOCOL_TRACKEVAL) te_print(f, t, s, names, seqs, n_seqs);
    else if (t->protocol == MERGE_PROTOCOL_BDD100K) bdd_print(f, t, s);
    else vis_print(f, t);
    fprintf(f, "videos %zu, missing from the archive %zu, archive videos without ground truth %zu, "
            "masks %llu\n", s->n_videos, s->n_missing, s->n_no_gt, (unsigned long long)s->n_masks);
}

void merge_report_print(FILE *f, const merge_report_table *t, const merge_eval_summary *s) {
    merge_report_print_sequences(f, t, s, NULL, NULL, 0);
}

// ---- JSON -------------------------------------------------------------------------------------

// TrackEval row r of the table (classes, cls_comb_cls_av, cls_comb_det_av) with its α arrays.
static void te_full_row(const merge_eval_summary *s, size_t r, merge_te_row *row) {
    const merge_totals *tot = &s->totals;
    size_t nc = tot->params.n_classes;
    if (r < nc) {
        merge_totals_te_row(tot, r, row);
    } else if (r == nc) {
        merge_te_row rows[MERGE_MAX_CLASSES];
        for (size_t c = 0; c < nc; c++) merge_totals_te_row(tot, c, &rows[c]);
        merge_te_class_average(rows, nc, false, row);
    } else {
        merge_totals_te_det_average(tot, row);
    }
}

static void json_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.17g", x);
    else fputs("null", f);
}

// The per-α arrays under TrackEval's detailed-CSV names (<field>___<int(100·α)>).
static void json_te_alphas(FILE *f, const merge_te_row *r) {
    static const struct {
        const char *name;
        size_t off;
        int is_int;
    } arr[] = {
        {"HOTA", offsetof(merge_te_row, a_HOTA), 0},    {"DetA", offsetof(merge_te_row, a_DetA), 0},
        {"AssA", offsetof(merge_te_row, a_AssA), 0},    {"DetRe", offsetof(merge_te_row, a_DetRe), 0},
        {"DetPr", offsetof(merge_te_row, a_DetPr), 0},  {"AssRe", offsetof(merge_te_row, a_AssRe), 0},
        {"AssPr", offsetof(merge_te_row, a_AssPr), 0},  {"LocA", offsetof(merge_te_row, a_LocA), 0},
        {"OWTA", offsetof(merge_te_row, a_OWTA), 0},    {"HOTA_TP", offsetof(merge_te_row, HOTA_TP), 1},
        {"HOTA_FN", offsetof(merge_te_row, HOTA_FN), 1}, {"HOTA_FP", offsetof(merge_te_row, HOTA_FP), 1},
    };
    for (size_t k = 0; k < RT_COUNTOF(arr); k++)
        for (size_t a = 0; a < MERGE_HOTA_ALPHAS; a++) {
            const char *p = (const char *)r + arr[k].off;
            double x;
            if (arr[k].is_int) {
                int64_t v;
                memcpy(&v, p + a * sizeof v, sizeof v);
                x = (double)v;
            } else {
                memcpy(&x, p + a * sizeof x, sizeof x);
            }
            fprintf(f, ", \"%s___%d\": ", arr[k].name, (int)(100 * merge_hota_alpha(a)));
            json_num(f, x);
        }
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

rt_status merge_report_write_json(const char *path, const merge_report_table *t,
                                  const merge_eval_summary *s) {
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path);
    if (st != RT_OK) return st;
    FILE *f = af.f;
    fprintf(f, "{\n  \"protocol\": \"%s\",\n  \"rows\": {\n", merge_protocol_name(t->protocol));
    for (size_t r = 0; r < t->n_rows; r++) {
        fputs("    ", f);
        json_str(f, t->row_name[r]);
        fputs(": {", f);
        for (size_t i = 0; i < t->n_fields; i++) {
            fprintf(f, "%s\"%s\": ", i ? ", " : "", t->fields[i].name);
            json_num(f, t->value[r][i]);
        }
        if (t->protocol == MERGE_PROTOCOL_TRACKEVAL) {
            merge_te_row row;
            te_full_row(s, r, &row);
            json_te_alphas(f, &row);
        }
        fprintf(f, "}%s\n", r + 1 == t->n_rows ? "" : ",");
    }
    fputs("  },\n", f);
    if (t->protocol == MERGE_PROTOCOL_BDD100K && t->n_rows >= 2) {
        // scalabel's Result.summary(): the m-metrics from AVERAGE, the rest from OVERALL.
        size_t avg = t->n_rows - 2, all = t->n_rows - 1;
        fputs("  \"summary\": {", f);
        for (size_t i = 0; i < 3 && i < t->n_fields; i++) {
            fprintf(f, "\"m%s\": ", t->fields[i].name);
            json_num(f, t->value[avg][i]);
            fputs(", ", f);
        }
        for (size_t i = 0; i < t->n_fields; i++) {
            fprintf(f, "%s\"%s\": ", i ? ", " : "", t->fields[i].name);
            json_num(f, t->value[all][i]);
        }
        fputs("},\n", f);
    }
    fprintf(f, "  \"videos\": %zu, \"missing\": %zu, \"no_gt\": %zu, \"masks\": %llu\n}\n",
            s->n_videos, s->n_missing, s->n_no_gt, (unsigned long long)s->n_masks);
    if (ferror(f)) {
        rt_atomic_abort(&af);
        return rt_error_set(RT_ERR_IO, "%s: write failed", path);
    }
    return rt_atomic_commit(&af);
}
