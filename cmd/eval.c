// pcan eval — scores an archive against a dataset's ground truth (merge/evaluate.h).
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "merge/evaluate.h"

typedef struct eval_opts {
    const char *gt, *format, *split, *results, *json;
    merge_protocol protocol;
    bool per_video;
} eval_opts;

// TrackEval's summary number format: floats as 100·x with 5 significant digits, ints plain.
static void put_value(FILE *f, const merge_field *fd, const void *row, double scale) {
    double x = merge_field_value(fd, row);
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

static void te_line(FILE *f, const char *name, const merge_te_row *row) {
    size_t n;
    const merge_field *fd = merge_te_fields(&n);
    fprintf(f, "%-35s", name);
    for (size_t i = 0; i < n; i++) put_value(f, &fd[i], row, 100.0);
    fputc('\n', f);
}

static void on_video(void *ctx, const char *video, const merge_metrics_params *mp,
                     const merge_video_result *r) {
    const eval_opts *o = ctx;
    if (o->protocol != MERGE_PROTOCOL_TRACKEVAL) return;
    for (size_t c = 0; c < mp->n_classes; c++) {
        merge_te_row row;
        merge_video_te_row(r, c, &row);
        char name[160];
        snprintf(name, sizeof name, "%s/%s", video, mp->class_name[c]);
        te_line(stdout, name, &row);
    }
}

static void json_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.17g", x);
    else fputs("null", f);
}

static void json_row(FILE *f, const char *name, const merge_field *fd, size_t n, const void *row,
                     bool last) {
    fprintf(f, "    \"%s\": {", name);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\"%s\": ", i ? ", " : "", fd[i].name);
        json_num(f, merge_field_value(&fd[i], row));
    }
    fprintf(f, "}%s\n", last ? "" : ",");
}

static int report(const eval_opts *o, const merge_eval_summary *s) {
    const merge_totals *t = &s->totals;
    const merge_metrics_params *mp = &t->params;
    size_t nc = mp->n_classes, nf;
    FILE *j = NULL;
    if (o->json && !(j = fopen(o->json, "w"))) {
        fprintf(stderr, "pcan eval: cannot write %s\n", o->json);
        return CMD_EXIT_USAGE;
    }
    if (j) fputs("{\n  \"rows\": {\n", j);
    if (o->protocol == MERGE_PROTOCOL_TRACKEVAL) {
        const merge_field *fd = merge_te_fields(&nf);
        merge_te_row rows[MERGE_MAX_CLASSES + 1];
        for (size_t c = 0; c < nc; c++) merge_totals_te_row(t, c, &rows[c]);
        merge_te_class_average(rows, nc, false, &rows[nc]);
        for (size_t c = 0; c <= nc; c++) {
            char title[64];
            snprintf(title, sizeof title, "pcan-%s", c < nc ? mp->class_name[c] : "cls_comb_cls_av");
            te_header(stdout, title);
            te_line(stdout, "COMBINED", &rows[c]);
            fputc('\n', stdout);
            if (j) json_row(j, c < nc ? mp->class_name[c] : "cls_comb_cls_av", fd, nf, &rows[c], c == nc);
        }
    } else {
        const merge_field *fd = merge_bdd_fields(&nf);
        size_t nr = nc + mp->n_groups + 2;
        merge_bdd_row rows[MERGE_MAX_CLASSES + MERGE_MAX_GROUPS + 2];
        merge_totals_bdd_rows(t, rows);
        printf("%-12s", "");
        for (size_t i = 0; i < nf; i++) printf(" %8s", fd[i].mots_name);
        putchar('\n');
        for (size_t r = 0; r < nr; r++) {
            const char *name = r < nc ? mp->class_name[r]
                               : r < nc + mp->n_groups ? mp->group_name[r - nc]
                               : r == nr - 2 ? "AVERAGE" : "OVERALL";
            printf("%-12s", name);
            for (size_t i = 0; i < nf; i++) {
                double x = merge_field_value(&fd[i], &rows[r]);
                if (fd[i].type == 'i') printf(" %8lld", (long long)x);
                else if (isnan(x)) printf(" %8s", "nan");
                else printf(" %8.1f", x);
            }
            putchar('\n');
            if (j) json_row(j, name, fd, nf, &rows[r], r == nr - 1);
        }
    }
    printf("videos %zu, missing from the archive %zu, archive videos without ground truth %zu, "
           "masks %llu\n", s->n_videos, s->n_missing, s->n_no_gt, (unsigned long long)s->n_masks);
    if (j) {
        fprintf(j, "  },\n  \"videos\": %zu, \"missing\": %zu, \"no_gt\": %zu\n}\n", s->n_videos,
                s->n_missing, s->n_no_gt);
        if (fclose(j) != 0) {
            fprintf(stderr, "pcan eval: cannot write %s\n", o->json);
            return CMD_EXIT_RUNTIME;
        }
    }
    return CMD_EXIT_OK;
}

static int run_eval(eval_opts *o) {
    shard_dataset_params p = shard_dataset_default_params();
    rt_status st = shard_dataset_format_parse(o->format, &p.format);
    if (st != RT_OK) return cmd_usage_error("eval", "--format: %s", rt_error());
    p.root = o->gt;
    p.split = o->split;
    p.require_sources = false;
    shard_dataset *ds = NULL;
    merge_archive *ar = NULL;
    merge_eval_summary *s = NULL;
    int rc = CMD_EXIT_USAGE;
    if ((st = shard_dataset_init(&p, &ds)) != RT_OK || (st = merge_archive_open(o->results, &ar)) != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        goto done;
    }
    merge_eval_params ep = merge_eval_default_params(o->protocol);
    ep.log = stderr;
    if (o->per_video) {
        ep.on_video = on_video;
        ep.ctx = o;
    }
    if ((st = merge_evaluate(ds, ar, &ep, &s)) != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        rc = st == RT_ERR_NOMEM || st == RT_ERR_IO || st == RT_ERR_HDF5 ? CMD_EXIT_RUNTIME : CMD_EXIT_USAGE;
        goto done;
    }
    rc = report(o, s);
done:
    merge_eval_summary_free(&s);
    merge_archive_close(&ar);
    shard_dataset_free(&ds);
    return rc;
}

int cmd_eval_main(int argc, char **argv) {
    eval_opts o = {.protocol = MERGE_PROTOCOL_TRACKEVAL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--per-video")) {
            o.per_video = true;
            continue;
        }
        const char **dst = !strcmp(a, "--gt") ? &o.gt : !strcmp(a, "--format") ? &o.format
                         : !strcmp(a, "--split") ? &o.split : !strcmp(a, "--results") ? &o.results
                         : !strcmp(a, "--json") ? &o.json : NULL;
        bool proto = !strcmp(a, "--protocol");
        if (!dst && !proto) return cmd_usage_error("eval", "unknown argument '%s'", a);
        if (!val) return cmd_usage_error("eval", "%s needs a value", a);
        i++;
        if (dst) {
            *dst = val;
        } else if (!strcmp(val, "trackeval")) {
            o.protocol = MERGE_PROTOCOL_TRACKEVAL;
        } else if (!strcmp(val, "bdd100k")) {
            o.protocol = MERGE_PROTOCOL_BDD100K;
        } else {
            return cmd_usage_error("eval", "--protocol: expected trackeval or bdd100k, got '%s'", val);
        }
    }
    if (!o.gt) return cmd_usage_error("eval", "missing --gt ROOT");
    if (!o.format) return cmd_usage_error("eval", "missing --format F");
    if (!o.results) return cmd_usage_error("eval", "missing --results ARCHIVE");
    return run_eval(&o);
}
