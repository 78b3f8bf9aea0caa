// Job file parsing: libyaml events -> a small node tree with positions -> the typed cmd_job.
// The tree step exists so that every error can name file:line:column, duplicate keys can be
// caught (libyaml's document loader keeps the last one silently) and nesting can be bounded.
#include "cmd/job.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cmd/cmd.h"

// ---------------------------------------------------------------------------------------------
// Node tree

typedef enum { NODE_SCALAR, NODE_MAP, NODE_SEQ } node_type;

typedef struct node {
    node_type type;
    int line, col;   // 1-based
    bool plain;      // scalar written without quotes
    char *value;     // scalar text (owned)
    int first, next; // first child, next sibling (-1 = none); a map's children alternate key, value
    int count;       // children
} node;

typedef struct tree {
    node *nodes;
    int n, cap;
} tree;

typedef struct parser {
    const char *path; // for messages
    const char *dir;  // for relative paths
    int file;         // cmd_job_mark.file of the values parsed (0: the job file)
    tree t;
    cmd_job *job;
} parser;

static rt_status perr(const parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static rt_status perr(const parser *p, int line, int col, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rt_error_set(RT_ERR_CONFIG, "%s:%d:%d: %s", p->path, line, col, msg);
}

static void tree_free(tree *t) {
    for (int i = 0; i < t->n; i++) rt_free(t->nodes[i].value);
    rt_free(t->nodes);
    memset(t, 0, sizeof *t);
}

static int tree_add(parser *p, node_type type, const yaml_mark_t *m) {
    tree *t = &p->t;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        node *nn = rt_realloc(t->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return -1;
        t->nodes = nn;
        t->cap = cap;
    }
    node *n = &t->nodes[t->n];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    n->first = n->next = -1;
    return t->n++;
}

static void tree_link(tree *t, int parent, int *last_child, int child) {
    if (last_child[0] < 0)
        t->nodes[parent].first = child;
    else
        t->nodes[last_child[0]].next = child;
    last_child[0] = child;
    t->nodes[parent].count++;
}

static const char *yaml_problem_text(const yaml_parser_t *y) {
    return y->problem ? y->problem : "syntax error";
}

// Builds the tree of the single document in `text`. Returns the root node index or -1 (empty).
static rt_status tree_build(parser *p, const char *text, size_t len, int *root) {
    yaml_parser_t y;
    yaml_event_t ev;
    int stack[CMD_JOB_MAX_DEPTH + 1], last[CMD_JOB_MAX_DEPTH + 1], depth = 0;
    rt_status st = RT_OK;
    int documents = 0;
    *root = -1;
    if (!yaml_parser_initialize(&y)) return rt_error_set(RT_ERR_NOMEM, "libyaml init failed");
    yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&y, &ev)) {
            const yaml_mark_t *m =
                y.problem_mark.line || y.problem_mark.column ? &y.problem_mark : &y.context_mark;
            char extra[160] = "";
            if (y.context) snprintf(extra, sizeof extra, " (%s)", y.context);
            st = perr(p, (int)m->line + 1, (int)m->column + 1, "YAML syntax: %s%s",
                      yaml_problem_text(&y), extra);
            break;
        }
        yaml_event_type_t type = ev.type;
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (type == YAML_DOCUMENT_START_EVENT) {
            if (++documents > 1) {
                st = perr(p, line, col, "more than one YAML document; a job file holds one");
                yaml_event_delete(&ev);
                break;
            }
        } else if (type == YAML_ALIAS_EVENT) {
            st = perr(p, line, col, "YAML aliases are not supported in job files");
        } else if (type == YAML_SCALAR_EVENT || type == YAML_MAPPING_START_EVENT ||
                   type == YAML_SEQUENCE_START_EVENT) {
            const yaml_char_t *anchor = type == YAML_SCALAR_EVENT ? ev.data.scalar.anchor
                                        : type == YAML_MAPPING_START_EVENT
                                            ? ev.data.mapping_start.anchor
                                            : ev.data.sequence_start.anchor;
            if (anchor) {
                st = perr(p, line, col, "YAML anchors are not supported in job files");
            } else if (type != YAML_SCALAR_EVENT && depth >= CMD_JOB_MAX_DEPTH) {
                st = perr(p, line, col, "nesting deeper than %d levels", CMD_JOB_MAX_DEPTH);
            } else {
                node_type nt = type == YAML_SCALAR_EVENT          ? NODE_SCALAR
                               : type == YAML_MAPPING_START_EVENT ? NODE_MAP
                                                                  : NODE_SEQ;
                int id = tree_add(p, nt, &ev.start_mark);
                if (id < 0) {
                    st = rt_error_set(RT_ERR_NOMEM, "out of memory parsing %s", p->path);
                } else {
                    if (nt == NODE_SCALAR) {
                        node *n = &p->t.nodes[id];
                        n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                        n->value = rt_malloc(ev.data.scalar.length + 1);
                        if (!n->value) {
                            st = rt_error_set(RT_ERR_NOMEM, "out of memory parsing %s", p->path);
                        } else {
                            memcpy(n->value, ev.data.scalar.value, ev.data.scalar.length);
                            n->value[ev.data.scalar.length] = '\0';
                            if (strlen(n->value) != ev.data.scalar.length)
                                st = perr(p, line, col, "NUL character in a value");
                        }
                    }
                    if (st == RT_OK) {
                        if (depth == 0)
                            *root = id;
                        else
                            tree_link(&p->t, stack[depth - 1], &last[depth - 1], id);
                        if (nt != NODE_SCALAR) {
                            stack[depth] = id;
                            last[depth] = -1;
                            depth++;
                        }
                    }
                }
            }
        } else if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (st != RT_OK) break;
    }
    yaml_parser_delete(&y);
    return st;
}

// ---------------------------------------------------------------------------------------------
// Helpers for the schema walk

static node *N(parser *p, int i) { return &p->t.nodes[i]; }

static const char *type_name(const node *n) {
    return n->type == NODE_MAP ? "a mapping" : n->type == NODE_SEQ ? "a list" : "a value";
}

static bool is_null(const node *n) {
    return n->type == NODE_SCALAR && n->plain &&
           (!n->value[0] || !strcmp(n->value, "~") || !strcmp(n->value, "null") ||
            !strcmp(n->value, "Null") || !strcmp(n->value, "NULL"));
}

static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] +
                    (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = RT_MIN(c, RT_MIN(del, ins));
            // transposition ("fromat")
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = RT_MIN(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[la][lb];
}

static void join_keys(const char *const *keys, char *out, size_t cap) {
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; keys[i]; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", keys[i]);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
}

static rt_status unknown_key(parser *p, const node *k, const char *section,
                             const char *const *keys) {
    const char *best = NULL;
    int best_d = 99;
    for (int i = 0; keys[i]; i++) {
        int d = edit_distance(k->value, keys[i]);
        if (d < best_d) best_d = d, best = keys[i];
    }
    int limit = RT_MAX(2, (int)strlen(k->value) / 3);
    char list[512];
    join_keys(keys, list, sizeof list);
    const char *dot = section[0] ? "." : "";
    if (best && best_d <= limit)
        return perr(p, k->line, k->col, "%s%s%s: unknown key; did you mean '%s'? (valid: %s)",
                    section, dot, k->value, best, list);
    return perr(p, k->line, k->col, "%s%s%s: unknown key (valid: %s)", section, dot, k->value,
                list);
}

// Iterates a mapping; checks that every key is a plain scalar from `keys` and appears once.
// Calls back with the key index, and the key and value nodes.
typedef rt_status (*map_fn)(parser *p, const char *section, int key_index, int k, int v, void *ctx);

static rt_status walk_map(parser *p, int m, const char *section, const char *const *keys, map_fn fn,
                          void *ctx) {
    node *mn = N(p, m);
    if (mn->type != NODE_MAP)
        return perr(p, mn->line, mn->col, "%s: expected a mapping, got %s",
                    section[0] ? section : "job", type_name(mn));
    uint64_t seen = 0;
    for (int k = mn->first; k >= 0;) {
        int v = N(p, k)->next;
        node *kn = N(p, k);
        if (kn->type != NODE_SCALAR)
            return perr(p, kn->line, kn->col, "%s: keys must be plain names, got %s",
                        section[0] ? section : "job", type_name(kn));
        int idx = -1;
        for (int i = 0; keys[i]; i++)
            if (!strcmp(keys[i], kn->value)) idx = i;
        if (idx < 0) return unknown_key(p, kn, section, keys);
        if (seen & (1ull << idx))
            return perr(p, kn->line, kn->col, "%s%s%s: duplicate key", section,
                        section[0] ? "." : "", kn->value);
        seen |= 1ull << idx;
        rt_status st = fn(p, section, idx, k, v, ctx);
        if (st != RT_OK) return st;
        k = N(p, v)->next;
    }
    return RT_OK;
}

static rt_status require_keys(parser *p, int m, const char *section, const char *const *keys,
                              const char *const *required) {
    node *mn = N(p, m);
    for (int r = 0; required[r]; r++) {
        bool found = false;
        for (int k = mn->first; k >= 0; k = N(p, N(p, k)->next)->next)
            if (!strcmp(N(p, k)->value, required[r]) && !is_null(N(p, N(p, k)->next))) found = true;
        if (!found)
            return perr(p, mn->line, mn->col, "%s%s%s: required key missing", section,
                        section[0] ? "." : "", required[r]);
    }
    (void)keys;
    return RT_OK;
}

static rt_status want_scalar(parser *p, int v, const char *key, const char *what) {
    node *n = N(p, v);
    if (n->type != NODE_SCALAR)
        return perr(p, n->line, n->col, "%s: expected %s, got %s", key, what, type_name(n));
    return RT_OK;
}

static rt_status get_string(parser *p, int v, const char *key, char **out) {
    rt_status st = want_scalar(p, v, key, "a string");
    if (st != RT_OK) return st;
    node *n = N(p, v);
    if (!n->value[0]) return perr(p, n->line, n->col, "%s: expected a non-empty string", key);
    char *s = rt_strdup(n->value);
    if (!s) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    rt_free(*out);
    *out = s;
    return RT_OK;
}

// Lexically normalises an absolute path (".", "..", repeated slashes).
static void path_normalise(char *path) {
    char *out = path, *in = path;
    while (*in) {
        if (in[0] == '/' && in[1] == '/') {
            in++;
            continue;
        }
        if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || !in[2])) {
            in += 2;
            continue;
        }
        if (in[0] == '/' && in[1] == '.' && in[2] == '.' && (in[3] == '/' || !in[3])) {
            in += 3;
            while (out > path && *--out != '/') {
            }
            continue;
        }
        *out++ = *in++;
    }
    if (out == path) *out++ = '/';
    *out = '\0';
}

static char *path_resolve(const char *dir, const char *rel) {
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *s = rt_malloc(n);
    if (!s) return NULL;
    if (rel[0] == '/')
        snprintf(s, n, "%s", rel);
    else
        snprintf(s, n, "%s/%s", dir, rel);
    path_normalise(s);
    return s;
}

static rt_status get_path(parser *p, int v, const char *key, char **out, cmd_job_mark *at) {
    char *raw = NULL;
    rt_status st = get_string(p, v, key, &raw);
    if (st != RT_OK) return st;
    char *abs = path_resolve(p->dir, raw);
    rt_free(raw);
    if (!abs) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    rt_free(*out);
    *out = abs;
    if (at) at->line = N(p, v)->line, at->col = N(p, v)->col, at->file = p->file;
    return RT_OK;
}

static rt_status get_enum(parser *p, int v, const char *key, const char *const *names, int *out) {
    node *n = N(p, v);
    char list[256];
    join_keys(names, list, sizeof list);
    if (n->type != NODE_SCALAR)
        return perr(p, n->line, n->col, "%s: expected one of %s, got %s", key, list, type_name(n));
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], n->value)) {
            *out = i;
            return RT_OK;
        }
    return perr(p, n->line, n->col, "%s: expected one of %s, got '%s'", key, list, n->value);
}

static rt_status get_number(parser *p, int v, const char *key, double lo, double hi, double *out) {
    node *n = N(p, v);
    if (n->type != NODE_SCALAR || !n->plain || !n->value[0])
        return perr(p, n->line, n->col, "%s: expected a number in [%g, %g], got %s%s%s", key, lo,
                    hi, n->type == NODE_SCALAR ? "'" : "",
                    n->type == NODE_SCALAR ? n->value : type_name(n),
                    n->type == NODE_SCALAR ? "'" : "");
    char *end;
    errno = 0;
    double x = strtod(n->value, &end);
    if (*end || errno || !isfinite(x) || isspace((unsigned char)n->value[0]))
        return perr(p, n->line, n->col, "%s: expected a number in [%g, %g], got '%s'", key, lo, hi,
                    n->value);
    if (x < lo || x > hi)
        return perr(p, n->line, n->col, "%s: %s is out of range; expected a number in [%g, %g]",
                    key, n->value, lo, hi);
    *out = x;
    return RT_OK;
}

static rt_status get_int(parser *p, int v, const char *key, long lo, long hi, long *out) {
    node *n = N(p, v);
    if (n->type != NODE_SCALAR || !n->plain || !n->value[0])
        return perr(p, n->line, n->col, "%s: expected an integer in [%ld, %ld], got %s%s%s", key,
                    lo, hi, n->type == NODE_SCALAR ? "'" : "",
                    n->type == NODE_SCALAR ? n->value : type_name(n),
                    n->type == NODE_SCALAR ? "'" : "");
    char *end;
    errno = 0;
    long x = strtol(n->value, &end, 10);
    if (*end || isspace((unsigned char)n->value[0]))
        return perr(p, n->line, n->col, "%s: expected an integer in [%ld, %ld], got '%s'", key, lo,
                    hi, n->value);
    if (errno || x < lo || x > hi)
        return perr(p, n->line, n->col, "%s: %s is out of range; expected an integer in [%ld, %ld]",
                    key, n->value, lo, hi);
    *out = x;
    return RT_OK;
}

static rt_status get_bool(parser *p, int v, const char *key, bool *out) {
    node *n = N(p, v);
    if (n->type == NODE_SCALAR && n->plain) {
        if (!strcmp(n->value, "true")) return *out = true, RT_OK;
        if (!strcmp(n->value, "false")) return *out = false, RT_OK;
    }
    return perr(p, n->line, n->col, "%s: expected true or false, got %s%s%s", key,
                n->type == NODE_SCALAR ? "'" : "", n->type == NODE_SCALAR ? n->value : type_name(n),
                n->type == NODE_SCALAR ? "'" : "");
}

// fnmatch() has no error reporting, so reject patterns it would silently misread.
static const char *glob_problem(const char *g) {
    if (!*g) return "empty pattern";
    for (const char *s = g; *s; s++) {
        if (*s == '\\') {
            if (!s[1]) return "trailing backslash";
            s++;
        } else if (*s == '[') {
            const char *t = s + 1;
            if (*t == '!' || *t == '^') t++;
            if (*t == ']') t++;
            while (*t && *t != ']') t++;
            if (!*t) return "unclosed '['";
            s = t;
        }
    }
    return NULL;
}

static rt_status strlist_push(cmd_strlist *l, const char *s) {
    char **items = rt_realloc(l->items, (size_t)(l->count + 1) * sizeof *items);
    if (!items) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    l->items = items;
    if (!(items[l->count] = rt_strdup(s))) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    l->count++;
    return RT_OK;
}

static void strlist_free(cmd_strlist *l) {
    for (int i = 0; i < l->count; i++) rt_free(l->items[i]);
    rt_free(l->items);
    l->items = NULL;
    l->count = 0;
}

// A list of non-empty strings; also accepts a single string. `globs` validates patterns.
static rt_status get_strlist(parser *p, int v, const char *key, bool globs, cmd_strlist *out) {
    node *n = N(p, v);
    strlist_free(out);
    if (is_null(n)) return RT_OK;
    int first = v, single = 1;
    if (n->type == NODE_SEQ)
        first = n->first, single = 0;
    else if (n->type != NODE_SCALAR)
        return perr(p, n->line, n->col, "%s: expected a list of strings, got %s", key,
                    type_name(n));
    for (int i = first; i >= 0; i = single ? -1 : N(p, i)->next) {
        node *e = N(p, i);
        if (e->type != NODE_SCALAR || !e->value[0])
            return perr(p, e->line, e->col, "%s: expected a non-empty string, got %s", key,
                        e->type == NODE_SCALAR ? "an empty value" : type_name(e));
        const char *why = globs ? glob_problem(e->value) : NULL;
        if (why) return perr(p, e->line, e->col, "%s: bad glob '%s': %s", key, e->value, why);
        rt_status st = strlist_push(out, e->value);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

// ---------------------------------------------------------------------------------------------
// Sections

static const char *const DATASET_FORMATS[] = {"videos",       "frames",      "kitti-mots", "mots20",
                                              "bdd100k-mots", "youtube-vis", "synth",      NULL};
static const char *const MEMORY_MODES[] = {"video", "rank", NULL};
static const char *const EXPORT_FORMATS[] = {"kitti-mots",  "mots20",      "scalabel",
                                             "bdd-bitmask", "youtube-vis", NULL};
static const char *const PROTOCOLS[] = {"trackeval", "bdd100k", "youtube-vis", NULL};
static const char *const TRISTATE[] = {"auto", "false", "true", NULL};

const char *cmd_dataset_format_name(cmd_dataset_format f) { return DATASET_FORMATS[f]; }
const char *cmd_export_format_name(cmd_export_format f) { return EXPORT_FORMATS[f]; }
const char *cmd_metrics_protocol_name(cmd_metrics_protocol pr) { return PROTOCOLS[pr]; }

static const char *const TOP_KEYS[] = {"dataset", "model", "output", "run", "metrics", NULL};
static const char *const DATASET_KEYS[] = {"format",  "root",    "gt",      "split",
                                           "include", "exclude", "classes", NULL};
static const char *const MODEL_KEYS[] = {"weights", "prototype_memory", "test",
                                         "tracker", "refine_head",      NULL};
static const char *const TEST_KEYS[] = {"score_thr", "nms_iou", "max_per_img", "mask_thr", NULL};
static const char *const TRACKER_KEYS[] = {"init_score_thr",
                                           "obj_score_thr",
                                           "match_score_thr",
                                           "memo_tracklet_frames",
                                           "memo_backdrop_frames",
                                           "memo_momentum",
                                           NULL};
static const char *const OUTPUT_KEYS[] = {"archive", "spool", "exports", NULL};
static const char *const EXPORT_KEYS[] = {"format",        "dir",     "min_score",
                                          "min_track_len", "classes", NULL};
static const char *const RUN_KEYS[] = {"threads_per_rank", "resume",         "retries",
                                       "max_videos",       "progress_every", NULL};
static const char *const METRICS_KEYS[] = {"enabled", "protocol", "classes", NULL};

#define KEY(buf, section, name) snprintf(buf, sizeof buf, "%s.%s", section, name)

static rt_status class_map(parser *p, int v) {
    cmd_job *job = p->job;
    node *n = N(p, v);
    if (is_null(n)) return RT_OK;
    if (n->type != NODE_MAP)
        return perr(p, n->line, n->col,
                    "dataset.classes: expected a mapping {gt class id or name: model class "
                    "name}, got %s",
                    type_name(n));
    int count = n->count / 2;
    job->dataset.classes = rt_calloc((size_t)count, sizeof *job->dataset.classes);
    if (!job->dataset.classes) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    for (int k = n->first; k >= 0; k = N(p, N(p, k)->next)->next) {
        node *kn = N(p, k), *vn = N(p, kn->next);
        if (kn->type != NODE_SCALAR || !kn->value[0])
            return perr(p, kn->line, kn->col, "dataset.classes: keys must be class ids or names");
        for (int i = 0; i < job->dataset.n_classes; i++)
            if (!strcmp(job->dataset.classes[i].from, kn->value))
                return perr(p, kn->line, kn->col, "dataset.classes.%s: duplicate key", kn->value);
        if (vn->type != NODE_SCALAR || !vn->value[0])
            return perr(p, vn->line, vn->col, "dataset.classes.%s: expected a model class name",
                        kn->value);
        cmd_class_map_entry *e = &job->dataset.classes[job->dataset.n_classes++];
        e->from = rt_strdup(kn->value);
        e->to = rt_strdup(vn->value);
        if (!e->from || !e->to) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    return RT_OK;
}

static rt_status on_dataset(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    cmd_job *job = p->job;
    char key[96];
    (void)ctx;
    KEY(key, sec, N(p, k)->value);
    if (is_null(N(p, v)) && idx > 1) return RT_OK; // optional keys may be left empty
    switch (idx) {
    case 0: {
        int f;
        rt_status st = get_enum(p, v, key, DATASET_FORMATS, &f);
        job->dataset.format = (cmd_dataset_format)f;
        return st;
    }
    case 1: return get_path(p, v, key, &job->dataset.root, &job->dataset.root_at);
    case 2: return get_path(p, v, key, &job->dataset.gt, &job->dataset.gt_at);
    case 3: return get_string(p, v, key, &job->dataset.split);
    case 4: return get_strlist(p, v, key, true, &job->dataset.include);
    case 5: return get_strlist(p, v, key, true, &job->dataset.exclude);
    default: return class_map(p, v);
    }
}

static rt_status on_test(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    cmd_job *job = p->job;
    char key[96];
    long x;
    (void)ctx;
    KEY(key, sec, N(p, k)->value);
    switch (idx) {
    case 0: return get_number(p, v, key, 0, 1, &job->model.test.score_thr);
    case 1: return get_number(p, v, key, 0, 1, &job->model.test.nms_iou);
    case 2: {
        rt_status st = get_int(p, v, key, 1, 1000, &x);
        job->model.test.max_per_img = (int)x;
        return st;
    }
    default: return get_number(p, v, key, 0, 1, &job->model.test.mask_thr);
    }
}

static rt_status on_tracker(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    cmd_job *job = p->job;
    char key[96];
    long x = 0;
    rt_status st;
    (void)ctx;
    KEY(key, sec, N(p, k)->value);
    switch (idx) {
    case 0: return get_number(p, v, key, 0, 1, &job->model.tracker.init_score_thr);
    case 1: return get_number(p, v, key, 0, 1, &job->model.tracker.obj_score_thr);
    case 2: return get_number(p, v, key, 0, 1, &job->model.tracker.match_score_thr);
    case 3:
        st = get_int(p, v, key, 1, 10000, &x);
        job->model.tracker.memo_tracklet_frames = (int)x;
        return st;
    case 4:
        st = get_int(p, v, key, 0, 100, &x);
        job->model.tracker.memo_backdrop_frames = (int)x;
        return st;
    default: return get_number(p, v, key, 0, 1, &job->model.tracker.memo_momentum);
    }
}

static rt_status on_model(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    cmd_job *job = p->job;
    char key[96];
    (void)ctx;
    KEY(key, sec, N(p, k)->value);
    if (is_null(N(p, v)) && idx > 0) return RT_OK;
    switch (idx) {
    case 0: return get_path(p, v, key, &job->model.weights, &job->model.weights_at);
    case 1: {
        int m;
        rt_status st = get_enum(p, v, key, MEMORY_MODES, &m);
        job->model.prototype_memory = (cmd_prototype_memory)m;
        return st;
    }
    case 2: return walk_map(p, v, "model.test", TEST_KEYS, on_test, NULL);
    case 3: return walk_map(p, v, "model.tracker", TRACKER_KEYS, on_tracker, NULL);
    default: return get_bool(p, v, key, &job->model.refine_head);
    }
}

static rt_status on_export(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    cmd_export *e = ctx;
    char key[96];
    long x;
    KEY(key, sec, N(p, k)->value);
    switch (idx) {
    case 0: {
        int f;
        rt_status st = get_enum(p, v, key, EXPORT_FORMATS, &f);
        e->format = (cmd_export_format)f;
        return st;
    }
    case 1: return get_path(p, v, key, &e->dir, &e->dir_at);
    case 2: return get_number(p, v, key, 0, 1, &e->min_score);
    case 3: {
        rt_status st = get_int(p, v, key, 1, 1000000, &x);
        e->min_track_len = (int)x;
        return st;
    }
    default: return get_strlist(p, v, key, false, &e->classes);
    }
}

static rt_status exports_list(parser *p, int v) {
    cmd_job *job = p->job;
    node *n = N(p, v);
    if (is_null(n)) return RT_OK;
    if (n->type != NODE_SEQ)
        return perr(p, n->line, n->col, "output.exports: expected a list of mappings, got %s",
                    type_name(n));
    job->output.exports = rt_calloc((size_t)RT_MAX(n->count, 1), sizeof *job->output.exports);
    if (!job->output.exports) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    int i = 0;
    for (int c = n->first; c >= 0; c = N(p, c)->next, i++) {
        cmd_export *e = &job->output.exports[job->output.n_exports++];
        e->min_score = 0;
        e->min_track_len = 1;
        char sec[48];
        snprintf(sec, sizeof sec, "output.exports[%d]", i);
        rt_status st = walk_map(p, c, sec, EXPORT_KEYS, on_export, e);
        if (st != RT_OK) return st;
        static const char *const req[] = {"format", "dir", NULL};
        st = require_keys(p, c, sec, EXPORT_KEYS, req);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

static rt_status on_output(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    cmd_job *job = p->job;
    char key[96];
    (void)ctx;
    KEY(key, sec, N(p, k)->value);
    if (is_null(N(p, v)) && idx > 0) return RT_OK;
    switch (idx) {
    case 0: return get_path(p, v, key, &job->output.archive, &job->output.archive_at);
    case 1: return get_path(p, v, key, &job->output.spool, &job->output.spool_at);
    default: return exports_list(p, v);
    }
}

static rt_status on_run(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    cmd_job *job = p->job;
    char key[96];
    long x = 0;
    rt_status st;
    (void)ctx;
    KEY(key, sec, N(p, k)->value);
    switch (idx) {
    case 0:
        if (N(p, v)->type == NODE_SCALAR && !strcmp(N(p, v)->value, "auto")) {
            job->run.threads_per_rank = 0;
            return RT_OK;
        }
        if (N(p, v)->type == NODE_SCALAR && N(p, v)->plain) {
            char *end;
            strtol(N(p, v)->value, &end, 10);
            if (*end || !N(p, v)->value[0])
                return perr(p, N(p, v)->line, N(p, v)->col,
                            "%s: expected auto or an integer in [1, 1024], got '%s'", key,
                            N(p, v)->value);
        }
        st = get_int(p, v, key, 1, 1024, &x);
        job->run.threads_per_rank = (int)x;
        return st;
    case 1: return get_bool(p, v, key, &job->run.resume);
    case 2:
        st = get_int(p, v, key, 0, 100, &x);
        job->run.retries = (int)x;
        return st;
    case 3: return get_int(p, v, key, 0, 1000000000L, &job->run.max_videos);
    default: return get_number(p, v, key, 0.1, 86400, &job->run.progress_every);
    }
}

static rt_status on_metrics(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    cmd_job *job = p->job;
    char key[96];
    int e;
    rt_status st;
    (void)ctx;
    KEY(key, sec, N(p, k)->value);
    switch (idx) {
    case 0:
        st = get_enum(p, v, key, TRISTATE, &e);
        job->metrics.enabled = e == 0 ? CMD_AUTO : e == 1 ? CMD_FALSE : CMD_TRUE;
        return st;
    case 1:
        st = get_enum(p, v, key, PROTOCOLS, &e);
        job->metrics.protocol = (cmd_metrics_protocol)e;
        return st;
    default: return get_strlist(p, v, key, false, &job->metrics.classes);
    }
}

static rt_status on_top(parser *p, const char *sec, int idx, int k, int v, void *ctx) {
    (void)sec, (void)ctx, (void)k;
    static const char *const dataset_req[] = {"format", "root", NULL};
    static const char *const model_req[] = {"weights", NULL};
    static const char *const output_req[] = {"archive", NULL};
    rt_status st;
    switch (idx) {
    case 0:
        st = walk_map(p, v, "dataset", DATASET_KEYS, on_dataset, NULL);
        return st != RT_OK ? st : require_keys(p, v, "dataset", DATASET_KEYS, dataset_req);
    case 1:
        st = walk_map(p, v, "model", MODEL_KEYS, on_model, NULL);
        return st != RT_OK ? st : require_keys(p, v, "model", MODEL_KEYS, model_req);
    case 2:
        st = walk_map(p, v, "output", OUTPUT_KEYS, on_output, NULL);
        return st != RT_OK ? st : require_keys(p, v, "output", OUTPUT_KEYS, output_req);
    case 3: return is_null(N(p, v)) ? RT_OK : walk_map(p, v, "run", RUN_KEYS, on_run, NULL);
    default:
        return is_null(N(p, v)) ? RT_OK : walk_map(p, v, "metrics", METRICS_KEYS, on_metrics, NULL);
    }
}

// ---------------------------------------------------------------------------------------------
// Public

void cmd_job_defaults(cmd_job *job) {
    memset(job, 0, sizeof *job);
    job->dataset.format = CMD_DATASET_VIDEOS;
    job->model.prototype_memory = CMD_PROTOTYPE_MEMORY_VIDEO;
    job->model.refine_head = true;
    job->model.test.score_thr = NAN;
    job->model.test.nms_iou = NAN;
    job->model.test.mask_thr = NAN;
    job->model.test.max_per_img = -1;
    job->model.tracker.init_score_thr = NAN;
    job->model.tracker.obj_score_thr = NAN;
    job->model.tracker.match_score_thr = NAN;
    job->model.tracker.memo_momentum = NAN;
    job->model.tracker.memo_tracklet_frames = -1;
    job->model.tracker.memo_backdrop_frames = -1;
    job->run.threads_per_rank = 0;
    job->run.resume = true;
    job->run.retries = 1;
    job->run.max_videos = 0;
    job->run.progress_every = 10;
    job->metrics.enabled = CMD_AUTO;
    job->metrics.protocol = CMD_METRICS_TRACKEVAL;
}

static const char *utf8_problem(const unsigned char *s, size_t n, size_t *at) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + (size_t)len > n) return *at = i, "invalid UTF-8";
        for (int k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) return *at = i, "invalid UTF-8";
        if (c == 0) return *at = i, "NUL byte (binary file?)";
        i += (size_t)len;
    }
    return NULL;
}

static void offset_to_linecol(const char *text, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n')
            ++*line, *col = 1;
        else if (((unsigned char)text[i] & 0xC0) != 0x80)
            ++*col;
    }
}

rt_status cmd_job_parse(const char *path, const char *text, size_t len, cmd_job *job) {
    parser p = {0};
    rt_status st = RT_OK;
    char *abs = NULL, *dir = NULL;
    cmd_job_defaults(job);

    abs = path[0] == '/' ? rt_strdup(path) : NULL;
    if (!abs) {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) return rt_error_set(RT_ERR_IO, "getcwd: %s", strerror(errno));
        abs = path_resolve(cwd, path);
    } else {
        path_normalise(abs);
    }
    if (!abs) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    dir = rt_strdup(abs);
    if (!dir) {
        rt_free(abs);
        return rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    job->path = abs;
    job->dir = dir;
    if (!(job->text = rt_malloc(len + 1))) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    memcpy(job->text, text, len);
    job->text[len] = '\0';

    p.path = path;
    p.dir = dir;
    p.job = job;

    size_t bad_at;
    const char *why = utf8_problem((const unsigned char *)text, len, &bad_at);
    if (why) {
        int line, col;
        offset_to_linecol(text, bad_at, &line, &col);
        return perr(&p, line, col, "%s; a job file is UTF-8 text", why);
    }
    int root;
    st = tree_build(&p, text, len, &root);
    if (st != RT_OK) goto done;
    if (root < 0 || is_null(N(&p, root))) {
        st = perr(&p, 1, 1, "empty job file; expected a mapping with dataset, model and output");
        goto done;
    }
    st = walk_map(&p, root, "", TOP_KEYS, on_top, NULL);
    if (st != RT_OK) goto done;
    static const char *const top_req[] = {"dataset", "model", "output", NULL};
    st = require_keys(&p, root, "", TOP_KEYS, top_req);
    if (st != RT_OK) goto done;

    if (!job->output.spool) {
        size_t n = strlen(job->output.archive) + 7;
        if (!(job->output.spool = rt_malloc(n))) {
            st = rt_error_set(RT_ERR_NOMEM, "out of memory");
            goto done;
        }
        snprintf(job->output.spool, n, "%s.spool", job->output.archive);
        job->output.spool_at = job->output.archive_at;
    }
done:
    tree_free(&p.t);
    return st;
}

rt_status cmd_job_load(const char *path, cmd_job *job) {
    cmd_job_defaults(job);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return rt_error_set(RT_ERR_IO, "%s: cannot open job file: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return rt_error_set(RT_ERR_IO, "%s: is a directory, not a job file", path);
    if (sb.st_size > CMD_JOB_MAX_BYTES)
        return rt_error_set(RT_ERR_CONFIG, "%s:1:1: job file is %lld bytes; the limit is %d", path,
                            (long long)sb.st_size, CMD_JOB_MAX_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f) return rt_error_set(RT_ERR_IO, "%s: cannot open job file: %s", path, strerror(errno));
    char *buf = rt_malloc(CMD_JOB_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, CMD_JOB_MAX_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    rt_status st;
    if (err)
        st = rt_error_set(RT_ERR_IO, "%s: read error", path);
    else if (n > CMD_JOB_MAX_BYTES)
        st = rt_error_set(RT_ERR_CONFIG, "%s:1:1: job file is larger than %d bytes", path,
                          CMD_JOB_MAX_BYTES);
    else
        st = cmd_job_parse(path, buf, n, job);
    rt_free(buf);
    return st;
}

static rt_status verr(const cmd_job *job, cmd_job_mark at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static rt_status verr(const cmd_job *job, cmd_job_mark at, const char *key, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file =
        at.file > 0 && at.file <= job->sources.count ? job->sources.items[at.file - 1] : job->path;
    return rt_error_set(RT_ERR_CONFIG, "%s:%d:%d: %s: %s", file, at.line, at.col, key, msg);
}

static rt_status check_dir_exists(const cmd_job *job, const char *path, cmd_job_mark at,
                                  const char *key, bool dir_only) {
    struct stat sb;
    if (stat(path, &sb) != 0) return verr(job, at, key, "%s: %s", path, strerror(errno));
    if (dir_only && !S_ISDIR(sb.st_mode)) return verr(job, at, key, "%s: not a directory", path);
    if (access(path, R_OK) != 0) return verr(job, at, key, "%s: not readable", path);
    return RT_OK;
}

// The folder that will hold `path` must exist and be writable (we never create parents of
// the outputs silently: a typo would scatter files).
static rt_status check_writable_parent(const cmd_job *job, const char *path, cmd_job_mark at,
                                       const char *key) {
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (!slash) return verr(job, at, key, "%s: not an absolute path", path);
    if (slash == parent)
        slash[1] = '\0';
    else
        *slash = '\0';
    struct stat sb;
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return verr(job, at, key, "folder %s does not exist", parent);
    if (access(parent, W_OK | X_OK) != 0)
        return verr(job, at, key, "folder %s is not writable", parent);
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode) && strcmp(key, "output.archive") == 0)
            return verr(job, at, key, "%s is a directory", path);
        if (access(path, W_OK) != 0) return verr(job, at, key, "%s is not writable", path);
    }
    return RT_OK;
}

rt_status cmd_job_validate(const cmd_job *job) {
    rt_status st;
    st = check_dir_exists(job, job->dataset.root, job->dataset.root_at, "dataset.root", false);
    if (st != RT_OK) return st;
    if (job->dataset.gt) {
        st = check_dir_exists(job, job->dataset.gt, job->dataset.gt_at, "dataset.gt", false);
        if (st != RT_OK) return st;
    }
    struct stat sb;
    if (stat(job->model.weights, &sb) != 0)
        return verr(job, job->model.weights_at, "model.weights", "%s: %s", job->model.weights,
                    strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return verr(job, job->model.weights_at, "model.weights", "%s: not a file",
                    job->model.weights);
    char format[64];
    int version;
    if (cmd_h5_probe(job->model.weights, format, sizeof format, &version) != RT_OK)
        return verr(job, job->model.weights_at, "model.weights", "%s", rt_error());
    if (strcmp(format, "pcan-weights") != 0)
        return verr(job, job->model.weights_at, "model.weights",
                    "%s is a '%s' file, not a pcan-weights file", job->model.weights, format);
    st = check_writable_parent(job, job->output.archive, job->output.archive_at, "output.archive");
    if (st != RT_OK) return st;
    st = check_writable_parent(job, job->output.spool, job->output.spool_at, "output.spool");
    if (st != RT_OK) return st;
    for (int i = 0; i < job->output.n_exports; i++) {
        char key[48];
        snprintf(key, sizeof key, "output.exports[%d].dir", i);
        st = check_writable_parent(job, job->output.exports[i].dir, job->output.exports[i].dir_at,
                                   key);
        if (st != RT_OK) return st;
    }
    if (job->metrics.enabled == CMD_TRUE && !job->dataset.gt &&
        job->dataset.format != CMD_DATASET_KITTI_MOTS &&
        job->dataset.format != CMD_DATASET_MOTS20 && job->dataset.format != CMD_DATASET_SYNTH &&
        job->dataset.format != CMD_DATASET_BDD100K_MOTS &&
        job->dataset.format != CMD_DATASET_YOUTUBE_VIS)
        return rt_error_set(RT_ERR_CONFIG,
                            "%s: metrics.enabled is true but dataset format '%s' has no ground "
                            "truth and dataset.gt is not set",
                            job->path, cmd_dataset_format_name(job->dataset.format));
    return RT_OK;
}

static void print_num(FILE *f, const char *key, double x) {
    if (isnan(x))
        fprintf(f, "    %s: ~  # from the weights\n", key);
    else
        fprintf(f, "    %s: %g\n", key, x);
}

static void print_int(FILE *f, const char *key, int x) {
    if (x < 0)
        fprintf(f, "    %s: ~  # from the weights\n", key);
    else
        fprintf(f, "    %s: %d\n", key, x);
}

static void print_list(FILE *f, const char *indent, const char *key, const cmd_strlist *l) {
    fprintf(f, "%s%s: [", indent, key);
    for (int i = 0; i < l->count; i++) fprintf(f, "%s\"%s\"", i ? ", " : "", l->items[i]);
    fprintf(f, "]\n");
}

void cmd_job_print(const cmd_job *job, FILE *f) {
    fprintf(f, "# resolved from %s\n", job->path);
    fprintf(f, "dataset:\n  format: %s\n  root: %s\n", cmd_dataset_format_name(job->dataset.format),
            job->dataset.root);
    fprintf(f, "  gt: %s\n", job->dataset.gt ? job->dataset.gt : "~");
    fprintf(f, "  split: %s\n", job->dataset.split ? job->dataset.split : "~");
    print_list(f, "  ", "include", &job->dataset.include);
    print_list(f, "  ", "exclude", &job->dataset.exclude);
    fprintf(f, "  classes: {");
    for (int i = 0; i < job->dataset.n_classes; i++)
        fprintf(f, "%s\"%s\": \"%s\"", i ? ", " : "", job->dataset.classes[i].from,
                job->dataset.classes[i].to);
    fprintf(f, "}\n");
    fprintf(f, "model:\n  weights: %s\n  prototype_memory: %s\n  test:\n", job->model.weights,
            MEMORY_MODES[job->model.prototype_memory]);
    print_num(f, "score_thr", job->model.test.score_thr);
    print_num(f, "nms_iou", job->model.test.nms_iou);
    print_int(f, "max_per_img", job->model.test.max_per_img);
    print_num(f, "mask_thr", job->model.test.mask_thr);
    fprintf(f, "  tracker:\n");
    print_num(f, "init_score_thr", job->model.tracker.init_score_thr);
    print_num(f, "obj_score_thr", job->model.tracker.obj_score_thr);
    print_num(f, "match_score_thr", job->model.tracker.match_score_thr);
    print_int(f, "memo_tracklet_frames", job->model.tracker.memo_tracklet_frames);
    print_int(f, "memo_backdrop_frames", job->model.tracker.memo_backdrop_frames);
    print_num(f, "memo_momentum", job->model.tracker.memo_momentum);
    fprintf(f, "  refine_head: %s\n", job->model.refine_head ? "true" : "false");
    fprintf(f, "output:\n  archive: %s\n  spool: %s\n  exports:%s\n", job->output.archive,
            job->output.spool, job->output.n_exports ? "" : " []");
    for (int i = 0; i < job->output.n_exports; i++) {
        const cmd_export *e = &job->output.exports[i];
        fprintf(f,
                "    - format: %s\n      dir: %s\n      min_score: %g\n      min_track_len: %d\n",
                cmd_export_format_name(e->format), e->dir, e->min_score, e->min_track_len);
        print_list(f, "      ", "classes", &e->classes);
    }
    fprintf(f, "run:\n");
    if (job->run.threads_per_rank)
        fprintf(f, "  threads_per_rank: %d\n", job->run.threads_per_rank);
    else
        fprintf(f, "  threads_per_rank: auto\n");
    fprintf(f, "  resume: %s\n  retries: %d\n  max_videos: %ld\n  progress_every: %g\n",
            job->run.resume ? "true" : "false", job->run.retries, job->run.max_videos,
            job->run.progress_every);
    fprintf(f, "metrics:\n  enabled: %s\n  protocol: %s\n",
            job->metrics.enabled == CMD_AUTO ? "auto"
            : job->metrics.enabled           ? "true"
                                             : "false",
            cmd_metrics_protocol_name(job->metrics.protocol));
    print_list(f, "  ", "classes", &job->metrics.classes);
}

void cmd_job_free(cmd_job *job) {
    if (!job) return;
    rt_free(job->path);
    rt_free(job->dir);
    rt_free(job->text);
    rt_free(job->dataset.root);
    rt_free(job->dataset.gt);
    rt_free(job->dataset.split);
    strlist_free(&job->dataset.include);
    strlist_free(&job->dataset.exclude);
    for (int i = 0; i < job->dataset.n_classes; i++) {
        rt_free(job->dataset.classes[i].from);
        rt_free(job->dataset.classes[i].to);
    }
    rt_free(job->dataset.classes);
    rt_free(job->model.weights);
    rt_free(job->output.archive);
    rt_free(job->output.spool);
    for (int i = 0; i < job->output.n_exports; i++) {
        rt_free(job->output.exports[i].dir);
        strlist_free(&job->output.exports[i].classes);
    }
    rt_free(job->output.exports);
    strlist_free(&job->metrics.classes);
    strlist_free(&job->sources);
    cmd_job_defaults(job);
}

// ---------------------------------------------------------------------------------------------
// Overrides: a one-value tree handed to the same section callbacks as the file's values.

typedef struct leaf {
    const char *key;     // full dotted key
    const char *section; // the callback's section name
    map_fn fn;
    int idx; // the key's index in the section's key table
} leaf;

static const leaf LEAVES[] = {
    {"dataset.format", "dataset", on_dataset, 0},
    {"dataset.root", "dataset", on_dataset, 1},
    {"dataset.gt", "dataset", on_dataset, 2},
    {"dataset.split", "dataset", on_dataset, 3},
    {"dataset.include", "dataset", on_dataset, 4},
    {"dataset.exclude", "dataset", on_dataset, 5},
    {"model.weights", "model", on_model, 0},
    {"model.prototype_memory", "model", on_model, 1},
    {"model.refine_head", "model", on_model, 4},
    {"model.test.score_thr", "model.test", on_test, 0},
    {"model.test.nms_iou", "model.test", on_test, 1},
    {"model.test.max_per_img", "model.test", on_test, 2},
    {"model.test.mask_thr", "model.test", on_test, 3},
    {"model.tracker.init_score_thr", "model.tracker", on_tracker, 0},
    {"model.tracker.obj_score_thr", "model.tracker", on_tracker, 1},
    {"model.tracker.match_score_thr", "model.tracker", on_tracker, 2},
    {"model.tracker.memo_tracklet_frames", "model.tracker", on_tracker, 3},
    {"model.tracker.memo_backdrop_frames", "model.tracker", on_tracker, 4},
    {"model.tracker.memo_momentum", "model.tracker", on_tracker, 5},
    {"output.archive", "output", on_output, 0},
    {"output.spool", "output", on_output, 1},
    {"run.threads_per_rank", "run", on_run, 0},
    {"run.resume", "run", on_run, 1},
    {"run.retries", "run", on_run, 2},
    {"run.max_videos", "run", on_run, 3},
    {"run.progress_every", "run", on_run, 4},
    {"metrics.enabled", "metrics", on_metrics, 0},
    {"metrics.protocol", "metrics", on_metrics, 1},
    {"metrics.classes", "metrics", on_metrics, 2},
};
#define N_LEAVES ((int)(sizeof LEAVES / sizeof LEAVES[0]))

static int leaf_find(const char *key) {
    for (int i = 0; i < N_LEAVES; i++)
        if (!strcmp(LEAVES[i].key, key)) return i;
    return -1;
}

static rt_status where_err(const cmd_job_where *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static rt_status where_err(const cmd_job_where *w, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rt_error_set(RT_ERR_CONFIG, "%s:%d:%d: %s", w->path, w->line, w->col, msg);
}

static rt_status unknown_leaf(const char *key, const cmd_job_where *w) {
    if (!strcmp(key, "dataset.classes") || !strcmp(key, "output.exports"))
        return where_err(w, "%s: cannot be overridden (a structure, not one value)", key);
    const char *best = NULL;
    int best_d = 99;
    for (int i = 0; i < N_LEAVES; i++) {
        // A cut-short key ("model.test.nms") is a prefix of the one meant.
        int d = strncmp(LEAVES[i].key, key, strlen(key)) ? edit_distance(key, LEAVES[i].key) : 1;
        if (d < best_d) best_d = d, best = LEAVES[i].key;
    }
    if (best && best_d <= RT_MAX(2, (int)strlen(key) / 6))
        return where_err(w, "%s: unknown key; did you mean '%s'?", key, best);
    return where_err(w,
                     "%s: unknown key (overridable: dataset.*, model.*, output.archive, "
                     "output.spool, run.*, metrics.* leaves)",
                     key);
}

// The index of `path` in job->sources, plus one; added when new. -1 when out of memory.
static int source_index(cmd_job *job, const char *path) {
    for (int i = 0; i < job->sources.count; i++)
        if (!strcmp(job->sources.items[i], path)) return i + 1;
    if (strlist_push(&job->sources, path) != RT_OK) return -1;
    return job->sources.count;
}

rt_status cmd_job_set(cmd_job *job, const char *key, const char *value,
                      const cmd_job_where *where) {
    int li = leaf_find(key);
    if (li < 0) return unknown_leaf(key, where);
    const leaf *lf = &LEAVES[li];
    char *abs = NULL, *dir = NULL;
    parser p = {0};
    rt_status st = RT_OK;
    if (where->path[0] == '/') {
        abs = rt_strdup(where->path);
        if (abs) path_normalise(abs);
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) return rt_error_set(RT_ERR_IO, "getcwd: %s", strerror(errno));
        abs = path_resolve(cwd, where->path);
    }
    if (!abs || !(dir = rt_strdup(abs))) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    p.path = where->path;
    p.dir = dir;
    p.job = job;
    if ((p.file = source_index(job, where->path)) < 0) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t at;
    const char *why = utf8_problem((const unsigned char *)value, strlen(value), &at);
    if (why) {
        st = where_err(where, "%s: %s in the value", key, why);
        goto done;
    }
    int root;
    if ((st = tree_build(&p, value, strlen(value), &root)) != RT_OK) goto done;
    if (root < 0 || is_null(N(&p, root))) {
        st = where_err(where, "%s: expected a value, got nothing (null)", key);
        goto done;
    }
    // The value's nodes sit at line 1 of `value`; place them at `where` in its file.
    for (int i = 0; i < p.t.n; i++) {
        node *n = &p.t.nodes[i];
        n->col = n->line == 1 ? where->col + n->col - 1 : n->col;
        n->line = where->line + n->line - 1;
    }
    yaml_mark_t m = {0};
    int k = tree_add(&p, NODE_SCALAR, &m);
    if (k < 0 || !(p.t.nodes[k].value = rt_strdup(strrchr(lf->key, '.') + 1))) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto done;
    }
    p.t.nodes[k].line = where->line;
    p.t.nodes[k].col = where->col;
    p.t.nodes[k].plain = true;
    st = lf->fn(&p, lf->section, lf->idx, k, root, NULL);
done:
    tree_free(&p.t);
    rt_free(abs);
    rt_free(dir);
    return st;
}

// The shortest decimal form that reads back as exactly x.
static void fmt_double(char *b, size_t cap, double x) {
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(b, cap, "%.0f", x);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(b, cap, "%.*g", prec, x);
        if (strtod(b, NULL) == x) return;
    }
}

static void fmt_list(char *b, size_t cap, const cmd_strlist *l) {
    size_t o = 0;
    b[0] = '\0';
    for (int i = 0; i < l->count && o < cap; i++) {
        int w = snprintf(b + o, cap - o, "%s%s", i ? "," : "", l->items[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}

rt_status cmd_job_get(const cmd_job *job, const char *key, char *b, size_t cap) {
    int li = leaf_find(key);
    if (li < 0) return rt_error_set(RT_ERR_CONFIG, "%s: unknown job key", key);
    double x = NAN;
    long n = -2; // -2: not an integer key
    const char *s = NULL;
    switch (li) {
    case 0: s = cmd_dataset_format_name(job->dataset.format); break;
    case 1: s = job->dataset.root; break;
    case 2: s = job->dataset.gt; break;
    case 3: s = job->dataset.split; break;
    case 4: fmt_list(b, cap, &job->dataset.include); return RT_OK;
    case 5: fmt_list(b, cap, &job->dataset.exclude); return RT_OK;
    case 6: s = job->model.weights; break;
    case 7: s = MEMORY_MODES[job->model.prototype_memory]; break;
    case 8: s = job->model.refine_head ? "true" : "false"; break;
    case 9: x = job->model.test.score_thr; break;
    case 10: x = job->model.test.nms_iou; break;
    case 11: n = job->model.test.max_per_img; break;
    case 12: x = job->model.test.mask_thr; break;
    case 13: x = job->model.tracker.init_score_thr; break;
    case 14: x = job->model.tracker.obj_score_thr; break;
    case 15: x = job->model.tracker.match_score_thr; break;
    case 16: n = job->model.tracker.memo_tracklet_frames; break;
    case 17: n = job->model.tracker.memo_backdrop_frames; break;
    case 18: x = job->model.tracker.memo_momentum; break;
    case 19: s = job->output.archive; break;
    case 20: s = job->output.spool; break;
    case 21:
        if (!job->run.threads_per_rank) s = "auto";
        n = job->run.threads_per_rank;
        break;
    case 22: s = job->run.resume ? "true" : "false"; break;
    case 23: n = job->run.retries; break;
    case 24: n = job->run.max_videos; break;
    case 25: x = job->run.progress_every; break;
    case 26:
        s = job->metrics.enabled == CMD_AUTO ? "auto" : job->metrics.enabled ? "true" : "false";
        break;
    case 27: s = cmd_metrics_protocol_name(job->metrics.protocol); break;
    default: fmt_list(b, cap, &job->metrics.classes); return RT_OK;
    }
    if (s)
        snprintf(b, cap, "%s", s);
    else if (n >= 0)
        snprintf(b, cap, "%ld", n);
    else if (n == -1 || isnan(x))
        snprintf(b, cap, "~");
    else
        fmt_double(b, cap, x);
    return RT_OK;
}

// A YAML double-quoted scalar.
static void put_quoted(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(f, "\\x%02x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

static void put_strlist(FILE *f, const cmd_strlist *l) {
    fputc('[', f);
    for (int i = 0; i < l->count; i++) {
        if (i) fputs(", ", f);
        put_quoted(f, l->items[i]);
    }
    fputc(']', f);
}

static void put_num(FILE *f, const char *indent, const char *key, double x) {
    char b[40];
    if (isnan(x)) return;
    fmt_double(b, sizeof b, x);
    fprintf(f, "%s%s: %s\n", indent, key, b);
}

static void put_int(FILE *f, const char *indent, const char *key, long x) {
    if (x >= 0) fprintf(f, "%s%s: %ld\n", indent, key, x);
}

rt_status cmd_job_write(const cmd_job *job, FILE *f) {
    fprintf(f, "dataset:\n  format: %s\n  root: ", cmd_dataset_format_name(job->dataset.format));
    put_quoted(f, job->dataset.root ? job->dataset.root : "");
    if (job->dataset.gt) fputs("\n  gt: ", f), put_quoted(f, job->dataset.gt);
    if (job->dataset.split) fputs("\n  split: ", f), put_quoted(f, job->dataset.split);
    if (job->dataset.include.count)
        fputs("\n  include: ", f), put_strlist(f, &job->dataset.include);
    if (job->dataset.exclude.count)
        fputs("\n  exclude: ", f), put_strlist(f, &job->dataset.exclude);
    fputc('\n', f);
    if (job->dataset.n_classes) {
        fputs("  classes:\n", f);
        for (int i = 0; i < job->dataset.n_classes; i++) {
            fputs("    ", f);
            put_quoted(f, job->dataset.classes[i].from);
            fputs(": ", f);
            put_quoted(f, job->dataset.classes[i].to);
            fputc('\n', f);
        }
    }
    fputs("model:\n  weights: ", f);
    put_quoted(f, job->model.weights ? job->model.weights : "");
    fprintf(f, "\n  prototype_memory: %s\n  refine_head: %s\n",
            MEMORY_MODES[job->model.prototype_memory], job->model.refine_head ? "true" : "false");
    if (!isnan(job->model.test.score_thr) || !isnan(job->model.test.nms_iou) ||
        job->model.test.max_per_img >= 0 || !isnan(job->model.test.mask_thr)) {
        fputs("  test:\n", f);
        put_num(f, "    ", "score_thr", job->model.test.score_thr);
        put_num(f, "    ", "nms_iou", job->model.test.nms_iou);
        put_int(f, "    ", "max_per_img", job->model.test.max_per_img);
        put_num(f, "    ", "mask_thr", job->model.test.mask_thr);
    }
    if (!isnan(job->model.tracker.init_score_thr) || !isnan(job->model.tracker.obj_score_thr) ||
        !isnan(job->model.tracker.match_score_thr) ||
        job->model.tracker.memo_tracklet_frames >= 0 ||
        job->model.tracker.memo_backdrop_frames >= 0 || !isnan(job->model.tracker.memo_momentum)) {
        fputs("  tracker:\n", f);
        put_num(f, "    ", "init_score_thr", job->model.tracker.init_score_thr);
        put_num(f, "    ", "obj_score_thr", job->model.tracker.obj_score_thr);
        put_num(f, "    ", "match_score_thr", job->model.tracker.match_score_thr);
        put_int(f, "    ", "memo_tracklet_frames", job->model.tracker.memo_tracklet_frames);
        put_int(f, "    ", "memo_backdrop_frames", job->model.tracker.memo_backdrop_frames);
        put_num(f, "    ", "memo_momentum", job->model.tracker.memo_momentum);
    }
    fputs("output:\n  archive: ", f);
    put_quoted(f, job->output.archive ? job->output.archive : "");
    if (job->output.spool) fputs("\n  spool: ", f), put_quoted(f, job->output.spool);
    fputc('\n', f);
    if (job->output.n_exports) fputs("  exports:\n", f);
    for (int i = 0; i < job->output.n_exports; i++) {
        const cmd_export *e = &job->output.exports[i];
        char b[40];
        fmt_double(b, sizeof b, e->min_score);
        fprintf(f, "    - format: %s\n      dir: ", cmd_export_format_name(e->format));
        put_quoted(f, e->dir ? e->dir : "");
        fprintf(f, "\n      min_score: %s\n      min_track_len: %d\n", b, e->min_track_len);
        if (e->classes.count)
            fputs("      classes: ", f), put_strlist(f, &e->classes), fputc('\n', f);
    }
    char pe[40];
    fmt_double(pe, sizeof pe, job->run.progress_every);
    fputs("run:\n  threads_per_rank: ", f);
    if (job->run.threads_per_rank)
        fprintf(f, "%d\n", job->run.threads_per_rank);
    else
        fputs("auto\n", f);
    fprintf(f, "  resume: %s\n  retries: %d\n  max_videos: %ld\n  progress_every: %s\n",
            job->run.resume ? "true" : "false", job->run.retries, job->run.max_videos, pe);
    fprintf(f, "metrics:\n  enabled: %s\n  protocol: %s\n",
            job->metrics.enabled == CMD_AUTO ? "auto"
            : job->metrics.enabled           ? "true"
                                             : "false",
            cmd_metrics_protocol_name(job->metrics.protocol));
    if (job->metrics.classes.count)
        fputs("  classes: ", f), put_strlist(f, &job->metrics.classes), fputc('\n', f);
    if (ferror(f)) return rt_error_set(RT_ERR_IO, "cannot write the job: %s", strerror(errno));
    return RT_OK;
}
