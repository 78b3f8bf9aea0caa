#include "runtime/model_config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef enum field_type { F_INT, F_REAL, F_BOOL, F_INTS, F_REALS, F_STR, F_STRS } field_type;

#define NO_COUNT ((size_t)-1)

// One YAML key. Lists are either of fixed length (`count_off` NO_COUNT, exactly `len` items) or
// variable (1..`len` items, the count stored at `count_off`, or nowhere when that is NO_COUNT and
// `var` is set).
typedef struct field {
    const char *section; // NULL at the top level
    const char *key;
    field_type type;
    size_t off;
    size_t count_off;
    int len;
    bool var;
    double lo, hi; // inclusive range of every number
} field;

#define OFF(m) offsetof(rt_model_config, m)
#define FIX(sec, key, type, member, n, lo, hi) {sec, key, type, OFF(member), NO_COUNT, n, false, lo, hi}
#define ONE(sec, key, type, member, lo, hi) FIX(sec, key, type, member, 1, lo, hi)

static const field k_fields[] = {
    ONE(NULL, "name", F_STR, name, 0, 0),
    {NULL, "classes", F_STRS, OFF(classes), OFF(num_classes), RT_MODEL_MAX_CLASSES, true, 0, 0},
    FIX("input", "scale", F_INTS, input.scale, 2, 1, 100000),
    FIX("input", "mean", F_REALS, input.mean, 3, -1e6, 1e6),
    FIX("input", "std", F_REALS, input.std, 3, 1e-12, 1e6),
    ONE("input", "to_rgb", F_BOOL, input.to_rgb, 0, 0),
    ONE("input", "pad_divisor", F_INT, input.pad_divisor, 1, 4096),
    ONE("backbone", "depth", F_INT, backbone.depth, 5, 100000),
    FIX("backbone", "stage_blocks", F_INTS, backbone.stage_blocks, RT_MODEL_STAGES, 1, 1000),
    ONE("backbone", "stem_channels", F_INT, backbone.stem_channels, 1, 65536),
    ONE("backbone", "base_channels", F_INT, backbone.base_channels, 1, 8192),
    FIX("fpn", "in_channels", F_INTS, fpn.in_channels, RT_MODEL_STAGES, 1, 1 << 20),
    ONE("fpn", "out_channels", F_INT, fpn.out_channels, 1, 65536),
    ONE("fpn", "num_outs", F_INT, fpn.num_outs, RT_MODEL_STAGES, RT_MODEL_MAX_LEVELS),
    ONE("rpn", "feat_channels", F_INT, rpn.feat_channels, 1, 65536),
    {"rpn", "anchor_scales", F_REALS, OFF(rpn.anchor_scales), OFF(rpn.num_anchor_scales),
     RT_MODEL_MAX_ANCHOR_PARAMS, true, 1e-6, 1e6},
    {"rpn", "anchor_ratios", F_REALS, OFF(rpn.anchor_ratios), OFF(rpn.num_anchor_ratios),
     RT_MODEL_MAX_ANCHOR_PARAMS, true, 1e-6, 1e6},
    {"rpn", "anchor_strides", F_INTS, OFF(rpn.anchor_strides), NO_COUNT, RT_MODEL_MAX_LEVELS,
     true, 1, 4096},
    ONE("rpn", "nms_pre", F_INT, rpn.nms_pre, 1, 10000000),
    ONE("rpn", "max_per_img", F_INT, rpn.max_per_img, 1, 10000000),
    ONE("rpn", "nms_thr", F_REAL, rpn.nms_thr, 0, 1),
    FIX("roi", "featmap_strides", F_INTS, roi.featmap_strides, RT_MODEL_STAGES, 1, 4096),
    ONE("roi", "finest_scale", F_INT, roi.finest_scale, 1, 1000000),
    ONE("roi", "bbox_roi_size", F_INT, roi.bbox_roi_size, 1, 64),
    ONE("roi", "mask_roi_size", F_INT, roi.mask_roi_size, 1, 64),
    ONE("roi", "bbox_fc_channels", F_INT, roi.bbox_fc_channels, 1, 65536),
    ONE("roi", "bbox_num_fcs", F_INT, roi.bbox_num_fcs, 1, 16),
    FIX("roi", "bbox_stds", F_REALS, roi.bbox_stds, 4, 1e-12, 1e6),
    ONE("roi", "mask_num_convs", F_INT, roi.mask_num_convs, 1, 16),
    ONE("roi", "mask_channels", F_INT, roi.mask_channels, 1, 65536),
    ONE("roi", "track_num_convs", F_INT, roi.track_num_convs, 1, 16),
    ONE("roi", "track_channels", F_INT, roi.track_channels, 1, 65536),
    ONE("roi", "track_gn_groups", F_INT, roi.track_gn_groups, 1, 65536),
    ONE("roi", "track_num_fcs", F_INT, roi.track_num_fcs, 1, 16),
    ONE("roi", "track_fc_channels", F_INT, roi.track_fc_channels, 1, 65536),
    ONE("roi", "embed_channels", F_INT, roi.embed_channels, 1, 65536),
    ONE("pcam", "prototypes", F_INT, pcam.prototypes, 1, 4096),
    ONE("pcam", "iterations", F_INT, pcam.iterations, 1, 100),
    ONE("pcam", "levels", F_INT, pcam.levels, 0, RT_MODEL_FRAME_PROTO_BUFFERS),
    ONE("refine", "channels", F_INT, refine.channels, 1, 65536),
    ONE("refine", "num_convs", F_INT, refine.num_convs, 1, 16),
    ONE("refine", "pos_protos", F_INT, refine.pos_protos, 1, 4096),
    ONE("refine", "neg_protos", F_INT, refine.neg_protos, 1, 4096),
    ONE("refine", "stages", F_INT, refine.stages, 1, 100),
    ONE("test", "score_thr", F_REAL, test.score_thr, 0, 1),
    ONE("test", "nms_iou", F_REAL, test.nms_iou, 0, 1),
    ONE("test", "max_per_img", F_INT, test.max_per_img, 1, 1000000),
    ONE("test", "mask_thr", F_REAL, test.mask_thr, 0, 1),
    ONE("tracker", "init_score_thr", F_REAL, tracker.init_score_thr, 0, 1),
    ONE("tracker", "obj_score_thr", F_REAL, tracker.obj_score_thr, 0, 1),
    ONE("tracker", "match_score_thr", F_REAL, tracker.match_score_thr, 0, 1),
    ONE("tracker", "memo_tracklet_frames", F_INT, tracker.memo_tracklet_frames, 1, 1000000),
    ONE("tracker", "memo_backdrop_frames", F_INT, tracker.memo_backdrop_frames, 0, 1000000),
    ONE("tracker", "memo_momentum", F_REAL, tracker.memo_momentum, 0, 1),
    ONE("tracker", "nms_conf_thr", F_REAL, tracker.nms_conf_thr, 0, 1),
    ONE("tracker", "nms_backdrop_iou_thr", F_REAL, tracker.nms_backdrop_iou_thr, 0, 1),
    ONE("tracker", "nms_class_iou_thr", F_REAL, tracker.nms_class_iou_thr, 0, 1),
    ONE("tracker", "with_cats", F_BOOL, tracker.with_cats, 0, 0),
};
#define NFIELDS ((int)RT_COUNTOF(k_fields))

static const char *const k_sections[] = {"input", "backbone", "fpn",  "rpn",    "roi",
                                         "pcam",  "refine",   "test", "tracker"};
#define NSECTIONS ((int)RT_COUNTOF(k_sections))

rt_model_config rt_model_config_default(void) {
    static const char *const bdd[] = {"pedestrian", "rider", "car",        "truck",
                                      "bus",        "train", "motorcycle", "bicycle"};
    rt_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "pcan-r50-bdd100k-mots");
    c.num_classes = (int)RT_COUNTOF(bdd);
    for (int i = 0; i < c.num_classes; i++) snprintf(c.classes[i], RT_MODEL_NAME_MAX, "%s", bdd[i]);
    c.input.scale[0] = 1296;
    c.input.scale[1] = 720;
    c.input.mean[0] = 123.675;
    c.input.mean[1] = 116.28;
    c.input.mean[2] = 103.53;
    c.input.std[0] = 58.395;
    c.input.std[1] = 57.12;
    c.input.std[2] = 57.375;
    c.input.to_rgb = true;
    c.input.pad_divisor = 32;
    c.backbone.depth = 50;
    static const int blocks[RT_MODEL_STAGES] = {3, 4, 6, 3};
    memcpy(c.backbone.stage_blocks, blocks, sizeof blocks);
    c.backbone.stem_channels = 64;
    c.backbone.base_channels = 64;
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        c.fpn.in_channels[i] = 256 << i;
        c.roi.featmap_strides[i] = 4 << i;
    }
    c.fpn.out_channels = 256;
    c.fpn.num_outs = 5;
    c.rpn.feat_channels = 256;
    c.rpn.num_anchor_scales = 1;
    c.rpn.anchor_scales[0] = 8;
    c.rpn.num_anchor_ratios = 3;
    c.rpn.anchor_ratios[0] = 0.5;
    c.rpn.anchor_ratios[1] = 1.0;
    c.rpn.anchor_ratios[2] = 2.0;
    for (int i = 0; i < 5; i++) c.rpn.anchor_strides[i] = 4 << i;
    c.rpn.nms_pre = 1000;
    c.rpn.max_per_img = 1000;
    c.rpn.nms_thr = 0.7;
    c.roi.finest_scale = 56;
    c.roi.bbox_roi_size = 7;
    c.roi.mask_roi_size = 14;
    c.roi.bbox_fc_channels = 1024;
    c.roi.bbox_num_fcs = 2;
    c.roi.bbox_stds[0] = 0.1;
    c.roi.bbox_stds[1] = 0.1;
    c.roi.bbox_stds[2] = 0.2;
    c.roi.bbox_stds[3] = 0.2;
    c.roi.mask_num_convs = 4;
    c.roi.mask_channels = 256;
    c.roi.track_num_convs = 4;
    c.roi.track_channels = 256;
    c.roi.track_gn_groups = 32;
    c.roi.track_num_fcs = 1;
    c.roi.track_fc_channels = 1024;
    c.roi.embed_channels = 256;
    c.pcam.prototypes = 30;
    c.pcam.iterations = 3;
    c.pcam.levels = 2;
    c.refine.channels = 256;
    c.refine.num_convs = 4;
    c.refine.pos_protos = 10;
    c.refine.neg_protos = 10;
    c.refine.stages = 6;
    c.test.score_thr = 0.5;
    c.test.nms_iou = 0.5;
    c.test.max_per_img = 100;
    c.test.mask_thr = 0.5;
    c.tracker.init_score_thr = 0.7;
    c.tracker.obj_score_thr = 0.3;
    c.tracker.match_score_thr = 0.5;
    c.tracker.memo_tracklet_frames = 10;
    c.tracker.memo_backdrop_frames = 1;
    c.tracker.memo_momentum = 0.8;
    c.tracker.nms_conf_thr = 0.5;
    c.tracker.nms_backdrop_iou_thr = 0.3;
    c.tracker.nms_class_iou_thr = 0.7;
    c.tracker.with_cats = true;
    return c;
}

// Number of items a list field holds in `c` (1 for scalars).
static int field_count(const rt_model_config *c, const field *f) {
    if (f->count_off != NO_COUNT) return *(const int *)((const char *)c + f->count_off);
    if (f->var) return c->fpn.num_outs; // anchor_strides, the only uncounted variable list
    return f->len;
}

// ---- parsing --------------------------------------------------------------------------------

typedef struct parse_ctx {
    const char *source;
    yaml_document_t *doc;
    rt_model_config *out;
    yaml_mark_t root_mark;
    yaml_mark_t marks[NFIELDS];
    bool seen[NFIELDS];
    int list_len[NFIELDS];
    bool section_seen[NSECTIONS];
    yaml_mark_t section_marks[NSECTIONS];
} parse_ctx;

static void key_name(const field *f, char *buf, size_t cap) {
    if (f->section)
        snprintf(buf, cap, "%s.%s", f->section, f->key);
    else
        snprintf(buf, cap, "%s", f->key);
}

static rt_status __attribute__((format(printf, 3, 4)))
err_at(const parse_ctx *p, yaml_mark_t m, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rt_error_set(RT_ERR_CONFIG, "%s:%zu:%zu: %s", p->source, m.line + 1, m.column + 1, msg);
}

// Error about a field: located at its value when parsing, plain otherwise.
static rt_status __attribute__((format(printf, 3, 4)))
err_key(const parse_ctx *p, const field *f, const char *fmt, ...) {
    char msg[768], name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    key_name(f, name, sizeof name);
    if (p) return err_at(p, p->marks[f - k_fields], "key '%s': %s", name, msg);
    return rt_error_set(RT_ERR_CONFIG, "config key '%s': %s", name, msg);
}

static const field *find_field(const char *section, const char *key) {
    for (int i = 0; i < NFIELDS; i++) {
        const field *f = &k_fields[i];
        bool same_section = section ? (f->section && strcmp(f->section, section) == 0) : !f->section;
        if (same_section && strcmp(f->key, key) == 0) return f;
    }
    return NULL;
}

static int find_section(const char *name) {
    for (int i = 0; i < NSECTIONS; i++)
        if (strcmp(k_sections[i], name) == 0) return i;
    return -1;
}

// The scalar's text, copied and NUL-terminated (truncated to cap-1; callers check the length).
static size_t scalar_text(const yaml_node_t *n, char *buf, size_t cap) {
    size_t len = n->data.scalar.length;
    size_t m = RT_MIN(len, cap - 1);
    memcpy(buf, n->data.scalar.value, m);
    buf[m] = '\0';
    return len;
}

static const char *node_kind(const yaml_node_t *n) {
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static rt_status parse_number(const parse_ctx *p, const field *f, const yaml_node_t *n,
                              bool integer, double *out) {
    char text[128];
    const char *what = integer ? "an integer" : "a number";
    if (n->type != YAML_SCALAR_NODE) return err_key(p, f, "expected %s, got %s", what, node_kind(n));
    size_t len = scalar_text(n, text, sizeof text);
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || len == 0 || len >= sizeof text)
        return err_key(p, f, "expected %s, got the string '%s'", what, text);
    // Only decimal notation: strtod would also take hex, inf and nan.
    for (const char *c = text; *c; c++) {
        bool ok = (*c >= '0' && *c <= '9') || *c == '+' || *c == '-' ||
                  (!integer && (*c == '.' || *c == 'e' || *c == 'E'));
        if (!ok) return err_key(p, f, "expected %s, got '%s'", what, text);
    }
    char *end;
    errno = 0;
    double v;
    if (integer) {
        long long ll = strtoll(text, &end, 10);
        v = (double)ll;
        if (errno == ERANGE) return err_key(p, f, "%s is out of range", text);
    } else {
        v = strtod(text, &end);
        if (errno == ERANGE || !isfinite(v)) return err_key(p, f, "%s is out of range", text);
    }
    if (*end != '\0' || end == text) return err_key(p, f, "expected %s, got '%s'", what, text);
    if (v < f->lo || v > f->hi)
        return err_key(p, f, "%s is out of range [%.15g, %.15g]", text, f->lo, f->hi);
    *out = v;
    return RT_OK;
}

static rt_status parse_bool(const parse_ctx *p, const field *f, const yaml_node_t *n, bool *out) {
    char text[16];
    if (n->type != YAML_SCALAR_NODE) return err_key(p, f, "expected true or false, got %s", node_kind(n));
    scalar_text(n, text, sizeof text);
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE")) {
            *out = true;
            return RT_OK;
        }
        if (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "FALSE")) {
            *out = false;
            return RT_OK;
        }
    }
    return err_key(p, f, "expected true or false, got '%s'", text);
}

static rt_status parse_string(const parse_ctx *p, const field *f, const yaml_node_t *n, char *dst) {
    if (n->type != YAML_SCALAR_NODE) return err_key(p, f, "expected a string, got %s", node_kind(n));
    size_t len = scalar_text(n, dst, RT_MODEL_NAME_MAX);
    if (len == 0) return err_key(p, f, "empty string");
    if (len >= RT_MODEL_NAME_MAX)
        return err_key(p, f, "string longer than %d bytes", RT_MODEL_NAME_MAX - 1);
    if (strlen(dst) != len) return err_key(p, f, "string contains a NUL byte");
    return RT_OK;
}

static rt_status parse_value(parse_ctx *p, const field *f, yaml_node_t *n) {
    char *base = (char *)p->out + f->off;
    rt_status st;
    double v;
    switch (f->type) {
    case F_INT:
        if ((st = parse_number(p, f, n, true, &v)) != RT_OK) return st;
        *(int *)base = (int)v;
        return RT_OK;
    case F_REAL:
        return parse_number(p, f, n, false, (double *)base);
    case F_BOOL:
        return parse_bool(p, f, n, (bool *)base);
    case F_STR:
        return parse_string(p, f, n, base);
    case F_INTS:
    case F_REALS:
    case F_STRS:
        break;
    }
    if (n->type != YAML_SEQUENCE_NODE) return err_key(p, f, "expected a list, got %s", node_kind(n));
    int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!f->var && count != f->len)
        return err_key(p, f, "expected a list of %d items, got %d", f->len, count);
    if (f->var && (count < 1 || count > f->len))
        return err_key(p, f, "expected a list of 1 to %d items, got %d", f->len, count);
    for (int i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
        RT_ASSERT(item);
        if (f->type == F_INTS) {
            if ((st = parse_number(p, f, item, true, &v)) != RT_OK) return st;
            ((int *)base)[i] = (int)v;
        } else if (f->type == F_REALS) {
            if ((st = parse_number(p, f, item, false, &((double *)base)[i])) != RT_OK) return st;
        } else if ((st = parse_string(p, f, item, base + (size_t)i * RT_MODEL_NAME_MAX)) != RT_OK) {
            return st;
        }
    }
    if (f->count_off != NO_COUNT) *(int *)((char *)p->out + f->count_off) = count;
    p->list_len[f - k_fields] = count;
    return RT_OK;
}

static rt_status parse_pair(parse_ctx *p, const char *section, yaml_node_pair_t *pair) {
    yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
    yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
    RT_ASSERT(k && v);
    char key[64];
    if (k->type != YAML_SCALAR_NODE) return err_at(p, k->start_mark, "a key must be a string");
    size_t len = scalar_text(k, key, sizeof key);
    if (len >= sizeof key) return err_at(p, k->start_mark, "unknown key '%s...'", key);
    const field *f = find_field(section, key);
    if (f) {
        int i = (int)(f - k_fields);
        char name[64];
        key_name(f, name, sizeof name);
        if (p->seen[i]) return err_at(p, k->start_mark, "duplicate key '%s'", name);
        p->seen[i] = true;
        p->marks[i] = v->start_mark;
        return parse_value(p, f, v);
    }
    if (section) return err_at(p, k->start_mark, "unknown key '%s.%s'", section, key);
    int s = find_section(key);
    if (s < 0) return err_at(p, k->start_mark, "unknown key '%s'", key);
    if (p->section_seen[s]) return err_at(p, k->start_mark, "duplicate key '%s'", key);
    p->section_seen[s] = true;
    p->section_marks[s] = v->start_mark;
    if (v->type != YAML_MAPPING_NODE)
        return err_at(p, v->start_mark, "key '%s': expected a mapping, got %s", key, node_kind(v));
    for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
        rt_status st = parse_pair(p, k_sections[s], q);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

static rt_status validate(const rt_model_config *c, const parse_ctx *p) {
    if (!p) {
        // A struct built in code: first the list lengths (so that no read overruns), then what
        // the parser checks per value.
        if (c->num_classes < 1 || c->num_classes > RT_MODEL_MAX_CLASSES)
            return err_key(p, find_field(NULL, "classes"), "%d classes (1 to %d allowed)",
                           c->num_classes, RT_MODEL_MAX_CLASSES);
        if (c->fpn.num_outs < RT_MODEL_STAGES || c->fpn.num_outs > RT_MODEL_MAX_LEVELS)
            return err_key(p, find_field("fpn", "num_outs"), "%d is out of range", c->fpn.num_outs);
        if (c->rpn.num_anchor_scales < 1 || c->rpn.num_anchor_scales > RT_MODEL_MAX_ANCHOR_PARAMS ||
            c->rpn.num_anchor_ratios < 1 || c->rpn.num_anchor_ratios > RT_MODEL_MAX_ANCHOR_PARAMS)
            return err_key(p, find_field("rpn", "anchor_scales"),
                           "1 to %d anchor scales and ratios are allowed",
                           RT_MODEL_MAX_ANCHOR_PARAMS);
        for (int i = 0; i < NFIELDS; i++) {
            const field *f = &k_fields[i];
            const char *base = (const char *)c + f->off;
            int n = field_count(c, f);
            for (int j = 0; j < n; j++) {
                double v;
                if (f->type == F_INT || f->type == F_INTS)
                    v = ((const int *)base)[j];
                else if (f->type == F_REAL || f->type == F_REALS)
                    v = ((const double *)base)[j];
                else
                    continue;
                if (!(v >= f->lo && v <= f->hi))
                    return err_key(p, f, "%.15g is out of range [%.15g, %.15g]", v, f->lo, f->hi);
            }
        }
        if (!c->name[0]) return err_key(p, find_field(NULL, "name"), "empty string");
    }
    for (int i = 0; i < c->num_classes; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(c->classes[i], c->classes[j]) == 0)
                return err_key(p, find_field(NULL, "classes"), "class '%s' is listed twice",
                               c->classes[i]);
    int blocks = 0;
    for (int i = 0; i < RT_MODEL_STAGES; i++) blocks += c->backbone.stage_blocks[i];
    // depth either counts the layers of these blocks (3 per bottleneck + stem + fc) or names the
    // bottleneck family (50, 101, 152: the reference's tiny config says 50 with one block per
    // stage); the standard block counts must come with their own depth.
    static const int standard[3][5] = {{50, 3, 4, 6, 3}, {101, 3, 4, 23, 3}, {152, 3, 8, 36, 3}};
    int depth = c->backbone.depth, named = 0;
    for (int k = 0; k < 3; k++) {
        bool same = true;
        for (int i = 0; i < RT_MODEL_STAGES; i++)
            same = same && c->backbone.stage_blocks[i] == standard[k][1 + i];
        if (same) named = standard[k][0];
    }
    bool family = depth == 50 || depth == 101 || depth == 152;
    if (named ? depth != named : !(depth == 3 * blocks + 2 || family))
        return err_key(p, find_field("backbone", "depth"),
                       "%d does not match stage_blocks [%d, %d, %d, %d]: a bottleneck ResNet "
                       "with %d blocks has depth %d",
                       depth, c->backbone.stage_blocks[0], c->backbone.stage_blocks[1],
                       c->backbone.stage_blocks[2], c->backbone.stage_blocks[3], blocks,
                       3 * blocks + 2);
    for (int i = 0; i < RT_MODEL_STAGES; i++) {
        int want = 4 * (c->backbone.base_channels << i);
        if (c->fpn.in_channels[i] != want)
            return err_key(p, find_field("fpn", "in_channels"),
                           "item %d is %d, but backbone stage %d outputs 4*base_channels*2^%d = %d",
                           i, c->fpn.in_channels[i], i + 1, i, want);
    }
    if (p && p->list_len[find_field("rpn", "anchor_strides") - k_fields] != c->fpn.num_outs)
        return err_key(p, find_field("rpn", "anchor_strides"),
                       "has %d items, but fpn.num_outs is %d",
                       p->list_len[find_field("rpn", "anchor_strides") - k_fields],
                       c->fpn.num_outs);
    for (int i = 0; i < c->fpn.num_outs; i++)
        if (c->rpn.anchor_strides[i] < 1)
            return err_key(p, find_field("rpn", "anchor_strides"),
                           "needs %d positive items (fpn.num_outs)", c->fpn.num_outs);
    if (c->roi.track_channels % c->roi.track_gn_groups != 0)
        return err_key(p, find_field("roi", "track_gn_groups"),
                       "%d groups do not divide roi.track_channels %d", c->roi.track_gn_groups,
                       c->roi.track_channels);
    if (c->pcam.levels > c->fpn.num_outs)
        return err_key(p, find_field("pcam", "levels"), "%d is more than fpn.num_outs %d",
                       c->pcam.levels, c->fpn.num_outs);
    return RT_OK;
}

rt_status rt_model_config_validate(const rt_model_config *c) { return validate(c, NULL); }

rt_status rt_model_config_parse(const char *text, size_t len, const char *source,
                                 rt_model_config *out) {
    yaml_parser_t parser;
    yaml_document_t doc;
    parse_ctx *p = rt_calloc(1, sizeof *p);
    if (!p) return rt_error_set(RT_ERR_NOMEM, "%s: no memory to parse the config", source);
    memset(out, 0, sizeof *out);
    p->source = source;
    p->doc = &doc;
    p->out = out;
    rt_status st = RT_OK;
    if (!yaml_parser_initialize(&parser)) {
        rt_free(p);
        return rt_error_set(RT_ERR_NOMEM, "%s: cannot initialise the YAML parser", source);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        st = err_at(p, parser.problem_mark, "invalid YAML: %s%s%s",
                    parser.problem ? parser.problem : "unknown problem",
                    parser.context ? " " : "", parser.context ? parser.context : "");
        if (parser.error == YAML_MEMORY_ERROR) st = rt_error_wrap(RT_ERR_NOMEM, "%s", source);
        yaml_parser_delete(&parser);
        rt_free(p);
        return st;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        st = rt_error_set(RT_ERR_CONFIG, "%s: the config is empty", source);
        goto done;
    }
    p->root_mark = root->start_mark;
    if (root->type != YAML_MAPPING_NODE) {
        st = err_at(p, root->start_mark, "the config must be a mapping, got %s", node_kind(root));
        goto done;
    }
    for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top;
         q++)
        if ((st = parse_pair(p, NULL, q)) != RT_OK) goto done;
    for (int i = 0; i < NFIELDS; i++) {
        if (p->seen[i]) continue;
        const field *f = &k_fields[i];
        char name[64];
        key_name(f, name, sizeof name);
        int s = f->section ? find_section(f->section) : -1;
        yaml_mark_t m = s >= 0 && p->section_seen[s] ? p->section_marks[s] : p->root_mark;
        st = err_at(p, m, "missing key '%s'", name);
        goto done;
    }
    st = validate(out, p);
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    rt_free(p);
    return st;
}

// ---- writing --------------------------------------------------------------------------------

typedef struct sbuf {
    char *buf;
    size_t cap;
    size_t len;
} sbuf;

static void __attribute__((format(printf, 2, 3))) put(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->len < b->cap ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->buf + b->len : NULL, room, fmt, ap);
    va_end(ap);
    RT_ASSERT(n >= 0);
    b->len += (size_t)n;
}

// Shortest "%.Ng" that reads back to the same double, with ".0" added to integral values so that
// the text stays a YAML float.
static void put_real(sbuf *b, double v) {
    char t[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    if (!strpbrk(t, ".eEn")) strcat(t, ".0");
    put(b, "%s", t);
}

static bool plain_safe(const char *s) {
    static const char *const reserved[] = {"true", "false", "yes", "no", "on", "off", "null", "y",
                                           "n"};
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.'))
            return false;
    for (size_t i = 0; i < RT_COUNTOF(reserved); i++)
        if (strcasecmp(s, reserved[i]) == 0) return false;
    return true;
}

static void put_string(sbuf *b, const char *s) {
    if (plain_safe(s)) {
        put(b, "%s", s);
        return;
    }
    put(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            put(b, "\\%c", *c);
        else if (*c < 0x20)
            put(b, "\\x%02x", *c);
        else
            put(b, "%c", *c);
    }
    put(b, "\"");
}

static void put_field(sbuf *b, const rt_model_config *c, const field *f) {
    const char *base = (const char *)c + f->off;
    int n = field_count(c, f);
    switch (f->type) {
    case F_INT:
        put(b, "%d", *(const int *)base);
        return;
    case F_REAL:
        put_real(b, *(const double *)base);
        return;
    case F_BOOL:
        put(b, "%s", *(const bool *)base ? "true" : "false");
        return;
    case F_STR:
        put_string(b, base);
        return;
    default:
        break;
    }
    put(b, "[");
    for (int i = 0; i < n; i++) {
        if (i) put(b, ", ");
        if (f->type == F_INTS)
            put(b, "%d", ((const int *)base)[i]);
        else if (f->type == F_REALS)
            put_real(b, ((const double *)base)[i]);
        else
            put_string(b, base + (size_t)i * RT_MODEL_NAME_MAX);
    }
    put(b, "]");
}

size_t rt_model_config_to_yaml(const rt_model_config *c, char *buf, size_t cap) {
    sbuf b = {buf, cap, 0};
    for (int i = 0; i < NFIELDS && !k_fields[i].section; i++) {
        put(&b, "%s: ", k_fields[i].key);
        put_field(&b, c, &k_fields[i]);
        put(&b, "\n");
    }
    for (int s = 0; s < NSECTIONS; s++) {
        put(&b, "%s: {", k_sections[s]);
        bool first = true;
        for (int i = 0; i < NFIELDS; i++) {
            const field *f = &k_fields[i];
            if (!f->section || strcmp(f->section, k_sections[s]) != 0) continue;
            put(&b, "%s%s: ", first ? "" : ", ", f->key);
            put_field(&b, c, f);
            first = false;
        }
        put(&b, "}\n");
    }
    if (cap) buf[RT_MIN(b.len, cap - 1)] = '\0';
    return b.len;
}

bool rt_model_config_equal(const rt_model_config *a, const rt_model_config *b) {
    for (int i = 0; i < NFIELDS; i++) {
        const field *f = &k_fields[i];
        const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;
        int na = field_count(a, f), nb = field_count(b, f);
        if (na != nb) return false;
        for (int j = 0; j < na; j++) {
            bool same;
            switch (f->type) {
            case F_INT:
            case F_INTS:
                same = ((const int *)pa)[j] == ((const int *)pb)[j];
                break;
            case F_REAL:
            case F_REALS:
                same = ((const double *)pa)[j] == ((const double *)pb)[j];
                break;
            case F_BOOL:
                same = *(const bool *)pa == *(const bool *)pb;
                break;
            default:
                same = strcmp(pa + (size_t)j * RT_MODEL_NAME_MAX,
                              pb + (size_t)j * RT_MODEL_NAME_MAX) == 0;
                break;
            }
            if (!same) return false;
        }
    }
    return true;
}
