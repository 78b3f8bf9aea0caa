// pcan sweep report — metrics and timing of a set of archives into report.csv, report.md and
// plot.svg (see `pcan sweep --help` and cmd/sweep.c).
//
// Per archive: the job attribute (for a sweep point, the effective job with its `# pcan-sweep-*`
// header: point, cluster shape, overrides), ranks, and /videos (frames, seconds, status).
// Timing: frames/s = frames of the ok videos x ranks / the sum of their per-video seconds, i.e.
// the rate while every rank is busy (start-up, model loading and the merge are not in it).
// Efficiency = (fps / fps_ref) / (cpus / cpus_ref) with cpus = ranks x threads and ref the
// archive with the fewest cpus among those of the same workload (same model settings, dataset
// and frame count), so a sweep that also varies model settings compares shapes per setting.
// Metrics: the class-mean row (TrackEval fields x100, as TrackEval prints them; bdd100k's
// AVERAGE row) of the archive's /metrics (written by the run), or, for archives without them,
// evaluated from the job's dataset ground truth with merge/evaluate, when the job has metrics
// enabled (or auto) and its dataset has ground truth; when that fails (say the
// dataset is not reachable from this machine) the archive is reported without metrics, with a
// note on stderr.
#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/job.h"
#include "cmd/run.h"
#include "merge/archive.h"
#include "merge/evaluate.h"
#include "merge/report.h"
#include "runtime/fsutil.h"
#include "runtime/h5util.h"
#include "runtime/model_config.h"

#define REPORT_MAX_KEYS   32
#define REPORT_MAX_FIELDS 64
#define N_PROTOCOLS       3 // merge_protocol: trackeval, bdd100k, youtube-vis

typedef struct entry {
    const char *path;
    long point;           // -1: not a sweep point
    long nodes, tpn, cpt; // cluster shape (nodes -1: unknown)
    long ranks, threads;  // threads 0: auto (unknown)
    long videos, failed;
    long long frames;
    double seconds, fps, eff;
    char *job_text;
    cmd_job job;
    int n_over;
    char over_key[REPORT_MAX_KEYS][96];
    char over_val[REPORT_MAX_KEYS][256];
    int protocol; // -1: no metrics
    double metric[REPORT_MAX_FIELDS];
    char group[4608];
} entry;

typedef struct report_opts {
    const char *out, *metric, *axis;
    const char **archives;
    int n;
} report_opts;

static void parse_header(entry *e) {
    for (const char *l = e->job_text; l && *l;) {
        const char *eol = strchr(l, '\n');
        size_t len = eol ? (size_t)(eol - l) : strlen(l);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)RT_MIN(len, sizeof line - 1), l);
        long a, b, c;
        if (sscanf(line, "# pcan-sweep-point: %ld", &a) == 1) e->point = a;
        if (sscanf(line, "# pcan-sweep-cluster: nodes=%ld ntasks_per_node=%ld cpus_per_task=%ld",
                   &a, &b, &c) == 3)
            e->nodes = a, e->tpn = b, e->cpt = c;
        const char *ov = "# pcan-sweep-override: ";
        if (!strncmp(line, ov, strlen(ov)) && e->n_over < REPORT_MAX_KEYS) {
            const char *kv = line + strlen(ov), *eq = strchr(kv, '=');
            if (eq) {
                snprintf(e->over_key[e->n_over], sizeof e->over_key[0], "%.*s", (int)(eq - kv), kv);
                snprintf(e->over_val[e->n_over], sizeof e->over_val[0], "%s", eq + 1);
                e->n_over++;
            }
        }
        l = eol ? eol + 1 : NULL;
    }
}

// The value of `key` for this archive as text: cluster keys from the sweep header (or the
// ranks), job keys from the archive's job, "point".
static void key_value(const entry *e, const char *key, char *out, size_t cap) {
    out[0] = '\0';
    if (!strcmp(key, "point")) {
        if (e->point >= 0) snprintf(out, cap, "%ld", e->point);
    } else if (!strcmp(key, "cluster.nodes")) {
        if (e->nodes > 0) snprintf(out, cap, "%ld", e->nodes);
    } else if (!strcmp(key, "cluster.ntasks_per_node")) {
        snprintf(out, cap, "%ld", e->nodes > 0 ? e->tpn : e->ranks);
    } else if (!strcmp(key, "cluster.cpus_per_task")) {
        if (e->cpt > 0) snprintf(out, cap, "%ld", e->cpt);
    } else if (!strcmp(key, "ranks")) {
        snprintf(out, cap, "%ld", e->ranks);
    } else if (!strcmp(key, "threads")) {
        if (e->threads > 0) snprintf(out, cap, "%ld", e->threads);
    } else if (cmd_job_get(&e->job, key, out, cap) != RT_OK) {
        out[0] = '\0';
    }
}

// Reported as the run's /metrics holds them, TrackEval's fractions x100 (as it prints them).
static double field_scale(int protocol, const merge_field *f) {
    return protocol == MERGE_PROTOCOL_TRACKEVAL && f->type == 'f' ? 100 : 1;
}

static void set_metrics(entry *e, const merge_report_table *t) {
    for (size_t i = 0; i < t->n_fields && i < REPORT_MAX_FIELDS; i++)
        e->metric[i] = t->value[t->mean_row][i] * field_scale(t->protocol, &t->fields[i]);
    e->protocol = (int)t->protocol;
}

static rt_status evaluate(entry *e, merge_archive *ar) {
    e->protocol = -1;
    const cmd_job *j = &e->job;
    if (j->metrics.enabled == CMD_FALSE || !cmd_job_dataset_has_gt(j)) return RT_OK;
    shard_dataset_params p = cmd_job_dataset_params(j);
    p.require_sources = false;
    const char *classes[RT_MODEL_MAX_CLASSES];
    size_t nc = RT_MIN(merge_archive_num_classes(ar), (size_t)RT_MODEL_MAX_CLASSES);
    for (size_t c = 0; c < nc; c++) classes[c] = merge_archive_class(ar, c);
    shard_dataset *ds = NULL;
    rt_status st = cmd_job_dataset_init(j, &p, classes, nc, &ds);
    if (st != RT_OK) return st;
    bool any_gt = false;
    for (size_t v = 0; v < ds->n_videos; v++) any_gt |= ds->videos[v].has_gt;
    if (!any_gt) {
        shard_dataset_free(&ds);
        return RT_OK;
    }
    merge_protocol proto = cmd_job_protocol(j);
    merge_eval_params ep = merge_eval_default_params(proto);
    ep.classes = (const char *const *)j->metrics.classes.items;
    ep.n_classes = (size_t)j->metrics.classes.count;
    merge_eval_summary *s = NULL;
    st = merge_evaluate(ds, ar, &ep, &s);
    if (st == RT_OK) {
        // The class-mean row as the run's /metrics holds it (merge/report.h).
        merge_report_table t;
        merge_report_table_make(s, &t);
        set_metrics(e, &t);
    }
    merge_eval_summary_free(&s);
    shard_dataset_free(&ds);
    return st;
}

// The class-mean row of the archive's /metrics (merge/archive.h), if it has them.
static rt_status read_metrics(entry *e, merge_archive *ar) {
    merge_archive_metrics *m = NULL;
    rt_status st = merge_archive_read_metrics(ar, &m);
    if (st != RT_OK || !m) return st;
    size_t row = m->n_rows;
    for (size_t r = 0; r < m->n_rows; r++)
        if (!strcmp(m->row_names[r], m->mean_row)) row = r;
    for (int proto = 0; proto < N_PROTOCOLS && row < m->n_rows; proto++) {
        if (strcmp(m->protocol, merge_protocol_name(proto))) continue;
        size_t n;
        const merge_field *fd = merge_report_fields(proto, &n);
        for (size_t i = 0; i < n && i < REPORT_MAX_FIELDS; i++) {
            e->metric[i] = NAN;
            for (size_t c = 0; c < m->n_cols; c++)
                if (!strcmp(m->col_names[c], fd[i].name))
                    e->metric[i] = m->values[row * m->n_cols + c] * field_scale(proto, &fd[i]);
        }
        e->protocol = proto;
    }
    merge_archive_metrics_free(&m);
    return RT_OK;
}

static rt_status load_entry(const char *path, entry *e) {
    memset(e, 0, sizeof *e);
    cmd_job_defaults(&e->job);
    e->path = path;
    e->point = -1;
    e->nodes = -1;
    e->protocol = -1;
    merge_archive *ar = NULL;
    rt_status st = merge_archive_open(path, &ar);
    if (st != RT_OK) return st;
    rt_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    long long ranks = 0;
    // Relative paths in the job resolve against the job file's folder (older archives: the
    // archive's).
    char where[PATH_MAX + 8];
    snprintf(where, sizeof where, "%s:job", path);
    if (f < 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: cannot open as HDF5", path);
    } else {
        st = rt_h5_attr_string_alloc(f, "job", &e->job_text);
        if (st == RT_OK) st = rt_h5_attr_int(f, "ranks", &ranks);
        if (st == RT_OK && rt_h5_attr_exists(f, "job_path") > 0)
            st = rt_h5_attr_string(f, "job_path", where, sizeof where);
        H5Fclose(f);
        if (st != RT_OK) rt_error_wrap(st, "%s", path);
    }
    if (st == RT_OK) {
        st = cmd_job_parse(where, e->job_text, strlen(e->job_text), &e->job);
    }
    if (st == RT_OK) {
        e->ranks = (long)ranks;
        e->threads = e->job.run.threads_per_rank;
        parse_header(e);
        if (e->nodes < 0) e->tpn = e->ranks, e->cpt = e->threads;
        for (size_t v = 0; v < merge_archive_num_videos(ar); v++) {
            const merge_archive_video *mv = merge_archive_video_at(ar, v);
            e->videos++;
            if (mv->status != MERGE_VIDEO_OK) {
                e->failed++;
                continue;
            }
            e->frames += mv->frames;
            e->seconds += mv->seconds;
        }
        e->fps = e->seconds > 0 ? (double)e->frames * (double)e->ranks / e->seconds : NAN;
        char config[4096];
        cmd_run_config_text(&e->job, config, sizeof config);
        snprintf(e->group, sizeof e->group, "%s\n%s\n%lld", config, e->job.dataset.root, e->frames);
        // The run's own /metrics when it has them; else evaluated here. Timing is still worth
        // reporting when neither is available (ground truth not reachable from here).
        st = read_metrics(e, ar);
        if (st != RT_OK) {
            rt_error_wrap(st, "%s", path);
        } else if (e->protocol < 0 && evaluate(e, ar) != RT_OK) {
            fprintf(stderr, "pcan sweep report: note: %s: no metrics: %s\n", path, rt_error());
            e->protocol = -1;
        }
    }
    merge_archive_close(&ar);
    return st;
}

static void efficiency(entry *es, int n) {
    for (int i = 0; i < n; i++) {
        const entry *ref = NULL;
        for (int j = 0; j < n; j++) {
            if (strcmp(es[j].group, es[i].group) || isnan(es[j].fps)) continue;
            long cj = es[j].ranks * RT_MAX(es[j].threads, 1);
            if (!ref || cj < ref->ranks * RT_MAX(ref->threads, 1)) ref = &es[j];
        }
        long ci = es[i].ranks * RT_MAX(es[i].threads, 1);
        es[i].eff = ref && !isnan(es[i].fps)
                        ? (es[i].fps / ref->fps) /
                              ((double)ci / (double)(ref->ranks * RT_MAX(ref->threads, 1)))
                        : NAN;
    }
}

// ---------------------------------------------------------------------------------------------
// Values by name: timing columns and the metric fields

// NaN when the archive does not have it; false when the name is unknown to every protocol.
static bool value_of(const entry *e, const char *name, double *out) {
    *out = NAN;
    if (!strcmp(name, "fps")) return *out = e->fps, true;
    if (!strcmp(name, "efficiency")) return *out = e->eff, true;
    if (!strcmp(name, "seconds")) return *out = e->seconds, true;
    bool known = false;
    for (int proto = 0; proto < N_PROTOCOLS; proto++) {
        size_t n;
        const merge_field *fd = merge_report_fields(proto, &n);
        for (size_t i = 0; i < n; i++)
            if (!strcmp(fd[i].mots_name, name) || !strcmp(fd[i].name, name)) {
                known = true;
                if (e->protocol == proto) *out = e->metric[i];
            }
    }
    return known;
}

static void put_num(FILE *f, double x, int prec) {
    if (isnan(x))
        fputs("", f);
    else
        fprintf(f, "%.*f", prec, x);
}


static void md_str(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

typedef struct table {
    int n_keys;
    char keys[REPORT_MAX_KEYS][96];
    int protocols; // bit p: some archive has merge_protocol p
} table;

static void add_key(table *t, const char *k) {
    for (int i = 0; i < t->n_keys; i++)
        if (!strcmp(t->keys[i], k)) return;
    if (t->n_keys < REPORT_MAX_KEYS) snprintf(t->keys[t->n_keys++], sizeof t->keys[0], "%s", k);
}

static rt_status write_csv(const char *path, const entry *es, int n, const table *t) {
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path);
    if (st != RT_OK) return st;
    FILE *f = af.f;
    fputs("archive,point", f);
    for (int k = 0; k < t->n_keys; k++) fprintf(f, ",%s", t->keys[k]);
    fputs(",ranks,threads,videos,failed,frames,seconds,fps,efficiency", f);
    for (int proto = 0; proto < N_PROTOCOLS; proto++) {
        if (!(t->protocols & (1 << proto))) continue;
        size_t nf;
        const merge_field *fd = merge_report_fields(proto, &nf);
        for (size_t i = 0; i < nf; i++)
            fprintf(f, ",%s%s%s", proto ? merge_protocol_name(proto) : "", proto ? "." : "",
                    fd[i].mots_name);
    }
    fputc('\n', f);
    for (int r = 0; r < n; r++) {
        const entry *e = &es[r];
        char v[PATH_MAX];
        merge_report_csv_field(f, e->path);
        fputc(',', f);
        if (e->point >= 0) fprintf(f, "%ld", e->point);
        for (int k = 0; k < t->n_keys; k++) {
            key_value(e, t->keys[k], v, sizeof v);
            fputc(',', f);
            merge_report_csv_field(f, v);
        }
        fprintf(f, ",%ld,", e->ranks);
        if (e->threads > 0)
            fprintf(f, "%ld", e->threads);
        else
            fputs("auto", f);
        fprintf(f, ",%ld,%ld,%lld,%.6g,", e->videos, e->failed, e->frames, e->seconds);
        put_num(f, e->fps, 3);
        fputc(',', f);
        put_num(f, e->eff, 4);
        for (int proto = 0; proto < N_PROTOCOLS; proto++) {
            if (!(t->protocols & (1 << proto))) continue;
            size_t nf;
            merge_report_fields(proto, &nf);
            for (size_t i = 0; i < nf; i++) {
                fputc(',', f);
                if (e->protocol == proto && !isnan(e->metric[i])) fprintf(f, "%.17g", e->metric[i]);
            }
        }
        fputc('\n', f);
    }
    return rt_atomic_commit(&af);
}

static void put_md(FILE *f, const entry *es, int n, const table *t, const char *metric) {
    static const char *const te_cols[] = {"HOTA", "DetA", "AssA", "sMOTSA", "IDF1", NULL};
    static const char *const bdd_cols[] = {"MOTSA", "MOTSP", "IDF1", NULL};
    static const char *const vis_cols[] = {"AP", "AP50", "AP75", "AR1", "AR10", NULL};
    static const char *const *const proto_cols[N_PROTOCOLS] = {te_cols, bdd_cols, vis_cols};
    const char *cols[16];
    int nc = 0;
    for (int proto = 0; proto < N_PROTOCOLS; proto++)
        for (int i = 0; (t->protocols & (1 << proto)) && proto_cols[proto][i] && nc < 15; i++) {
            bool dup = false;
            for (int j = 0; j < nc; j++) dup |= !strcmp(cols[j], proto_cols[proto][i]);
            if (!dup) cols[nc++] = proto_cols[proto][i];
        }
    bool have = !strcmp(metric, "fps") || !strcmp(metric, "efficiency");
    for (int j = 0; j < nc; j++) have |= !strcmp(cols[j], metric);
    if (!have) cols[nc++] = metric;

    fputs("| point |", f);
    for (int k = 0; k < t->n_keys; k++) fprintf(f, " %s |", t->keys[k]);
    fputs(" ranks x threads | frames | frames/s | efficiency |", f);
    for (int j = 0; j < nc; j++) fprintf(f, " %s |", cols[j]);
    fputs("\n|---:|", f);
    for (int k = 0; k < t->n_keys; k++) fputs("---|", f);
    fputs("---|---:|---:|---:|", f);
    for (int j = 0; j < nc; j++) fputs("---:|", f);
    fputc('\n', f);
    for (int r = 0; r < n; r++) {
        const entry *e = &es[r];
        char v[PATH_MAX];
        if (e->point >= 0)
            fprintf(f, "| %ld |", e->point);
        else {
            const char *b = strrchr(e->path, '/');
            fputs("| ", f);
            md_str(f, b ? b + 1 : e->path);
            fputs(" |", f);
        }
        for (int k = 0; k < t->n_keys; k++) {
            key_value(e, t->keys[k], v, sizeof v);
            fputc(' ', f);
            md_str(f, v);
            fputs(" |", f);
        }
        fprintf(f, " %ld x ", e->ranks);
        if (e->threads > 0)
            fprintf(f, "%ld", e->threads);
        else
            fputs("auto", f);
        fprintf(f, " | %lld | ", e->frames);
        put_num(f, e->fps, 2);
        fputs(" | ", f);
        put_num(f, e->eff, 2);
        fputs(" |", f);
        for (int j = 0; j < nc; j++) {
            double x;
            value_of(e, cols[j], &x);
            fputc(' ', f);
            put_num(f, x, 3);
            fputs(" |", f);
        }
        fputc('\n', f);
    }
    fprintf(f,
            "\nframes/s: frames x ranks / summed per-video seconds (ranks busy); efficiency: "
            "frames/s per cpu (ranks x threads) against the smallest shape of the same "
            "workload. Metrics: class mean%s%s.\n",
            t->protocols & 1 ? ", TrackEval fields x100" : "",
            t->protocols & 4 ? ", YouTube-VIS AP/AR as fractions" : "");
}

static rt_status write_md(const char *path, const entry *es, int n, const table *t,
                          const char *metric) {
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path);
    if (st != RT_OK) return st;
    put_md(af.f, es, n, t, metric);
    return rt_atomic_commit(&af);
}

// ---------------------------------------------------------------------------------------------
// The plot: the metric against the axis, one line per combination of the other keys.

static void svg_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

static double nice_step(double range) {
    double raw = range / 5, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

static rt_status write_svg(const char *path, const entry *es, int n, const table *t,
                           const char *axis, const char *metric) {
    double *x = rt_malloc((size_t)n * sizeof *x), *y = rt_malloc((size_t)n * sizeof *y);
    int *series = rt_malloc((size_t)n * sizeof *series);
    char(*xs)[128] = rt_malloc((size_t)n * sizeof *xs);
    char(*labels)[512] = rt_malloc((size_t)n * sizeof *labels);
    rt_status st = RT_OK;
    if (!x || !y || !series || !xs || !labels) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto done;
    }
    bool numeric = true;
    for (int i = 0; i < n; i++) {
        key_value(&es[i], axis, xs[i], sizeof xs[i]);
        char *end;
        x[i] = strtod(xs[i], &end);
        if (!xs[i][0] || *end) numeric = false;
        value_of(&es[i], metric, &y[i]);
    }
    // Categorical axes: positions in order of first appearance.
    int n_cat = 0;
    if (!numeric)
        for (int i = 0; i < n; i++) {
            int c = -1;
            for (int j = 0; j < i && c < 0; j++)
                if (!strcmp(xs[j], xs[i])) c = (int)x[j];
            x[i] = c >= 0 ? c : n_cat++;
        }
    int n_series = 0;
    for (int i = 0; i < n; i++) {
        size_t o = 0;
        labels[i][0] = '\0';
        for (int k = 0; k < t->n_keys; k++) {
            if (!strcmp(t->keys[k], axis)) continue;
            char v[256];
            key_value(&es[i], t->keys[k], v, sizeof v);
            int w = snprintf(labels[i] + o, sizeof labels[i] - o, "%s%s=%s", o ? " " : "",
                             t->keys[k], v);
            if (w > 0) o = RT_MIN(o + (size_t)w, sizeof labels[i] - 1);
        }
        series[i] = -1;
        for (int j = 0; j < i && series[i] < 0; j++)
            if (!strcmp(labels[j], labels[i])) series[i] = series[j];
        if (series[i] < 0) series[i] = n_series++;
    }
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (isnan(y[i])) continue;
        x0 = fmin(x0, x[i]), x1 = fmax(x1, x[i]), y0 = fmin(y0, y[i]), y1 = fmax(y1, y[i]);
    }
    if (!isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
    if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
    double pad = 0.06 * (x1 - x0); // keep the end points off the frame
    x0 -= pad, x1 += pad;
    double ys = nice_step(y1 - y0);
    y0 = floor(y0 / ys) * ys, y1 = ceil(y1 / ys) * ys;
    const double W = 720, H = 440, L = 70, R = 200, T = 40, B = 60;
    double pw = W - L - R, ph = H - T - B;
#define PX(v) (L + ((v)-x0) / (x1 - x0) * pw)
#define PY(v) (T + ph - ((v)-y0) / (y1 - y0) * ph)
    static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                          "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    rt_atomic_file af;
    if ((st = rt_atomic_open(&af, path)) != RT_OK) goto done;
    FILE *f = af.f;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<title>");
    svg_text(f, metric);
    fputs(" against ", f);
    svg_text(f, axis);
    fprintf(f, "</title>\n<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">",
            L + pw / 2);
    svg_text(f, metric);
    fputs(" against ", f);
    svg_text(f, axis);
    fputs("</text>\n", f);
    fprintf(f,
            "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            L, T, pw, ph);
    for (double v = y0; v <= y1 + ys / 2; v += ys) {
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                L, PY(v), L + pw, PY(v), L - 6, PY(v) + 4, fabs(v) < ys / 1e6 ? 0 : v);
    }
    for (int i = 0; i < n; i++) {
        bool first = true;
        for (int j = 0; j < i; j++) first &= x[j] != x[i];
        if (!first) continue;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                PX(x[i]), T + ph, PX(x[i]), T + ph + 5, PX(x[i]), T + ph + 20);
        svg_text(f, xs[i]);
        fputs("</text>\n", f);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", L + pw / 2, H - 16);
    svg_text(f, axis);
    fprintf(f,
            "</text>\n<text transform=\"translate(18 %.1f) rotate(-90)\" "
            "text-anchor=\"middle\">",
            T + ph / 2);
    svg_text(f, metric);
    fputs("</text>\n", f);
    for (int s = 0; s < n_series; s++) {
        const char *c = colours[s % 8];
        // The series' points in x order.
        int idx[256], m = 0;
        for (int i = 0; i < n && m < 256; i++)
            if (series[i] == s && !isnan(y[i])) idx[m++] = i;
        for (int a = 1; a < m; a++)
            for (int b = a; b > 0 && x[idx[b - 1]] > x[idx[b]]; b--) {
                int tmp = idx[b];
                idx[b] = idx[b - 1];
                idx[b - 1] = tmp;
            }
        if (m > 1) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
            for (int a = 0; a < m; a++)
                fprintf(f, "%s%.1f,%.1f", a ? " " : "", PX(x[idx[a]]), PY(y[idx[a]]));
            fputs("\"/>\n", f);
        }
        for (int a = 0; a < m; a++) {
            fprintf(f,
                    "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\">"
                    "<title>",
                    PX(x[idx[a]]), PY(y[idx[a]]), c);
            svg_text(f, es[idx[a]].path);
            fprintf(f, ": %g</title></circle>\n", y[idx[a]]);
        }
        int first = -1;
        for (int i = 0; i < n && first < 0; i++)
            if (series[i] == s) first = i;
        fprintf(f,
                "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"%.0f\" y=\"%.0f\" font-size=\"10\">",
                L + pw + 12, T + 14.0 * s, c, L + pw + 26, T + 14.0 * s + 9);
        svg_text(f, labels[first][0] ? labels[first] : metric);
        fputs("</text>\n", f);
    }
#undef PX
#undef PY
    fputs("</svg>\n", f);
    st = rt_atomic_commit(&af);
done:
    rt_free(x);
    rt_free(y);
    rt_free(series);
    rt_free(xs);
    rt_free(labels);
    return st;
}

int cmd_sweep_report_main(int argc, char **argv) {
    report_opts o = {0};
    o.archives = rt_malloc((size_t)argc * sizeof *o.archives);
    if (!o.archives) return CMD_EXIT_RUNTIME;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = !strcmp(a, "--out")      ? &o.out
                           : !strcmp(a, "--metric") ? &o.metric
                           : !strcmp(a, "--axis")   ? &o.axis
                                                    : NULL;
        if (dst) {
            if (!val) {
                rt_free(o.archives);
                return cmd_usage_error("sweep", "report: %s needs a value", a);
            }
            *dst = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            rt_free(o.archives);
            return cmd_usage_error("sweep", "report: unknown option %s", a);
        } else {
            o.archives[o.n++] = a;
        }
    }
    if (!o.n || !o.out) {
        rt_free(o.archives);
        return cmd_usage_error("sweep", "report takes ARCHIVE... --out DIR");
    }
    entry *es = rt_calloc((size_t)o.n, sizeof *es);
    int rc = CMD_EXIT_OK, loaded = 0;
    table t = {0};
    if (!es) {
        rc = CMD_EXIT_RUNTIME;
        goto done;
    }
    for (int i = 0; i < o.n; i++, loaded++) {
        if (load_entry(o.archives[i], &es[i]) != RT_OK) {
            fprintf(stderr, "pcan sweep report: %s\n", rt_error());
            rc = rt_error_status() == RT_ERR_NOMEM ? CMD_EXIT_RUNTIME : CMD_EXIT_USAGE;
            loaded++;
            goto done;
        }
        if (es[i].protocol >= 0) t.protocols |= 1 << es[i].protocol;
    }
    efficiency(es, o.n);
    for (int i = 0; i < o.n; i++)
        for (int k = 0; k < es[i].n_over; k++) add_key(&t, es[i].over_key[k]);
    const char *axis = o.axis, *metric = o.metric;
    if (!axis) {
        // The first key whose value differs between the archives.
        for (int k = 0; k < t.n_keys && !axis; k++) {
            char a[256], b[256];
            key_value(&es[0], t.keys[k], a, sizeof a);
            for (int i = 1; i < o.n && !axis; i++) {
                key_value(&es[i], t.keys[k], b, sizeof b);
                if (strcmp(a, b)) axis = t.keys[k];
            }
        }
        if (!axis) axis = "point";
    }
    {
        char probe[64];
        if (strcmp(axis, "point") && strcmp(axis, "ranks") && strcmp(axis, "threads") &&
            strncmp(axis, "cluster.", 8) && cmd_job_get(&es[0].job, axis, probe, sizeof probe)) {
            rc = cmd_usage_error("sweep",
                                 "report: --axis %s: not a job key, cluster.*, point, "
                                 "ranks or threads",
                                 axis);
            goto done;
        }
    }
    if (strcmp(axis, "point")) add_key(&t, axis);
    if (!metric)
        metric = t.protocols & 1   ? "HOTA"
                 : t.protocols & 2 ? "MOTSA"
                 : t.protocols & 4 ? "AP"
                                   : "fps";
    double probe;
    if (!value_of(&es[0], metric, &probe)) {
        rc = cmd_usage_error("sweep",
                             "report: --metric %s: not a metric field (HOTA, DetA, "
                             "sMOTSA, IDF1, AP, ...), fps, efficiency or seconds",
                             metric);
        goto done;
    }
    char p[PATH_MAX + 32];
    rt_status st = rt_mkdir_p(o.out);
    if (st == RT_OK) snprintf(p, sizeof p, "%s/report.csv", o.out), st = write_csv(p, es, o.n, &t);
    if (st == RT_OK)
        snprintf(p, sizeof p, "%s/report.md", o.out), st = write_md(p, es, o.n, &t, metric);
    if (st == RT_OK)
        snprintf(p, sizeof p, "%s/plot.svg", o.out), st = write_svg(p, es, o.n, &t, axis, metric);
    if (st != RT_OK) {
        fprintf(stderr, "pcan sweep report: %s\n", rt_error());
        rc = CMD_EXIT_RUNTIME;
        goto done;
    }
    put_md(stdout, es, o.n, &t, metric);
    fprintf(stderr,
            "pcan sweep report: %d archive%s -> %s/report.csv, report.md, plot.svg (%s "
            "against %s)\n",
            o.n, o.n == 1 ? "" : "s", o.out, metric, axis);
done:
    for (int i = 0; es && i < loaded; i++) {
        rt_free(es[i].job_text);
        cmd_job_free(&es[i].job);
    }
    rt_free(es);
    rt_free(o.archives);
    return rc;
}
