// The shared metric tables, printer and JSON writer (see report.h).
#include "merge/report.h"

#include <math.h>
#include <string.h>

#include "runtime/fsutil.h"

const char *merge_protocol_name(merge_protocol p) {
    return p == MERGE_PROTOCOL_BDD100K ? "bdd100k" : "trackeval";
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
    t->protocol = mp->protocol;
    if (mp->protocol == MERGE_PROTOCOL_TRACKEVAL) {
        t->fields = merge_te_fields(&t->n_fields);
        RT_ASSERT(t->n_fields <= MERGE_REPORT_MAX_FIELDS);
        merge_te_row rows[MERGE_MAX_CLASSES + 1];
        for (size_t c = 0; c < nc; c++) merge_totals_te_row(tot, c, &rows[c]);
        merge_te_class_average(rows, nc, false, &rows[nc]);
        for (size_t c = 0; c <= nc; c++)
            fill_row(t, c, c < nc ? mp->class_name[c] : "cls_comb_cls_av", &rows[c]);
        t->n_rows = nc + 1;
        t->mean_row = nc;
    } else {
        t->fields = merge_bdd_fields(&t->n_fields);
        RT_ASSERT(t->n_fields <= MERGE_REPORT_MAX_FIELDS);
        size_t nr = nc + mp->n_groups + 2;
        merge_bdd_row rows[MERGE_REPORT_MAX_ROWS];
        merge_totals_bdd_rows(tot, rows);
        for (size_t r = 0; r < nr; r++) {
            const char *name = r < nc                 ? mp->class_name[r]
                               : r < nc + mp->n_groups ? mp->group_name[r - nc]
                               : r == nr - 2           ? "AVERAGE"
                                                       : "OVERALL";
            fill_row(t, r, name, &rows[r]);
        }
        t->n_rows = nr;
        t->mean_row = nr - 2;
    }
}

// TrackEval's summary number format: floats as 100·x with 5 significant digits, ints plain.
static void put_value(FILE *f, const merge_field *fd, double x, double scale) {
    if (fd->type == 'i') fprintf(f, " %-10lld", (long long)x);
    else if (isnan(x)) fprintf(f, " %-10s", "nan");
    else fprintf(f, " %-10.5g", scale * x);
}

static void te_header(FILE *f, const char *title) {
    size_t n;
    const merge_field *fd = merge_te_fields(&n);
    fprintf(f, "%-35s", title);
    for (size_t i = 0; i < n; i++) fprintf(f, " %-10s", fd[i].mots_name);
    fputc('\n', f);
}

static void te_line(FILE *f, const char *name, const double *values) {
    size_t n;
    const merge_field *fd = merge_te_fields(&n);
    fprintf(f, "%-35s", name);
    for (size_t i = 0; i < n; i++) put_value(f, &fd[i], values[i], 100.0);
    fputc('\n', f);
}

void merge_report_print_video(FILE *f, const char *video, const merge_metrics_params *mp,
                              const merge_video_result *r) {
    if (mp->protocol != MERGE_PROTOCOL_TRACKEVAL) return;
    size_t n;
    const merge_field *fd = merge_te_fields(&n);
    for (size_t c = 0; c < mp->n_classes; c++) {
        merge_te_row row;
        merge_video_te_row(r, c, &row);
        double v[MERGE_REPORT_MAX_FIELDS];
        for (size_t i = 0; i < n; i++) v[i] = merge_field_value(&fd[i], &row);
        char name[160];
        snprintf(name, sizeof name, "%s/%s", video, mp->class_name[c]);
        te_line(f, name, v);
    }
}

void merge_report_print(FILE *f, const merge_report_table *t, const merge_eval_summary *s) {
    if (t->protocol == MERGE_PROTOCOL_TRACKEVAL) {
        for (size_t r = 0; r < t->n_rows; r++) {
            char title[64];
            snprintf(title, sizeof title, "pcan-%s", t->row_name[r]);
            te_header(f, title);
            te_line(f, "COMBINED", t->value[r]);
            fputc('\n', f);
        }
    } else {
        fprintf(f, "%-12s", "");
        for (size_t i = 0; i < t->n_fields; i++) fprintf(f, " %8s", t->fields[i].mots_name);
        fputc('\n', f);
        for (size_t r = 0; r < t->n_rows; r++) {
            fprintf(f, "%-12s", t->row_name[r]);
            for (size_t i = 0; i < t->n_fields; i++) {
                double x = t->value[r][i];
                if (t->fields[i].type == 'i') fprintf(f, " %8lld", (long long)x);
                else if (isnan(x)) fprintf(f, " %8s", "nan");
                else fprintf(f, " %8.1f", x);
            }
            fputc('\n', f);
        }
    }
    fprintf(f, "videos %zu, missing from the archive %zu, archive videos without ground truth %zu, "
            "masks %llu\n", s->n_videos, s->n_missing, s->n_no_gt, (unsigned long long)s->n_masks);
}

static void json_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.17g", x);
    else fputs("null", f);
}

rt_status merge_report_write_json(const char *path, const merge_report_table *t,
                                  const merge_eval_summary *s) {
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path);
    if (st != RT_OK) return st;
    FILE *f = af.f;
    fprintf(f, "{\n  \"protocol\": \"%s\",\n  \"rows\": {\n", merge_protocol_name(t->protocol));
    for (size_t r = 0; r < t->n_rows; r++) {
        fprintf(f, "    \"%s\": {", t->row_name[r]);
        for (size_t i = 0; i < t->n_fields; i++) {
            fprintf(f, "%s\"%s\": ", i ? ", " : "", t->fields[i].name);
            json_num(f, t->value[r][i]);
        }
        fprintf(f, "}%s\n", r + 1 == t->n_rows ? "" : ",");
    }
    fprintf(f, "  },\n  \"videos\": %zu, \"missing\": %zu, \"no_gt\": %zu, \"masks\": %llu\n}\n",
            s->n_videos, s->n_missing, s->n_no_gt, (unsigned long long)s->n_masks);
    if (ferror(f)) {
        rt_atomic_abort(&af);
        return rt_error_set(RT_ERR_IO, "%s: write failed", path);
    }
    return rt_atomic_commit(&af);
}
