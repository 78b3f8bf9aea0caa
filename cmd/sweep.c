// pcan sweep — a base job times a grid of overrides: expand, point, submit (report:
// sweep_report.c).
//
// A sweep file (YAML, strict like a job file; every error names file:line:column):
//
//     base: tiny.yaml            # the base job: a job file (relative to this file) or a mapping
//     name: tiny-sweep           # archives <folder>/<name>-<K>.h5 (default: this file's name)
//     output: ../build/sweeps    # <folder> (default: the folder of the base's output.archive)
//     cluster: {nodes: 1, ntasks_per_node: 1, cpus_per_task: 1, time: "1:00:00", partition: ~}
//     grid:                      # every combination; the last key varies fastest
//       model.test.score_thr: [0.5, 0.7]
//       cluster.ntasks_per_node: [1, 2]
//
// Grid keys are model.* and run.* leaves of the job (applied with cmd_job_set, so each value gets
// the job parser's own checks and messages, at the value's place in the sweep file) and
// cluster.nodes / cluster.ntasks_per_node / cluster.cpus_per_task. Point K (0-based) is the base
// job with its overrides, output.archive <folder>/<name>-<K>.h5 (K zero-padded to the width of
// the last index), output.spool <archive>.spool, each output.exports dir suffixed with
// ".<name>-<K>", and run.threads_per_rank = its cpus_per_task when the job leaves it auto (so
// the archive records the thread count). `pcan sweep point` writes that effective job to
// <archive>.job.yaml (atomically; a header of `# pcan-sweep-*` comment lines records the point,
// its shape and overrides, which the report reads back from the archive's job attribute) and runs
// it through `pcan run` in the same process: under srun every rank of the array task does so.
//
// Submitting: one job array per cluster shape (Slurm sets the shape per job, not per array
// task): the array's indices are the point numbers of that shape, so SLURM_ARRAY_TASK_ID is the
// point. One shape gives <folder>/<name>.sbatch; several give <folder>/<name>.<N>x<T>x<C>.sbatch.
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "cmd/cmd.h"
#include "cmd/job.h"
#include "cmd/run.h"
#include "cmd/submit.h"
#include "runtime/fsutil.h"

#define SWEEP_MAX_POINTS 100000
#define SWEEP_MAX_AXES   32

typedef struct sweep_shape {
    long nodes, ntasks_per_node, cpus_per_task;
} sweep_shape;

typedef struct sweep_axis {
    char *key;
    int n;
    char **values;     // each value's YAML source text
    cmd_job_where *at; // each value's place (path = the sweep file)
    long *ints;        // cluster.* values
} sweep_axis;

typedef struct sweep {
    char *path; // as given (messages)
    char *dir;  // its folder, absolute
    char *text;
    size_t len;
    char *name;
    char *base_path; // absolute; NULL: inline
    char *base_text; // the sweep text with everything but the inline base blanked
    char *out_dir;   // absolute; NULL: the base archive's folder
    cmd_job_where out_at, base_at;
    sweep_shape shape;
    char *time, *partition;
    sweep_axis axes[SWEEP_MAX_AXES];
    int n_axes;
    long n_points;
} sweep;

static void sweep_free(sweep *s) {
    rt_free(s->path);
    rt_free(s->dir);
    rt_free(s->text);
    rt_free(s->name);
    rt_free(s->base_path);
    rt_free(s->base_text);
    rt_free(s->out_dir);
    rt_free(s->time);
    rt_free(s->partition);
    for (int a = 0; a < s->n_axes; a++) {
        for (int i = 0; i < s->axes[a].n; i++) rt_free(s->axes[a].values[i]);
        rt_free(s->axes[a].values);
        rt_free(s->axes[a].at);
        rt_free(s->axes[a].ints);
        rt_free(s->axes[a].key);
    }
    memset(s, 0, sizeof *s);
}

// ---------------------------------------------------------------------------------------------
// Parsing the sweep file (libyaml's document loader; positions from the node marks)

typedef struct sp {
    sweep *s;
    yaml_document_t doc;
} sp;

static rt_status serr(const sweep *s, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static rt_status serr(const sweep *s, const yaml_node_t *n, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = n ? (int)n->start_mark.line + 1 : 1, col = n ? (int)n->start_mark.column + 1 : 1;
    return rt_error_set(RT_ERR_CONFIG, "%s:%d:%d: %s", s->path, line, col, msg);
}

// Byte offset of (line, column) given in characters, both 0-based (libyaml's marks).
static size_t mark_offset(const char *text, size_t len, const yaml_mark_t *m) {
    size_t o = 0, line = 0, col = 0;
    while (o < len && line < m->line) {
        if (text[o++] == '\n') line++;
    }
    while (o < len && col < m->column && text[o] != '\n') {
        o++;
        while (o < len && ((unsigned char)text[o] & 0xC0) == 0x80) o++;
        col++;
    }
    return o;
}

static const char *scalar(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null_node(const yaml_node_t *n) {
    const char *v = scalar(n);
    return v && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!v[0] || !strcmp(v, "~") || !strcmp(v, "null"));
}

static char *path_join(const char *dir, const char *rel) {
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = rt_malloc(n);
    if (!p) return NULL;
    if (rel[0] == '/')
        snprintf(p, n, "%s", rel);
    else
        snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static rt_status get_long(const sweep *s, const yaml_node_t *n, const char *key, long lo, long hi,
                          long *out) {
    const char *v = scalar(n);
    char *end = NULL;
    errno = 0;
    long x = v && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? strtol(v, &end, 10) : 0;
    if (!v || !v[0] || !end || *end || errno || x < lo || x > hi)
        return serr(s, n, "%s: expected an integer in [%ld, %ld], got %s%s%s", key, lo, hi,
                    v ? "'" : "", v ? v : "a structure", v ? "'" : "");
    *out = x;
    return RT_OK;
}

static rt_status get_str(const sweep *s, const yaml_node_t *n, const char *key, char **out) {
    const char *v = scalar(n);
    if (!v || !v[0]) return serr(s, n, "%s: expected a non-empty string", key);
    rt_free(*out);
    if (!(*out = rt_strdup(v))) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    return RT_OK;
}

static const char *const CLUSTER_KEYS[] = {"nodes", "ntasks_per_node", "cpus_per_task",
                                           "time",  "partition",       NULL};

static rt_status cluster_value(const sweep *s, const yaml_node_t *n, int idx, const char *key,
                               long *out) {
    static const long hi[] = {100000, 4096, 4096};
    return get_long(s, n, key, 1, hi[idx], out);
}

static int key_index(const char *const *keys, const char *k) {
    for (int i = 0; keys[i]; i++)
        if (!strcmp(keys[i], k)) return i;
    return -1;
}

static rt_status parse_cluster(sp *p, const yaml_node_t *m) {
    sweep *s = p->s;
    if (is_null_node(m)) return RT_OK;
    if (m->type != YAML_MAPPING_NODE) return serr(s, m, "cluster: expected a mapping");
    unsigned seen = 0;
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(&p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(&p->doc, pr->value);
        int i = scalar(k) ? key_index(CLUSTER_KEYS, scalar(k)) : -1;
        if (i < 0)
            return serr(s, k,
                        "cluster.%s: unknown key (valid: nodes, ntasks_per_node, "
                        "cpus_per_task, time, partition)",
                        scalar(k) ? scalar(k) : "?");
        if (seen & (1u << i)) return serr(s, k, "cluster.%s: duplicate key", scalar(k));
        seen |= 1u << i;
        char key[64];
        snprintf(key, sizeof key, "cluster.%s", CLUSTER_KEYS[i]);
        rt_status st = RT_OK;
        long *dst[] = {&s->shape.nodes, &s->shape.ntasks_per_node, &s->shape.cpus_per_task};
        if (i < 3)
            st = cluster_value(s, v, i, key, dst[i]);
        else if (!is_null_node(v))
            st = get_str(s, v, key, i == 3 ? &s->time : &s->partition);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

static rt_status add_value(sweep_axis *ax, const char *text, size_t len, const cmd_job_where *at) {
    char **values = rt_realloc(ax->values, (size_t)(ax->n + 1) * sizeof *values);
    if (values) ax->values = values;
    cmd_job_where *w = rt_realloc(ax->at, (size_t)(ax->n + 1) * sizeof *w);
    if (w) ax->at = w;
    long *ints = rt_realloc(ax->ints, (size_t)(ax->n + 1) * sizeof *ints);
    if (ints) ax->ints = ints;
    char *v = rt_malloc(len + 1);
    if (!values || !w || !ints || !v) {
        rt_free(v);
        return rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    memcpy(v, text, len);
    v[len] = '\0';
    ax->values[ax->n] = v;
    ax->at[ax->n] = *at;
    ax->ints[ax->n] = 0;
    ax->n++;
    return RT_OK;
}

// `vi`: the value's node index (a list of values or one value).
static rt_status parse_axis(sp *p, const yaml_node_t *k, yaml_node_item_t vi) {
    sweep *s = p->s;
    const yaml_node_t *v = yaml_document_get_node(&p->doc, vi);
    const char *key = scalar(k);
    if (!key) return serr(s, k, "grid: keys must be job keys such as model.test.score_thr");
    bool cluster = !strncmp(key, "cluster.", 8);
    int ci = cluster ? key_index(CLUSTER_KEYS, key + 8) : -1;
    if (cluster && (ci < 0 || ci > 2))
        return serr(s, k,
                    "grid.%s: unknown key; the cluster keys of a grid are "
                    "cluster.nodes, cluster.ntasks_per_node, cluster.cpus_per_task",
                    key);
    if (!cluster && strncmp(key, "model.", 6) && strncmp(key, "run.", 4))
        return serr(s, k, "grid.%s: a grid varies model.*, run.* or cluster.* keys", key);
    for (int a = 0; a < s->n_axes; a++)
        if (!strcmp(s->axes[a].key, key)) return serr(s, k, "grid.%s: duplicate key", key);
    if (s->n_axes == SWEEP_MAX_AXES) return serr(s, k, "grid: more than %d keys", SWEEP_MAX_AXES);
    sweep_axis *ax = &s->axes[s->n_axes++];
    if (!(ax->key = rt_strdup(key))) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    const yaml_node_item_t *first = &vi, *end = first + 1; // one value, written without a list
    if (v->type == YAML_SEQUENCE_NODE) {
        first = v->data.sequence.items.start;
        end = v->data.sequence.items.top;
        if (first == end) return serr(s, v, "grid.%s: an empty list of values", key);
    }
    for (const yaml_node_item_t *it = first; it < end; it++) {
        yaml_node_t *e = yaml_document_get_node(&p->doc, *it);
        if (e->type != YAML_SCALAR_NODE || is_null_node(e))
            return serr(s, e, "grid.%s: expected a value%s", key,
                        e->type == YAML_SCALAR_NODE ? ", got null" : ", got a structure");
        size_t a = mark_offset(s->text, s->len, &e->start_mark);
        size_t b = mark_offset(s->text, s->len, &e->end_mark);
        if (b <= a || memchr(s->text + a, '\n', b - a))
            return serr(s, e, "grid.%s: write each value on one line", key);
        cmd_job_where at = {s->path, (int)e->start_mark.line + 1, (int)e->start_mark.column + 1};
        rt_status st = add_value(ax, s->text + a, b - a, &at);
        if (st == RT_OK && cluster) st = cluster_value(s, e, ci, key, &ax->ints[ax->n - 1]);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

static const char *const SWEEP_KEYS[] = {"base", "name", "output", "cluster", "grid", NULL};

static rt_status parse_top(sp *p) {
    sweep *s = p->s;
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    if (!root || is_null_node(root))
        return rt_error_set(RT_ERR_CONFIG,
                            "%s:1:1: empty sweep file; expected a mapping with "
                            "base and grid",
                            s->path);
    if (root->type != YAML_MAPPING_NODE) return serr(s, root, "expected a mapping (base, grid)");
    unsigned seen = 0;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(&p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(&p->doc, pr->value);
        int i = scalar(k) ? key_index(SWEEP_KEYS, scalar(k)) : -1;
        if (i < 0)
            return serr(s, k, "%s: unknown key (valid: base, name, output, cluster, grid)",
                        scalar(k) ? scalar(k) : "?");
        if (seen & (1u << i)) return serr(s, k, "%s: duplicate key", scalar(k));
        seen |= 1u << i;
        rt_status st = RT_OK;
        cmd_job_where at = {s->path, (int)v->start_mark.line + 1, (int)v->start_mark.column + 1};
        if (i == 0) {
            s->base_at = at;
            if (v->type == YAML_MAPPING_NODE) {
                // The inline job is parsed from the sweep text with everything else blanked, so
                // the job parser's messages carry the sweep file's own lines and columns.
                size_t a = mark_offset(s->text, s->len, &v->start_mark);
                size_t b = mark_offset(s->text, s->len, &v->end_mark);
                if (!(s->base_text = rt_malloc(s->len + 1)))
                    return rt_error_set(RT_ERR_NOMEM, "out of memory");
                for (size_t c = 0; c < s->len; c++)
                    s->base_text[c] = (c >= a && c < b) || s->text[c] == '\n' ? s->text[c] : ' ';
                s->base_text[s->len] = '\0';
            } else {
                char *rel = NULL;
                if ((st = get_str(s, v, "base", &rel)) != RT_OK) return st;
                s->base_path = path_join(s->dir, rel);
                rt_free(rel);
                if (!s->base_path) return rt_error_set(RT_ERR_NOMEM, "out of memory");
            }
        } else if (i == 1) {
            if ((st = get_str(s, v, "name", &s->name)) != RT_OK) return st;
            for (const char *c = s->name; *c; c++)
                if (!(*c == '-' || *c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
                      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
                    return serr(s, v, "name: use letters, digits, '.', '-' and '_' only");
        } else if (i == 2) {
            char *rel = NULL;
            if ((st = get_str(s, v, "output", &rel)) != RT_OK) return st;
            s->out_dir = path_join(s->dir, rel);
            rt_free(rel);
            if (!s->out_dir) return rt_error_set(RT_ERR_NOMEM, "out of memory");
            s->out_at = at;
        } else if (i == 3) {
            st = parse_cluster(p, v);
        } else if (!is_null_node(v)) {
            if (v->type != YAML_MAPPING_NODE)
                return serr(s, v, "grid: expected a mapping {job key: [values]}");
            for (yaml_node_pair_t *g = v->data.mapping.pairs.start;
                 g < v->data.mapping.pairs.top && st == RT_OK; g++)
                st = parse_axis(p, yaml_document_get_node(&p->doc, g->key), g->value);
        }
        if (st != RT_OK) return st;
    }
    if (!(seen & 1u)) return serr(s, root, "base: required key missing");
    s->n_points = 1;
    for (int a = 0; a < s->n_axes; a++) {
        s->n_points *= s->axes[a].n;
        if (s->n_points > SWEEP_MAX_POINTS)
            return rt_error_set(RT_ERR_CONFIG, "%s: the grid has more than %d points", s->path,
                                SWEEP_MAX_POINTS);
    }
    return RT_OK;
}

static rt_status sweep_load(const char *path, sweep *s) {
    memset(s, 0, sizeof *s);
    s->shape = (sweep_shape){1, 1, 1};
    if (!(s->path = rt_strdup(path))) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    FILE *f = fopen(path, "rb");
    if (!f) return rt_error_set(RT_ERR_IO, "%s: cannot open sweep file: %s", path, strerror(errno));
    s->text = rt_malloc(CMD_JOB_MAX_BYTES + 1);
    s->len = s->text ? fread(s->text, 1, CMD_JOB_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!s->text) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    if (s->len > CMD_JOB_MAX_BYTES)
        return rt_error_set(RT_ERR_CONFIG, "%s:1:1: larger than %d bytes", path, CMD_JOB_MAX_BYTES);
    s->text[s->len] = '\0';
    if (strlen(s->text) != s->len) return rt_error_set(RT_ERR_CONFIG, "%s: NUL byte", path);
    char abs[PATH_MAX];
    if (!realpath(path, abs)) return rt_error_set(RT_ERR_IO, "%s: %s", path, strerror(errno));
    char *slash = strrchr(abs, '/');
    if (slash == abs)
        slash[1] = '\0';
    else
        *slash = '\0';
    if (!(s->dir = rt_strdup(abs))) return rt_error_set(RT_ERR_NOMEM, "out of memory");

    sp p = {.s = s};
    yaml_parser_t y;
    if (!yaml_parser_initialize(&y)) return rt_error_set(RT_ERR_NOMEM, "libyaml init failed");
    yaml_parser_set_input_string(&y, (const unsigned char *)s->text, s->len);
    rt_status st;
    if (!yaml_parser_load(&y, &p.doc)) {
        const yaml_mark_t *m =
            y.problem_mark.line || y.problem_mark.column ? &y.problem_mark : &y.context_mark;
        st = rt_error_set(RT_ERR_CONFIG, "%s:%d:%d: YAML syntax: %s", path, (int)m->line + 1,
                          (int)m->column + 1, y.problem ? y.problem : "syntax error");
        yaml_parser_delete(&y);
        return st;
    }
    st = parse_top(&p);
    yaml_document_delete(&p.doc);
    // The loader stops after the first document; a second one would be ignored silently.
    if (st == RT_OK && yaml_parser_load(&y, &p.doc)) {
        const yaml_node_t *second = yaml_document_get_root_node(&p.doc);
        if (second)
            st = rt_error_set(RT_ERR_CONFIG,
                              "%s:%d:%d: more than one YAML document; a sweep file holds one", path,
                              (int)second->start_mark.line + 1, (int)second->start_mark.column + 1);
        yaml_document_delete(&p.doc);
    }
    yaml_parser_delete(&y);
    if (st != RT_OK) return st;
    if (!s->name) {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        if (!(s->name = rt_strdup(b))) return rt_error_set(RT_ERR_NOMEM, "out of memory");
        char *dot = strrchr(s->name, '.');
        if (dot && dot != s->name) *dot = '\0';
    }
    return RT_OK;
}

// ---------------------------------------------------------------------------------------------
// Points

// Value index of every axis for point k (the last axis varies fastest).
static void point_indices(const sweep *s, long k, int *idx) {
    for (int a = s->n_axes - 1; a >= 0; a--) {
        idx[a] = (int)(k % s->axes[a].n);
        k /= s->axes[a].n;
    }
}

static sweep_shape point_shape(const sweep *s, long k) {
    int idx[SWEEP_MAX_AXES];
    point_indices(s, k, idx);
    sweep_shape sh = s->shape;
    for (int a = 0; a < s->n_axes; a++) {
        const char *key = s->axes[a].key;
        long v = s->axes[a].ints[idx[a]];
        if (!strcmp(key, "cluster.nodes")) sh.nodes = v;
        if (!strcmp(key, "cluster.ntasks_per_node")) sh.ntasks_per_node = v;
        if (!strcmp(key, "cluster.cpus_per_task")) sh.cpus_per_task = v;
    }
    return sh;
}

static int index_width(const sweep *s) {
    int w = 1;
    for (long m = s->n_points - 1; m >= 10; m /= 10) w++;
    return w;
}

// "key=value key=value" of point k's grid values.
static void point_overrides(const sweep *s, long k, char *out, size_t cap) {
    int idx[SWEEP_MAX_AXES];
    point_indices(s, k, idx);
    size_t o = 0;
    out[0] = '\0';
    for (int a = 0; a < s->n_axes && o < cap; a++) {
        int w = snprintf(out + o, cap - o, "%s%s=%s", a ? " " : "", s->axes[a].key,
                         s->axes[a].values[idx[a]]);
        if (w < 0) break;
        o += (size_t)w;
    }
}

static rt_status set_path(cmd_job *job, const char *key, const char *path,
                          const cmd_job_where *at) {
    // A double-quoted YAML scalar of the path, through the same setter as every override.
    size_t n = 2 * strlen(path) + 3;
    char *q = rt_malloc(n);
    if (!q) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    size_t o = 0;
    q[o++] = '"';
    for (const char *c = path; *c; c++) {
        if (*c == '"' || *c == '\\') q[o++] = '\\';
        q[o++] = *c;
    }
    q[o++] = '"';
    q[o] = '\0';
    rt_status st = cmd_job_set(job, key, q, at);
    rt_free(q);
    return st;
}

// Point k's effective job (the caller frees it, also on failure) and its archive path.
static rt_status point_job(const sweep *s, long k, cmd_job *job) {
    rt_status st;
    if (s->base_path) {
        st = cmd_job_load(s->base_path, job);
    } else {
        st = cmd_job_parse(s->path, s->base_text, s->len, job);
    }
    if (st != RT_OK) return st;
    int idx[SWEEP_MAX_AXES];
    point_indices(s, k, idx);
    for (int a = 0; a < s->n_axes; a++) {
        const sweep_axis *ax = &s->axes[a];
        if (!strncmp(ax->key, "cluster.", 8)) continue;
        if ((st = cmd_job_set(job, ax->key, ax->values[idx[a]], &ax->at[idx[a]])) != RT_OK)
            return st;
    }
    char dir[PATH_MAX];
    if (s->out_dir) {
        snprintf(dir, sizeof dir, "%s", s->out_dir);
    } else {
        snprintf(dir, sizeof dir, "%s", job->output.archive);
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
    }
    char archive[PATH_MAX + 128], spool[PATH_MAX + 160];
    snprintf(archive, sizeof archive, "%s/%s-%0*ld.h5", dir, s->name, index_width(s), k);
    snprintf(spool, sizeof spool, "%s.spool", archive);
    const cmd_job_where *at = s->out_dir ? &s->out_at : &s->base_at;
    if ((st = set_path(job, "output.archive", archive, at)) != RT_OK) return st;
    if ((st = set_path(job, "output.spool", spool, at)) != RT_OK) return st;
    for (int i = 0; i < job->output.n_exports; i++) {
        cmd_export *e = &job->output.exports[i];
        size_t n = strlen(e->dir) + strlen(s->name) + 32;
        char *d = rt_malloc(n);
        if (!d) return rt_error_set(RT_ERR_NOMEM, "out of memory");
        snprintf(d, n, "%s.%s-%0*ld", e->dir, s->name, index_width(s), k);
        rt_free(e->dir);
        e->dir = d;
    }
    if (job->run.threads_per_rank == 0)
        job->run.threads_per_rank = (int)point_shape(s, k).cpus_per_task;
    return RT_OK;
}

// Writes point k's effective job next to its archive: <archive>.job.yaml.
static rt_status write_point_job(const sweep *s, long k, const cmd_job *job, char *path,
                                 size_t cap) {
    snprintf(path, cap, "%s.job.yaml", job->output.archive);
    sweep_shape sh = point_shape(s, k);
    char abs[PATH_MAX];
    if (!realpath(s->path, abs)) snprintf(abs, sizeof abs, "%s", s->path);
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path);
    if (st != RT_OK) return st;
    fprintf(af.f,
            "# The effective job of point %ld of the sweep %s, written by pcan sweep point.\n", k,
            abs);
    fprintf(af.f, "# pcan-sweep-point: %ld of %ld\n", k, s->n_points);
    fprintf(af.f, "# pcan-sweep-cluster: nodes=%ld ntasks_per_node=%ld cpus_per_task=%ld\n",
            sh.nodes, sh.ntasks_per_node, sh.cpus_per_task);
    int idx[SWEEP_MAX_AXES];
    point_indices(s, k, idx);
    for (int a = 0; a < s->n_axes; a++)
        fprintf(af.f, "# pcan-sweep-override: %s=%s\n", s->axes[a].key, s->axes[a].values[idx[a]]);
    st = cmd_job_write(job, af.f);
    if (st != RT_OK) {
        rt_atomic_abort(&af);
        return st;
    }
    return rt_atomic_commit(&af);
}

// ---------------------------------------------------------------------------------------------
// Subcommands

static int fail_quiet(void) {
    return rt_error_status() == RT_ERR_NOMEM ? CMD_EXIT_RUNTIME : CMD_EXIT_USAGE;
}

static int fail_usage(const char *what) {
    fprintf(stderr, "pcan sweep %s: %s\n", what, rt_error());
    return rt_error_status() == RT_ERR_NOMEM ? CMD_EXIT_RUNTIME : CMD_EXIT_USAGE;
}

static int sweep_expand(int argc, char **argv) {
    if (argc != 2) return cmd_usage_error("sweep", "expand takes one SWEEP.yaml");
    sweep s;
    int rc = CMD_EXIT_OK;
    if (sweep_load(argv[1], &s) != RT_OK) {
        rc = fail_usage("expand");
        goto done;
    }
    // Every point is built (and so checked) before anything is printed.
    for (long k = 0; k < s.n_points; k++) {
        cmd_job job;
        rt_status st = point_job(&s, k, &job);
        cmd_job_free(&job);
        if (st != RT_OK) {
            rc = fail_usage("expand");
            goto done;
        }
    }
    printf("# %s: %ld point%s (index, nodes x tasks per node x cpus per task, overrides, "
           "archive)\n",
           s.path, s.n_points, s.n_points == 1 ? "" : "s");
    for (long k = 0; k < s.n_points; k++) {
        cmd_job job;
        point_job(&s, k, &job);
        sweep_shape sh = point_shape(&s, k);
        char ov[4096];
        point_overrides(&s, k, ov, sizeof ov);
        printf("%ld\t%ldx%ldx%ld\t%s\t%s\n", k, sh.nodes, sh.ntasks_per_node, sh.cpus_per_task,
               ov[0] ? ov : "-", job.output.archive);
        cmd_job_free(&job);
    }
done:
    sweep_free(&s);
    return rc;
}

// Before MPI_Init (which `pcan run` does), this process's rank from the launcher's environment,
// so that only one rank of a point prints its banner or a problem with the sweep; 0 if unknown.
static long launcher_rank(void) {
    static const char *const vars[] = {"PMIX_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK",
                                       "SLURM_PROCID"};
    for (int i = 0; i < 4; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strtol(v, NULL, 10);
    }
    return 0;
}

static int sweep_point(int argc, char **argv) {
    const char *path = NULL, *kstr = NULL;
    bool verbose = false, retry = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
            verbose = true;
        else if (!strcmp(argv[i], "--retry-failed"))
            retry = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return cmd_usage_error("sweep", "point: unknown option '%s'", argv[i]);
        else if (!path)
            path = argv[i];
        else if (!kstr)
            kstr = argv[i];
        else
            return cmd_usage_error("sweep", "point takes SWEEP.yaml K");
    }
    if (!path || !kstr) return cmd_usage_error("sweep", "point takes SWEEP.yaml K");
    sweep s;
    cmd_job job;
    cmd_job_defaults(&job);
    int rc = CMD_EXIT_OK;
    char jpath[PATH_MAX + 64];
    char *end;
    errno = 0;
    long k = strtol(kstr, &end, 10);
    if (!kstr[0] || *end || errno) k = -1;
    bool speak = launcher_rank() == 0; // every rank of the point runs this
    if (sweep_load(path, &s) != RT_OK) {
        rc = speak ? fail_usage("point") : fail_quiet();
        goto done;
    }
    if (k < 0 || k >= s.n_points) {
        rc = !speak ? CMD_EXIT_USAGE
                    : cmd_usage_error("sweep", "point: K must be in 0..%ld, got '%s'",
                                      s.n_points - 1, kstr);
        goto done;
    }
    if (point_job(&s, k, &job) != RT_OK || cmd_job_validate(&job) != RT_OK ||
        write_point_job(&s, k, &job, jpath, sizeof jpath) != RT_OK) {
        rc = speak ? fail_usage("point") : fail_quiet();
        goto done;
    }
    char ov[4096];
    point_overrides(&s, k, ov, sizeof ov);
    if (speak)
        fprintf(stderr, "pcan sweep point %ld/%ld: %s -> %s\n", k, s.n_points,
                ov[0] ? ov : "(base)", job.output.archive);
    char *rargv[4] = {"run", jpath, NULL, NULL};
    int rargc = 2;
    if (verbose) rargv[rargc++] = "--verbose";
    if (retry) rargv[rargc++] = "--retry-failed";
    rc = cmd_run_main(rargc, rargv);
done:
    cmd_job_free(&job);
    sweep_free(&s);
    return rc;
}

// "0-2,5,7-9" from a sorted list of point numbers.
static void array_spec(const long *ks, int n, long max_parallel, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n && o < cap;) {
        int j = i;
        while (j + 1 < n && ks[j + 1] == ks[j] + 1) j++;
        int w = j > i ? snprintf(out + o, cap - o, "%s%ld-%ld", i ? "," : "", ks[i], ks[j])
                      : snprintf(out + o, cap - o, "%s%ld", i ? "," : "", ks[i]);
        if (w < 0) break;
        o += (size_t)w;
        i = j + 1;
    }
    if (max_parallel > 0 && o < cap) snprintf(out + o, cap - o, "%%%ld", max_parallel);
}

static bool valid_time(const char *t) {
    int d, h, m, sec;
    char c;
    if (sscanf(t, "%d-%d:%d:%d%c", &d, &h, &m, &sec, &c) == 4)
        return d >= 0 && h >= 0 && h < 24 && m >= 0 && m < 60 && sec >= 0 && sec < 60;
    if (sscanf(t, "%d:%d:%d%c", &h, &m, &sec, &c) == 3)
        return h >= 0 && m >= 0 && m < 60 && sec >= 0 && sec < 60;
    return false;
}

static int sweep_submit(int argc, char **argv) {
    const char *path = NULL, *time = NULL, *partition = NULL, *tdir = NULL;
    long max_parallel = 0;
    bool dry = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--max-parallel") || !strcmp(a, "--time") ||
                     !strcmp(a, "--partition") || !strcmp(a, "--template-dir");
        if (takes && !val) return cmd_usage_error("sweep", "%s needs a value", a);
        if (!strcmp(a, "--dry-run")) {
            dry = true;
            continue;
        }
        if (!takes) {
            if (a[0] == '-' && a[1])
                return cmd_usage_error("sweep", "submit: unknown option %s", a);
            if (path) return cmd_usage_error("sweep", "submit takes one SWEEP.yaml");
            path = a;
            continue;
        }
        i++;
        if (!strcmp(a, "--max-parallel")) {
            char *end;
            errno = 0;
            max_parallel = strtol(val, &end, 10);
            if (!*val || *end || errno || max_parallel < 1 || max_parallel > 100000)
                return cmd_usage_error("sweep",
                                       "--max-parallel: expected an integer >= 1, got '%s'", val);
        } else if (!strcmp(a, "--time")) {
            if (!valid_time(val))
                return cmd_usage_error("sweep", "--time: expected HH:MM:SS or D-HH:MM:SS, got '%s'",
                                       val);
            time = val;
        } else if (!strcmp(a, "--partition")) {
            partition = val;
        } else {
            tdir = val;
        }
    }
    if (!path) return cmd_usage_error("sweep", "submit: missing SWEEP.yaml");
    sweep s;
    int rc = CMD_EXIT_OK;
    long *ks = NULL;
    sweep_shape *shapes = NULL;
    if (sweep_load(path, &s) != RT_OK) {
        rc = fail_usage("submit");
        goto done;
    }
    if (!time) time = s.time ? s.time : "24:00:00";
    if (!partition) partition = s.partition;
    if (!valid_time(time)) {
        rc = cmd_usage_error("sweep", "cluster.time: expected HH:MM:SS or D-HH:MM:SS, got '%s'",
                             time);
        goto done;
    }
    if (partition)
        for (const char *c = partition; *c; c++)
            if (!(*c == '-' || *c == '_' || *c == ',' || (*c >= '0' && *c <= '9') ||
                  (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))) {
                rc = cmd_usage_error("sweep", "partition: unexpected character in '%s'", partition);
                goto done;
            }
    ks = rt_malloc((size_t)s.n_points * sizeof *ks);
    shapes = rt_malloc((size_t)s.n_points * sizeof *shapes);
    if (!ks || !shapes) {
        rt_error_set(RT_ERR_NOMEM, "out of memory");
        rc = fail_usage("submit");
        goto done;
    }
    // Every point is checked with the strict parser before anything is queued; the folder of
    // the archives is where the scripts and logs go.
    char dir[PATH_MAX];
    for (long k = 0; k < s.n_points; k++) {
        cmd_job job;
        rt_status st = point_job(&s, k, &job);
        if (st == RT_OK && k == 0) {
            snprintf(dir, sizeof dir, "%s", job.output.archive);
            *strrchr(dir, '/') = '\0';
        }
        cmd_job_free(&job);
        if (st != RT_OK) {
            rc = fail_usage("submit");
            goto done;
        }
        shapes[k] = point_shape(&s, k);
    }
    int n_groups = 0;
    for (long k = 0; k < s.n_points; k++) {
        bool seen = false;
        for (long j = 0; j < k && !seen; j++)
            seen = !memcmp(&shapes[j], &shapes[k], sizeof shapes[k]);
        n_groups += !seen;
    }
    char exe[PATH_MAX], q_exe[3 * PATH_MAX], q_sweep[3 * PATH_MAX], abs[PATH_MAX];
    cmd_self_exe(exe, sizeof exe);
    cmd_shell_quote(exe, q_exe, sizeof q_exe);
    if (!realpath(path, abs)) snprintf(abs, sizeof abs, "%s", path);
    cmd_shell_quote(abs, q_sweep, sizeof q_sweep);
    char tpath[PATH_MAX + 64];
    if (cmd_sbatch_template(tdir, "sweep.sbatch", tpath, sizeof tpath) != RT_OK) {
        rc = fail_usage("submit");
        goto done;
    }
    for (long k = 0; k < s.n_points; k++) {
        bool seen = false;
        for (long j = 0; j < k && !seen; j++)
            seen = !memcmp(&shapes[j], &shapes[k], sizeof shapes[k]);
        if (seen) continue;
        int n = 0;
        for (long j = k; j < s.n_points; j++)
            if (!memcmp(&shapes[j], &shapes[k], sizeof shapes[k])) ks[n++] = j;
        const sweep_shape *sh = &shapes[k];
        char tag[96] = "", script[PATH_MAX + 256], log[PATH_MAX + 256], array[8192];
        char nodes[24], tpn[24], cpt[24], jname[96];
        if (n_groups > 1)
            snprintf(tag, sizeof tag, ".%ldx%ldx%ld", sh->nodes, sh->ntasks_per_node,
                     sh->cpus_per_task);
        snprintf(script, sizeof script, "%s/%s%s.sbatch", dir, s.name, tag);
        snprintf(log, sizeof log, "%s/%s-%%a.%%A.log", dir, s.name);
        array_spec(ks, n, max_parallel, array, sizeof array);
        snprintf(nodes, sizeof nodes, "%ld", sh->nodes);
        snprintf(tpn, sizeof tpn, "%ld", sh->ntasks_per_node);
        snprintf(cpt, sizeof cpt, "%ld", sh->cpus_per_task);
        snprintf(jname, sizeof jname, "pcan-sweep-%.60s", s.name);
        const cmd_sbatch_field fields[] = {
            {"NAME", jname},          {"ARRAY", array},       {"NODES", nodes},
            {"NTASKS_PER_NODE", tpn}, {"CPUS_PER_TASK", cpt}, {"TIME", time},
            {"PARTITION", partition}, {"LOG", log},           {"PCAN", q_exe},
            {"SWEEP", q_sweep},
        };
        int nf = (int)(sizeof fields / sizeof fields[0]);
        if (dry) printf("# ---- %s: points %s ----\n", script, array);
        if (cmd_sbatch_fill(tpath, fields, nf, dry ? NULL : script) != RT_OK) {
            rc = fail_usage("submit");
            goto done;
        }
        if (dry) continue;
        char id[128];
        if (cmd_sbatch_submit(script, NULL, id, sizeof id) != RT_OK) {
            fprintf(stderr, "pcan sweep submit: %s\n", rt_error());
            rc = CMD_EXIT_RUNTIME;
            goto done;
        }
        printf("%s\n", id);
        fflush(stdout);
        fprintf(stderr, "pcan sweep submit: job array %s: points %s on %ldx%ldx%ld (%s)\n", id,
                array, sh->nodes, sh->ntasks_per_node, sh->cpus_per_task, script);
    }
done:
    rt_free(ks);
    rt_free(shapes);
    sweep_free(&s);
    return rc;
}

int cmd_sweep_main(int argc, char **argv) {
    if (argc < 2) return cmd_usage_error("sweep", "missing expand|point|submit|report");
    const char *sub = argv[1];
    if (!strcmp(sub, "expand")) return sweep_expand(argc - 1, argv + 1);
    if (!strcmp(sub, "point")) return sweep_point(argc - 1, argv + 1);
    if (!strcmp(sub, "submit")) return sweep_submit(argc - 1, argv + 1);
    if (!strcmp(sub, "report")) return cmd_sweep_report_main(argc - 1, argv + 1);
    return cmd_usage_error("sweep", "unknown sweep command '%s' (expand, point, submit, report)",
                           sub);
}
