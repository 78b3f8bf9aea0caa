// JSON annotation readers (jansson): Scalabel (BDD100K MOTS) and YouTube-VIS. Every error names
// the file and the JSON path of the offending value, e.g. `[12].labels[3].rle.counts: not a
// string`.
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "shard/datasets_internal.h"

static rt_status load_json(const char *path, json_t **root) {
    json_error_t err;
    *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (*root) return RT_OK;
    if (err.line < 0)
        return rt_error_set(RT_ERR_IO, "%s: cannot read: %s", path, err.text);
    return rt_error_set(RT_ERR_FORMAT, "%s:%d:%d: JSON syntax error: %s", path, err.line,
                        err.column, err.text);
}

// "<file>: <path>: <what>"
static rt_status jfail(const char *file, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rt_status jfail(const char *file, const char *path, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rt_error_set(RT_ERR_FORMAT, "%s: %s: %s", file, path[0] ? path : "top level", what);
}

static const char *jtype(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

// Looks up `key` of object `o` (at `path`) and checks its type; `need` is a JSON_* type, or -1
// for "any". Missing keys fail unless `optional` (then *out is NULL). JSON_TRUE means boolean.
static rt_status jget(const char *file, const char *path, const json_t *o, const char *key,
                      int need, bool optional, json_t **out) {
    *out = json_object_get(o, key);
    if (!*out || json_is_null(*out)) {
        *out = NULL;
        if (optional) return RT_OK;
        return jfail(file, path, "missing key '%s'", key);
    }
    bool ok = need < 0 || (need == JSON_TRUE ? json_is_boolean(*out)
                                             : (int)json_typeof(*out) == need);
    if (ok) return RT_OK;
    static const char *const names[] = {
        [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
        [JSON_INTEGER] = "an integer", [JSON_REAL] = "a number", [JSON_TRUE] = "a boolean",
    };
    return jfail(file, path, "'%s' is %s, not %s", key, jtype(*out), names[need]);
}

static void subpath(char *buf, size_t cap, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void subpath(char *buf, size_t cap, const char *path, const char *fmt, ...) {
    char tail[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    snprintf(buf, cap, "%s%s", path, tail);
}

// A COCO RLE object {size: [h, w], counts: "<compressed>" | [ints]} at `path`.
static rt_status parse_rle(const char *file, const char *path, const json_t *o, rt_rle *r) {
    if (!json_is_object(o)) return jfail(file, path, "is %s, not an RLE object", jtype(o));
    json_t *size, *counts;
    rt_status st;
    if ((st = jget(file, path, o, "size", JSON_ARRAY, false, &size)) != RT_OK) return st;
    if ((st = jget(file, path, o, "counts", -1, false, &counts)) != RT_OK) return st;
    char p[256];
    json_t *jh = json_array_get(size, 0), *jw = json_array_get(size, 1);
    if (json_array_size(size) != 2 || !json_is_integer(jh) || !json_is_integer(jw) ||
        json_integer_value(jh) < 1 || json_integer_value(jw) < 1 ||
        json_integer_value(jh) > INT32_MAX || json_integer_value(jw) > INT32_MAX ||
        (uint64_t)json_integer_value(jh) * (uint64_t)json_integer_value(jw) > UINT32_MAX) {
        subpath(p, sizeof p, path, ".size");
        return jfail(file, p, "not [height, width] with positive integers");
    }
    uint32_t h = (uint32_t)json_integer_value(jh), w = (uint32_t)json_integer_value(jw);
    subpath(p, sizeof p, path, ".counts");
    if (json_is_string(counts)) {
        st = rt_rle_from_string(r, h, w, json_string_value(counts), json_string_length(counts));
        return st == RT_OK ? st : rt_error_wrap(st, "%s: %s", file, p);
    }
    if (!json_is_array(counts))
        return jfail(file, p, "is %s, not a string or a list of run lengths", jtype(counts));
    size_t n = json_array_size(counts);
    uint32_t *c = rt_malloc((n ? n : 1) * sizeof *c);
    if (!c) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(counts, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            json_integer_value(x) > UINT32_MAX) {
            rt_free(c);
            return jfail(file, p, "[%zu] is not a run length", i);
        }
        c[i] = (uint32_t)json_integer_value(x);
    }
    st = rt_rle_set_counts(r, h, w, c, n);
    rt_free(c);
    return st == RT_OK ? st : rt_error_wrap(st, "%s: %s", file, p);
}

// The frames array of a Scalabel file: the file itself, or its "frames" member.
static rt_status scalabel_frames(const char *file, json_t *root, json_t **frames, bool *obj_form) {
    *obj_form = json_is_object(root);
    if (json_is_array(root)) {
        *frames = root;
        return RT_OK;
    }
    if (*obj_form) return jget(file, "", root, "frames", JSON_ARRAY, false, frames);
    return jfail(file, "", "is %s, not a list of frames or an object with 'frames'",
                 jtype(root));
}

static int strp_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Sorts and removes repeats.
static void sort_unique(shard_strvec *s) {
    if (s->n < 2) return;
    qsort(s->v, s->n, sizeof *s->v, strp_cmp);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->v[i], s->v[k - 1]) == 0) rt_free(s->v[i]);
        else s->v[k++] = s->v[i];
    }
    s->n = k;
}

rt_status shard_scalabel_video_names(const char *path, shard_strvec *names) {
    json_t *root = NULL, *frames;
    bool obj_form;
    rt_status st = load_json(path, &root);
    if (st != RT_OK) return st;
    if ((st = scalabel_frames(path, root, &frames, &obj_form)) != RT_OK) goto done;
    for (size_t i = 0; i < json_array_size(frames) && st == RT_OK; i++) {
        json_t *fr = json_array_get(frames, i), *vn;
        char p[64];
        snprintf(p, sizeof p, "%s[%zu]", obj_form ? "frames" : "", i);
        if (!json_is_object(fr)) {
            st = jfail(path, p, "is %s, not an object", jtype(fr));
            break;
        }
        if ((st = jget(path, p, fr, "videoName", JSON_STRING, false, &vn)) != RT_OK) break;
        const char *name = json_string_value(vn);
        // Frames of a video are usually consecutive: skip repeats cheaply.
        if (names->n && strcmp(names->v[names->n - 1], name) == 0) continue;
        st = shard_strvec_push(names, name);
    }
    sort_unique(names);
done:
    json_decref(root);
    return st;
}

// Scalabel track ids are strings. As scalabel does for ground truth: when every id of the video
// is a number they are used as such, otherwise all are renumbered 1..n in sorted string order.
static rt_status scalabel_track_ids(shard_gt_builder *b, const shard_strvec *ids) {
    bool numeric = true;
    for (size_t i = 0; i < ids->n && numeric; i++) {
        const char *s = ids->v[i];
        size_t n = strlen(s);
        numeric = n > 0 && n <= 9;
        for (size_t k = 0; k < n && numeric; k++) numeric = isdigit((unsigned char)s[k]);
    }
    if (numeric) {
        for (size_t i = 0; i < ids->n; i++) b->items[i].obj.track_id = (int32_t)atol(ids->v[i]);
        return RT_OK;
    }
    char **sorted = rt_malloc((ids->n ? ids->n : 1) * sizeof *sorted);
    if (!sorted) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", b->file);
    memcpy(sorted, ids->v, ids->n * sizeof *sorted);
    qsort(sorted, ids->n, sizeof *sorted, strp_cmp);
    size_t u = 0;
    for (size_t i = 0; i < ids->n; i++)
        if (u == 0 || strcmp(sorted[i], sorted[u - 1]) != 0) sorted[u++] = sorted[i];
    for (size_t i = 0; i < ids->n; i++) {
        char **hit = bsearch(&ids->v[i], sorted, u, sizeof *sorted, strp_cmp);
        b->items[i].obj.track_id = (int32_t)(hit - sorted) + 1;
    }
    rt_free(sorted);
    return RT_OK;
}

static rt_status scalabel_label(const shard_dataset *ds, shard_gt_builder *b, shard_strvec *ids,
                                const json_t *lab, const char *p, int64_t frame, int32_t fi,
                                int32_t li) {
    const char *file = b->file;
    json_t *jid, *jcat, *attrs, *jrle, *x;
    rt_status st;
    if (!json_is_object(lab)) return jfail(file, p, "is %s, not an object", jtype(lab));
    if ((st = jget(file, p, lab, "id", JSON_STRING, false, &jid)) != RT_OK) return st;
    if ((st = jget(file, p, lab, "category", JSON_STRING, false, &jcat)) != RT_OK) return st;
    if ((st = jget(file, p, lab, "attributes", JSON_OBJECT, true, &attrs)) != RT_OK) return st;
    bool crowd = false, ignored = false;
    if (attrs) {
        char ap[256];
        subpath(ap, sizeof ap, p, ".attributes");
        if ((st = jget(file, ap, attrs, "crowd", JSON_TRUE, true, &x)) != RT_OK) return st;
        crowd = x && json_is_true(x);
        if ((st = jget(file, ap, attrs, "ignored", JSON_TRUE, true, &x)) != RT_OK) return st;
        ignored = x && json_is_true(x);
    }
    if ((st = jget(file, p, lab, "rle", JSON_OBJECT, true, &jrle)) != RT_OK) return st;
    if (!jrle)
        return jfail(file, p, "no 'rle' (labels with only poly2d are not supported; convert them "
                     "to RLE first)");
    const char *cat = json_string_value(jcat);
    const shard_class_rule *r = shard_class_lookup(ds, NULL, cat);
    if (!r) {
        char cp[256];
        subpath(cp, sizeof cp, p, ".category");
        return jfail(file, cp, "unknown category '%s' (map it in dataset.classes)", cat);
    }
    char rp[256];
    subpath(rp, sizeof rp, p, ".rle");
    shard_gt_object o = {.class_index = r->class_index, .crowd = crowd};
    rt_rle_init(&o.mask);
    if ((st = parse_rle(file, rp, jrle, &o.mask)) != RT_OK) {
        rt_rle_free(&o.mask);
        return st;
    }
    if (r->class_index == SHARD_CLASS_DROP) {
        st = shard_gtb_check(b, frame, fi, li, &o.mask);
        rt_rle_free(&o.mask);
        return st;
    }
    // bdd100k/scalabel: crowd or ignored labels (and distractor classes) are ignore regions.
    o.ignore = r->ignore || crowd || ignored;
    if ((st = shard_gtb_add(b, frame, fi, li, &o)) != RT_OK) return st;
    return shard_strvec_push(ids, json_string_value(jid));
}

rt_status shard_gt_read_scalabel(const shard_dataset *ds, const shard_dataset_video *v,
                                 shard_gt **out) {
    *out = NULL;
    bool single = ds->gt_kind == SHARD_GT_SINGLE;
    const char *file = single ? ds->gt_file : v->gt_path;
    json_t *root = NULL, *frames;
    shard_strvec ids = {0};
    shard_gt_builder b;
    shard_gtb_init(&b, file, SHARD_PLACE_SCALABEL, v->frames);
    rt_status st = shard_gtb_expect_image_size(&b, v);
    if (st != RT_OK) goto done;
    if ((st = load_json(file, &root)) != RT_OK) goto done;
    if ((st = scalabel_frames(file, root, &frames, &b.scalabel_object_form)) != RT_OK) goto done;
    for (size_t i = 0; i < json_array_size(frames); i++) {
        json_t *fr = json_array_get(frames, i), *vn, *fi, *labels;
        char p[64];
        snprintf(p, sizeof p, "%s[%zu]", b.scalabel_object_form ? "frames" : "", i);
        if (!json_is_object(fr)) {
            st = jfail(file, p, "is %s, not an object", jtype(fr));
            goto done;
        }
        if ((st = jget(file, p, fr, "videoName", JSON_STRING, !single, &vn)) != RT_OK) goto done;
        if (single && strcmp(json_string_value(vn), v->id) != 0) continue;
        if ((st = jget(file, p, fr, "frameIndex", JSON_INTEGER, false, &fi)) != RT_OK) goto done;
        json_int_t frame = json_integer_value(fi);
        if (frame < 0 || frame > INT32_MAX) {
            st = jfail(file, p, "frameIndex %lld is not a frame index", (long long)frame);
            goto done;
        }
        if ((size_t)frame < b.n_annotated && b.annotated[frame]) {
            st = jfail(file, p, "frameIndex %lld appears twice", (long long)frame);
            goto done;
        }
        if ((st = jget(file, p, fr, "labels", JSON_ARRAY, true, &labels)) != RT_OK) goto done;
        if (b.n_frames >= 0 && frame >= b.n_frames) {
            st = jfail(file, p, "frameIndex %lld is out of range 0..%lld (%lld frames)",
                       (long long)frame, (long long)b.n_frames - 1, (long long)b.n_frames);
            goto done;
        }
        if ((st = shard_gtb_mark(&b, frame)) != RT_OK) goto done;
        for (size_t j = 0; j < json_array_size(labels); j++) {
            char lp[96];
            snprintf(lp, sizeof lp, "%s.labels[%zu]", p, j);
            st = scalabel_label(ds, &b, &ids, json_array_get(labels, j), lp, frame, (int32_t)i,
                                (int32_t)j);
            if (st != RT_OK) goto done;
        }
    }
    if ((st = scalabel_track_ids(&b, &ids)) != RT_OK) goto done;
    st = shard_gtb_finish(&b, out);
done:
    json_decref(root);
    shard_strvec_free(&ids);
    shard_gtb_free(&b);
    return st;
}

// ---------------------------------------------------------------------------------------------
// YouTube-VIS

// The frame folder name of videos[i]: the directory part of file_names[0].
static rt_status ytvis_video(const char *file, const json_t *vid, size_t i, json_t **names,
                             char *folder, size_t cap) {
    char p[64];
    snprintf(p, sizeof p, "videos[%zu]", i);
    if (!json_is_object(vid)) return jfail(file, p, "is %s, not an object", jtype(vid));
    json_t *id;
    rt_status st = jget(file, p, vid, "id", JSON_INTEGER, false, &id);
    if (st == RT_OK) st = jget(file, p, vid, "file_names", JSON_ARRAY, false, names);
    if (st != RT_OK) return st;
    if (json_array_size(*names) == 0) return jfail(file, p, "file_names is empty");
    for (size_t k = 0; k < json_array_size(*names); k++) {
        json_t *fn = json_array_get(*names, k);
        const char *s = json_string_value(fn);
        const char *slash = s ? strrchr(s, '/') : NULL;
        if (!s || !slash || slash == s || !slash[1]) {
            char fp[160];
            snprintf(fp, sizeof fp, "%s.file_names[%zu]", p, k);
            return jfail(file, fp, "is not a string '<video>/<frame file>'");
        }
        size_t n = (size_t)(slash - s);
        if (k == 0) {
            if (n >= cap) return jfail(file, p, "folder name too long");
            memcpy(folder, s, n);
            folder[n] = '\0';
        } else if (strncmp(s, folder, n) != 0 || folder[n] != '\0') {
            char fp[160];
            snprintf(fp, sizeof fp, "%s.file_names[%zu]", p, k);
            return jfail(file, fp, "'%s' is not in the folder '%s' of file_names[0]", s, folder);
        }
    }
    return RT_OK;
}

typedef struct ycat {
    json_int_t id;
    const char *name;
} ycat;

static int ycat_cmp(const void *a, const void *b) {
    json_int_t x = ((const ycat *)a)->id, y = ((const ycat *)b)->id;
    return (x > y) - (x < y);
}

// categories[] sorted by id into *out (names borrowed from the JSON).
static rt_status ytvis_categories(const char *file, const json_t *root, ycat **out, size_t *n) {
    json_t *cats;
    *out = NULL;
    *n = 0;
    rt_status st = jget(file, "", root, "categories", JSON_ARRAY, false, &cats);
    if (st != RT_OK) return st;
    size_t m = json_array_size(cats);
    ycat *c = rt_malloc((m ? m : 1) * sizeof *c);
    if (!c) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < m; i++) {
        json_t *o = json_array_get(cats, i), *id, *name;
        char p[64];
        snprintf(p, sizeof p, "categories[%zu]", i);
        if (!json_is_object(o)) st = jfail(file, p, "is %s, not an object", jtype(o));
        if (st == RT_OK) st = jget(file, p, o, "id", JSON_INTEGER, false, &id);
        if (st == RT_OK) st = jget(file, p, o, "name", JSON_STRING, false, &name);
        if (st != RT_OK) {
            rt_free(c);
            return st;
        }
        c[i] = (ycat){json_integer_value(id), json_string_value(name)};
    }
    qsort(c, m, sizeof *c, ycat_cmp);
    for (size_t i = 1; i < m; i++) {
        if (c[i].id == c[i - 1].id) {
            rt_free(c);
            return jfail(file, "categories", "category id %lld appears twice",
                         (long long)c[i].id);
        }
    }
    *out = c;
    *n = m;
    return RT_OK;
}

rt_status shard_ytvis_index(const char *path, shard_strvec *videos, shard_strvec *categories,
                            shard_strvec *category_ids) {
    json_t *root = NULL, *vids, *anns;
    ycat *cats = NULL;
    size_t n_cats = 0;
    rt_status st = load_json(path, &root);
    if (st != RT_OK) return st;
    if (!json_is_object(root)) {
        st = jfail(path, "", "is %s, not an object", jtype(root));
        goto done;
    }
    if ((st = jget(path, "", root, "videos", JSON_ARRAY, false, &vids)) != RT_OK) goto done;
    if ((st = jget(path, "", root, "annotations", JSON_ARRAY, true, &anns)) != RT_OK) goto done;
    for (size_t i = 0; i < json_array_size(vids); i++) {
        json_t *names;
        char folder[1024];
        st = ytvis_video(path, json_array_get(vids, i), i, &names, folder, sizeof folder);
        if (st != RT_OK) goto done;
        if ((st = shard_strvec_push(videos, folder)) != RT_OK) goto done;
    }
    if (videos->n > 1) qsort(videos->v, videos->n, sizeof *videos->v, strp_cmp);
    for (size_t k = 1; k < videos->n; k++) {
        if (strcmp(videos->v[k - 1], videos->v[k]) == 0) {
            st = jfail(path, "videos", "two videos in the folder '%s'", videos->v[k]);
            goto done;
        }
    }
    // valid/test splits ship videos without annotations: no ground truth there.
    if (!anns) shard_strvec_free(videos);
    if ((st = ytvis_categories(path, root, &cats, &n_cats)) != RT_OK) goto done;
    for (size_t i = 0; i < n_cats; i++) {
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)cats[i].id);
        if ((st = shard_strvec_push(categories, cats[i].name)) != RT_OK) goto done;
        if ((st = shard_strvec_push(category_ids, id)) != RT_OK) goto done;
    }
done:
    rt_free(cats);
    json_decref(root);
    return st;
}

static const ycat *ycat_find(const ycat *c, size_t n, json_int_t id) {
    ycat key = {id, NULL};
    return n ? bsearch(&key, c, n, sizeof *c, ycat_cmp) : NULL;
}

static int natural_ptr_cmp(const void *a, const void *b) {
    return shard_natural_cmp(*(char *const *)a, *(char *const *)b);
}

// frame_of[k] = index in the video's frame folder of file_names[k] (k when there is no folder).
static rt_status ytvis_frame_map(const char *file, const shard_dataset_video *v,
                                 const json_t *names, size_t vi, int64_t *frame_of) {
    size_t n = json_array_size(names);
    if (!v->source) {
        for (size_t k = 0; k < n; k++) frame_of[k] = (int64_t)k;
        return RT_OK;
    }
    shard_strvec list = {0};
    rt_status st = shard_list_dir(v->source, SHARD_LIST_FILES, shard_image_exts, &list);
    for (size_t k = 0; k < n && st == RT_OK; k++) {
        const char *base = strrchr(json_string_value(json_array_get(names, k)), '/') + 1;
        char **hit = list.n ? bsearch(&base, list.v, list.n, sizeof *list.v, natural_ptr_cmp)
                            : NULL;
        if (!hit) {
            char p[96];
            snprintf(p, sizeof p, "videos[%zu].file_names[%zu]", vi, k);
            st = jfail(file, p, "'%s' is not a frame of %s", base, v->source);
        } else {
            frame_of[k] = hit - list.v;
        }
    }
    shard_strvec_free(&list);
    return st;
}

static rt_status ytvis_annotation(const shard_dataset *ds, shard_gt_builder *b, const json_t *a,
                                  size_t ai, const ycat *cats, size_t n_cats,
                                  const int64_t *frame_of, size_t n_names) {
    const char *file = b->file;
    char p[64];
    snprintf(p, sizeof p, "annotations[%zu]", ai);
    json_t *id, *cat, *crowd, *segs;
    rt_status st = jget(file, p, a, "id", JSON_INTEGER, false, &id);
    if (st == RT_OK) st = jget(file, p, a, "category_id", JSON_INTEGER, false, &cat);
    if (st == RT_OK) st = jget(file, p, a, "iscrowd", -1, true, &crowd);
    if (st == RT_OK) st = jget(file, p, a, "segmentations", JSON_ARRAY, false, &segs);
    if (st != RT_OK) return st;
    if (crowd && !json_is_integer(crowd) && !json_is_boolean(crowd))
        return jfail(file, p, "'iscrowd' is %s, not 0/1", jtype(crowd));
    bool is_crowd = crowd && (json_is_true(crowd) || json_integer_value(crowd) != 0);
    json_int_t tid = json_integer_value(id);
    if (tid < 0 || tid > INT32_MAX) return jfail(file, p, "id %lld is out of range", tid);
    const ycat *c = ycat_find(cats, n_cats, json_integer_value(cat));
    if (!c)
        return jfail(file, p, "unknown category_id %lld (not in categories)",
                     (long long)json_integer_value(cat));
    if (json_array_size(segs) != n_names)
        return jfail(file, p, "segmentations has %zu entries, the video has %zu frames",
                     json_array_size(segs), n_names);
    char idtext[32];
    snprintf(idtext, sizeof idtext, "%lld", (long long)c->id);
    const shard_class_rule *r = shard_class_lookup(ds, idtext, c->name);
    for (size_t k = 0; k < n_names; k++) {
        json_t *s = json_array_get(segs, k);
        if (json_is_null(s)) continue;
        char sp[160];
        snprintf(sp, sizeof sp, "%s.segmentations[%zu]", p, k);
        if (json_is_array(s))
            return jfail(file, sp, "polygon segmentations are not supported (use RLE)");
        shard_gt_object o = {.track_id = (int32_t)tid, .crowd = is_crowd, .ignore = is_crowd};
        rt_rle_init(&o.mask);
        if ((st = parse_rle(file, sp, s, &o.mask)) != RT_OK) {
            rt_rle_free(&o.mask);
            return st;
        }
        // Unmapped categories are not evaluated (YTVOSeval works per category): drop them.
        if (!r || r->class_index == SHARD_CLASS_DROP) {
            st = shard_gtb_check(b, frame_of[k], (int32_t)ai, (int32_t)k, &o.mask);
            rt_rle_free(&o.mask);
        } else {
            o.class_index = r->class_index;
            o.ignore = o.ignore || r->ignore;
            st = shard_gtb_add(b, frame_of[k], (int32_t)ai, (int32_t)k, &o);
        }
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

rt_status shard_gt_read_ytvis(const shard_dataset *ds, const shard_dataset_video *v,
                              shard_gt **out) {
    *out = NULL;
    const char *file = ds->gt_kind == SHARD_GT_FILES ? v->gt_path : ds->gt_file;
    json_t *root = NULL, *vids, *anns, *names = NULL;
    ycat *cats = NULL;
    size_t n_cats = 0, vi = 0;
    int64_t *frame_of = NULL;
    json_int_t vid_id = 0;
    shard_gt_builder b;
    shard_gtb_init(&b, file, SHARD_PLACE_YTVIS, v->frames);
    rt_status st = shard_gtb_expect_image_size(&b, v);
    if (st != RT_OK) goto done;
    if ((st = load_json(file, &root)) != RT_OK) goto done;
    if (!json_is_object(root)) {
        st = jfail(file, "", "is %s, not an object", jtype(root));
        goto done;
    }
    if ((st = jget(file, "", root, "videos", JSON_ARRAY, false, &vids)) != RT_OK) goto done;
    if ((st = jget(file, "", root, "annotations", JSON_ARRAY, true, &anns)) != RT_OK) goto done;
    if ((st = ytvis_categories(file, root, &cats, &n_cats)) != RT_OK) goto done;
    for (vi = 0; vi < json_array_size(vids); vi++) {
        char folder[1024];
        json_t *vid = json_array_get(vids, vi);
        st = ytvis_video(file, vid, vi, &names, folder, sizeof folder);
        if (st != RT_OK) goto done;
        if (strcmp(folder, v->id) == 0) {
            vid_id = json_integer_value(json_object_get(vid, "id"));
            break;
        }
    }
    if (vi == json_array_size(vids)) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: no video in the folder '%s'", file, v->id);
        goto done;
    }
    size_t n_names = json_array_size(names);
    if (!(frame_of = rt_malloc(n_names * sizeof *frame_of))) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", file);
        goto done;
    }
    if ((st = ytvis_frame_map(file, v, names, vi, frame_of)) != RT_OK) goto done;
    if (b.n_frames < 0) b.n_frames = (int64_t)n_names;
    for (size_t k = 0; k < n_names; k++)
        if ((st = shard_gtb_mark(&b, frame_of[k])) != RT_OK) goto done;
    for (size_t ai = 0; ai < json_array_size(anns); ai++) {
        json_t *a = json_array_get(anns, ai), *avid;
        char p[64];
        snprintf(p, sizeof p, "annotations[%zu]", ai);
        if (!json_is_object(a)) {
            st = jfail(file, p, "is %s, not an object", jtype(a));
            goto done;
        }
        if ((st = jget(file, p, a, "video_id", JSON_INTEGER, false, &avid)) != RT_OK) goto done;
        if (json_integer_value(avid) != vid_id) continue;
        st = ytvis_annotation(ds, &b, a, ai, cats, n_cats, frame_of, n_names);
        if (st != RT_OK) goto done;
    }
    st = shard_gtb_finish(&b, out);
done:
    rt_free(frame_of);
    rt_free(cats);
    json_decref(root);
    shard_gtb_free(&b);
    return st;
}
