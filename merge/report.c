// The shared metric tables, printers and JSON / summary writers (see report.h).
#include "merge/report.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

// TrackEval row r of the table (classes, cls_comb_cls_av, cls_comb_det_av) with its α arrays.
static void te_full_row(const merge_eval_summary *s, size_t r, merge_te_row *row) {
    const merge_totals *tot = &s->totals;
    size_t nc = tot->params.n_classes;
    if (r < nc) {
        merge_totals_te_row(tot, r, row);
    } else if (r == nc) {
        merge_te_row rows[MERGE_MAX_CLASSES];
        for (size_t c = 0; c < nc; c++) merge_totals_te_row(tot, c, &rows[c]);
        // The Evaluator calls combine_classes_class_averaged without ignore_empty_classes.
        merge_te_class_average(rows, nc, false, row);
    } else {
        merge_totals_te_det_average(tot, row);
    }
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
        for (size_t c = 0; c < nc + 2; c++) {
            merge_te_row row;
            te_full_row(s, c, &row);
            fill_row(t, c, c < nc ? mp->class_name[c] : c == nc ? "cls_comb_cls_av"
                                                                 : "cls_comb_det_av", &row);
        }
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

// ---- TrackEval's <class>_detailed.csv ---------------------------------------------------------

void merge_report_format_repr(double x, char *out, size_t cap) {
    if (isnan(x)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(x) || x == 0) {
        snprintf(out, cap, "%s", isinf(x) ? (x > 0 ? "inf" : "-inf") : signbit(x) ? "-0.0" : "0.0");
        return;
    }
    // The fewest significant digits that read back as x. The correctly rounded P-digit decimal
    // is the closest one to x, so it reads back whenever any P-digit decimal does, and then so
    // does the (P+1)-digit one: reading back is monotone in P, and 17 digits always do.
    // (Literal formats: glibc takes a slow path for "%.*e".)
    static const char *const efmt[17] = {"%.0e",  "%.1e",  "%.2e",  "%.3e",  "%.4e",  "%.5e",
                                         "%.6e",  "%.7e",  "%.8e",  "%.9e",  "%.10e", "%.11e",
                                         "%.12e", "%.13e", "%.14e", "%.15e", "%.16e"};
    char e[40];
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(e, sizeof e, efmt[mid - 1], x);
        if (strtod(e, NULL) == x) hi = mid;
        else lo = mid + 1;
    }
    snprintf(e, sizeof e, efmt[lo - 1], x);
    char dig[24];
    size_t nd = 0;
    const char *p = e + (e[0] == '-');
    for (; *p && *p != 'e'; p++)
        if (*p != '.') dig[nd++] = *p;
    dig[nd] = '\0';
    int ex = atoi(p + 1); // x = 0.dig × 10^(ex+1); minimal, so dig has no trailing zero
    char buf[64];
    size_t n = 0;
    if (x < 0) buf[n++] = '-';
    if (ex < -4 || ex >= 16) {
        // float_repr_style 'short': scientific outside 1e-4 <= |x| < 1e16, exponent of 2+ digits.
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%c%s%s", dig[0], nd > 1 ? "." : "",
                              dig + 1);
        snprintf(buf + n, sizeof buf - n, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    } else if (ex < 0) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "0.");
        for (int i = -1; i > ex; i--) buf[n++] = '0';
        snprintf(buf + n, sizeof buf - n, "%s", dig);
    } else {
        for (int i = 0; i <= ex; i++) buf[n++] = (size_t)i < nd ? dig[i] : '0';
        snprintf(buf + n, sizeof buf - n, ".%s", (size_t)ex + 1 < nd ? dig + ex + 1 : "0");
    }
    snprintf(out, cap, "%s", buf);
}

// How TrackEval's value of a column is typed, which decides how csv prints it (repr for a float,
// str for an int: "0.0" against "0"). A sequence where the class has no result or no GT
// ("early": eval_sequence returns before its final fields) keeps the int 0 it initialised most
// floats with; Frag is numpy's float after a full evaluation; MOTP_sum grows a float only from a
// matched frame; sums keep int only while every term is an int.
typedef enum detailed_kind {
    DK_FLOAT,    // always a float
    DK_COMPUTED, // a float, the int 0 on an early sequence row
    DK_INT,
    DK_FRAG,
    DK_MOTP_SUM,
} detailed_kind;

typedef struct detailed_col {
    const char *name;
    size_t off;
    bool is_int; // int64_t in merge_te_row, else double
    detailed_kind kind;
} detailed_col;

#define DF(name, f, kind) {name, offsetof(merge_te_row, f), false, kind}
#define DI(name, f) {name, offsetof(merge_te_row, f), true, DK_INT}
// The metrics' float_fields + integer_fields (HOTA, CLEAR, Identity, Count); HOTA's per-α arrays
// sit between HOTA's fields and CLEAR's (detailed_arrays).
static const detailed_col detailed_hota[] = {
    DF("HOTA(0)", HOTA0, DK_COMPUTED), DF("LocA(0)", LocA0, DK_FLOAT),
    DF("HOTALocA(0)", HOTALocA0, DK_COMPUTED),
};
static const detailed_col detailed_rest[] = {
    DF("MOTA", MOTA, DK_COMPUTED),   DF("MOTP", MOTP, DK_COMPUTED),
    DF("MODA", MODA, DK_COMPUTED),   DF("CLR_Re", CLR_Re, DK_COMPUTED),
    DF("CLR_Pr", CLR_Pr, DK_COMPUTED), DF("MTR", MTR, DK_COMPUTED),
    DF("PTR", PTR, DK_COMPUTED),     DF("MLR", MLR, DK_FLOAT),
    DF("sMOTA", sMOTA, DK_COMPUTED), DF("CLR_F1", CLR_F1, DK_COMPUTED),
    DF("FP_per_frame", FP_per_frame, DK_COMPUTED), DF("MOTAL", MOTAL, DK_COMPUTED),
    DF("MOTP_sum", MOTP_sum, DK_MOTP_SUM),
    DI("CLR_TP", CLR_TP), DI("CLR_FN", CLR_FN), DI("CLR_FP", CLR_FP), DI("IDSW", IDSW),
    DI("MT", MT), DI("PT", PT), DI("ML", ML), {"Frag", offsetof(merge_te_row, Frag), true, DK_FRAG},
    DI("CLR_Frames", CLR_Frames),
    DF("IDF1", IDF1, DK_COMPUTED), DF("IDR", IDR, DK_COMPUTED), DF("IDP", IDP, DK_COMPUTED),
    DI("IDTP", IDTP), DI("IDFN", IDFN), DI("IDFP", IDFP),
    DI("Dets", Dets), DI("GT_Dets", GT_Dets), DI("IDs", IDs), DI("GT_IDs", GT_IDs),
};
#undef DF
#undef DI

// HOTA's float_array_fields + integer_array_fields: <name>___<int(100·α)>, then <name>___AUC
// (np.mean of the array: the row's mean field; for the integer arrays, whose sum is exact, the
// sum / 19). Every cell is a float.
static const struct {
    const char *name;
    size_t off, mean_off; // mean_off: SIZE_MAX for the int64_t arrays
} detailed_arrays[] = {
#define DA(f, a) {#f, offsetof(merge_te_row, a), offsetof(merge_te_row, f)}
    DA(HOTA, a_HOTA),   DA(DetA, a_DetA),   DA(AssA, a_AssA),   DA(DetRe, a_DetRe),
    DA(DetPr, a_DetPr), DA(AssRe, a_AssRe), DA(AssPr, a_AssPr), DA(LocA, a_LocA),
    DA(OWTA, a_OWTA),
#undef DA
    {"HOTA_TP", offsetof(merge_te_row, HOTA_TP), SIZE_MAX},
    {"HOTA_FN", offsetof(merge_te_row, HOTA_FN), SIZE_MAX},
    {"HOTA_FP", offsetof(merge_te_row, HOTA_FP), SIZE_MAX},
};

// The types of one row's values (detailed_kind).
typedef struct detailed_types {
    bool early, frag_float, motp_sum_float;
} detailed_types;

static double row_double(const merge_te_row *r, size_t off) {
    double x;
    memcpy(&x, (const char *)r + off, sizeof x);
    return x;
}

static int64_t row_int(const merge_te_row *r, size_t off) {
    int64_t v;
    memcpy(&v, (const char *)r + off, sizeof v);
    return v;
}

static void detailed_cell(FILE *f, const merge_te_row *r, const detailed_col *c,
                          const detailed_types *ty) {
    bool as_int = c->kind == DK_INT || (c->kind == DK_COMPUTED && ty->early) ||
                  (c->kind == DK_FRAG && !ty->frag_float) ||
                  (c->kind == DK_MOTP_SUM && !ty->motp_sum_float);
    double x = c->is_int ? (double)row_int(r, c->off) : row_double(r, c->off);
    char cell[64];
    if (as_int && c->is_int) snprintf(cell, sizeof cell, "%lld", (long long)row_int(r, c->off));
    else if (as_int) snprintf(cell, sizeof cell, "%.0f", x); // TrackEval's int 0
    else merge_report_format_repr(x, cell, sizeof cell);
    fprintf(f, ",%s", cell);
}

void merge_report_csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void detailed_line(FILE *f, const char *name, const merge_te_row *r,
                          const detailed_types *ty) {
    merge_report_csv_field(f, name);
    for (size_t i = 0; i < RT_COUNTOF(detailed_hota); i++)
        detailed_cell(f, r, &detailed_hota[i], ty);
    char cell[64];
    for (size_t k = 0; k < RT_COUNTOF(detailed_arrays); k++) {
        size_t off = detailed_arrays[k].off, mean_off = detailed_arrays[k].mean_off;
        double sum = 0, prev = NAN;
        for (size_t a = 0; a < MERGE_HOTA_ALPHAS; a++) {
            double x = mean_off == SIZE_MAX ? (double)row_int(r, off + a * sizeof(int64_t))
                                            : row_double(r, off + a * sizeof(double));
            sum += x;
            // The arrays step at a few α only: format a value once per run.
            if (a == 0 || memcmp(&x, &prev, sizeof x))
                merge_report_format_repr(x, cell, sizeof cell);
            prev = x;
            fprintf(f, ",%s", cell);
        }
        merge_report_format_repr(mean_off == SIZE_MAX ? sum / MERGE_HOTA_ALPHAS
                                                      : row_double(r, mean_off),
                                 cell, sizeof cell);
        fprintf(f, ",%s", cell);
    }
    for (size_t i = 0; i < RT_COUNTOF(detailed_rest); i++)
        detailed_cell(f, r, &detailed_rest[i], ty);
    fputs("\r\n", f);
}

static void detailed_header(FILE *f) {
    fputs("seq", f);
    for (size_t i = 0; i < RT_COUNTOF(detailed_hota); i++) fprintf(f, ",%s", detailed_hota[i].name);
    for (size_t k = 0; k < RT_COUNTOF(detailed_arrays); k++) {
        for (size_t a = 0; a < MERGE_HOTA_ALPHAS; a++)
            fprintf(f, ",%s___%d", detailed_arrays[k].name, (int)(100 * merge_hota_alpha(a)));
        fprintf(f, ",%s___AUC", detailed_arrays[k].name);
    }
    for (size_t i = 0; i < RT_COUNTOF(detailed_rest); i++) fprintf(f, ",%s", detailed_rest[i].name);
    fputs("\r\n", f);
}

rt_status merge_report_write_detailed(const char *dir, const merge_report_table *t,
                                      const merge_eval_summary *s, const char *const *names,
                                      const merge_video_result *seqs, size_t n_seqs) {
    if (t->protocol != MERGE_PROTOCOL_TRACKEVAL) return RT_OK;
    size_t nc = s->totals.params.n_classes;
    // A class's COMBINED Frag is a float once one of its sequences was fully evaluated; the
    // class combinations sum the classes' Frag.
    bool class_frag_float[MERGE_MAX_CLASSES] = {false}, any_frag_float = false;
    for (size_t c = 0; c < nc; c++) {
        for (size_t q = 0; q < n_seqs; q++) class_frag_float[c] |= !seqs[q].te[c].early;
        any_frag_float |= class_frag_float[c];
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        if (!te_row_printed(t, s, r)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s_detailed.csv", dir, t->row_name[r]);
        rt_atomic_file af;
        rt_status st = rt_atomic_open(&af, path);
        if (st != RT_OK) return st;
        detailed_header(af.f);
        merge_te_row row;
        detailed_types ty;
        // Combined classes have no sequence rows in TrackEval.
        for (size_t q = 0; r < nc && q < n_seqs; q++) {
            merge_video_te_row(&seqs[q], r, &row);
            ty.early = seqs[q].te[r].early != 0;
            ty.frag_float = !ty.early;
            ty.motp_sum_float = row.CLR_TP > 0;
            detailed_line(af.f, names[q], &row, &ty);
        }
        te_full_row(s, r, &row);
        ty.early = false;
        ty.frag_float = r < nc ? class_frag_float[r] : any_frag_float;
        // cls_comb_cls_av takes np.mean of MOTP_sum; the others sum it.
        ty.motp_sum_float = r == nc || row.CLR_TP > 0;
        detailed_line(af.f, "COMBINED", &row, &ty);
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
