// JSON annotation readers (jansson): Scalabel (BDD100K MOTS), YouTube-VIS and YouTube-VIS
// results (read against a YouTube-VIS dataset, with the same RLE parser). Every error names
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

// ---------------------------------------------------------------------------------------------
// YouTube-VIS results (datasets.h)

typedef struct yvid {
    json_int_t id;
    int64_t index; // the dataset video with ground truth, or -1
} yvid;

typedef struct ycls {
    json_int_t id;
    int32_t class_index; // -1: not a result class
} ycls;

struct shard_vis_results {
    const shard_dataset *ds;
    char *file;
    json_t *root;
    size_t *order; // entry indices grouped by dataset video, file order within a video
    size_t *start; // [ds->n_videos + 1] into order
    int32_t *cls;  // [entries] class index or -1
    size_t n_unmatched;
};

static int yvid_cmp(const void *a, const void *b) {
    json_int_t x = ((const yvid *)a)->id, y = ((const yvid *)b)->id;
    return (x > y) - (x < y);
}

static int ycls_cmp(const void *a, const void *b) {
    json_int_t x = ((const ycls *)a)->id, y = ((const ycls *)b)->id;
    return (x > y) - (x < y);
}

typedef struct vis_ids {
    yvid *v;
    size_t n, cap;
    ycls *c; // NULL until the first annotation file gave the categories
    size_t n_c;
} vis_ids;

// Adds the video ids of the annotations `file` (only the video of `folder` when given) with
// their dataset index, and takes the categories from the first file, mapped to ds classes as the
// ground-truth reader maps them.
static rt_status vis_ids_add(const shard_dataset *ds, const char *file, const char *folder,
                             vis_ids *ids) {
    json_t *root = NULL, *vids;
    ycat *cats = NULL;
    size_t n_cats = 0;
    rt_status st = load_json(file, &root);
    if (st != RT_OK) return st;
    if (!json_is_object(root)) {
        st = jfail(file, "", "is %s, not an object", jtype(root));
        goto done;
    }
    if ((st = jget(file, "", root, "videos", JSON_ARRAY, false, &vids)) != RT_OK) goto done;
    for (size_t i = 0; i < json_array_size(vids); i++) {
        json_t *vid = json_array_get(vids, i), *names;
        char name[1024];
        if ((st = ytvis_video(file, vid, i, &names, name, sizeof name)) != RT_OK) goto done;
        if (folder && strcmp(folder, name) != 0) continue;
        if (ids->n == ids->cap) {
            size_t cap = ids->cap ? 2 * ids->cap : 64;
            yvid *v = rt_realloc(ids->v, cap * sizeof *v);
            if (!v) {
                st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", file);
                goto done;
            }
            ids->v = v;
            ids->cap = cap;
        }
        int64_t k = shard_dataset_find(ds, name);
        ids->v[ids->n++] = (yvid){json_integer_value(json_object_get(vid, "id")),
                                  k >= 0 && ds->videos[k].has_gt ? k : -1};
    }
    if (ids->c) goto done;
    if ((st = ytvis_categories(file, root, &cats, &n_cats)) != RT_OK) goto done;
    if (!(ids->c = rt_malloc((n_cats ? n_cats : 1) * sizeof *ids->c))) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", file);
        goto done;
    }
    for (size_t i = 0; i < n_cats; i++) {
        char idtext[32];
        snprintf(idtext, sizeof idtext, "%lld", (long long)cats[i].id);
        const shard_class_rule *r = shard_class_lookup(ds, idtext, cats[i].name);
        ids->c[i] = (ycls){cats[i].id, r && r->class_index >= 0 && !r->ignore ? r->class_index
                                                                              : -1};
    }
    ids->n_c = n_cats;
done:
    rt_free(cats);
    json_decref(root);
    return st;
}

// The dataset's video and category ids (from its one JSON or its per-video files).
static rt_status vis_ids_read(const shard_dataset *ds, vis_ids *ids) {
    rt_status st = RT_OK;
    if (ds->gt_kind == SHARD_GT_SINGLE) {
        if (!ds->gt_file)
            return rt_error_set(RT_ERR_CONFIG, "youtube-vis results: the dataset has no "
                                "annotations JSON to take the video and category ids from");
        st = vis_ids_add(ds, ds->gt_file, NULL, ids);
    } else {
        for (size_t i = 0; i < ds->n_videos && st == RT_OK; i++)
            if (ds->videos[i].has_gt && ds->videos[i].gt_path)
                st = vis_ids_add(ds, ds->videos[i].gt_path, ds->videos[i].id, ids);
    }
    if (st != RT_OK) return st;
    if (ids->n > 1) qsort(ids->v, ids->n, sizeof *ids->v, yvid_cmp);
    for (size_t i = 1; i < ids->n; i++)
        if (ids->v[i].id == ids->v[i - 1].id)
            return rt_error_set(RT_ERR_FORMAT, "%s: video id %lld appears twice",
                                ds->gt_file ? ds->gt_file : "youtube-vis annotations",
                                (long long)ids->v[i].id);
    if (ids->n_c > 1) qsort(ids->c, ids->n_c, sizeof *ids->c, ycls_cmp);
    return RT_OK;
}

// Checks results entry i and finds its dataset video (*video, -1: none) and class.
static rt_status vis_entry(const shard_vis_results *r, const vis_ids *ids, const json_t *e,
                           size_t i, int64_t *video, int32_t *cls) {
    const char *file = r->file;
    char p[64];
    snprintf(p, sizeof p, "[%zu]", i);
    if (!json_is_object(e)) return jfail(file, p, "is %s, not an object", jtype(e));
    json_t *vid, *cat, *score, *segs;
    rt_status st = jget(file, p, e, "video_id", JSON_INTEGER, false, &vid);
    if (st == RT_OK) st = jget(file, p, e, "category_id", JSON_INTEGER, false, &cat);
    if (st == RT_OK) st = jget(file, p, e, "score", -1, false, &score);
    if (st == RT_OK) st = jget(file, p, e, "segmentations", JSON_ARRAY, false, &segs);
    if (st != RT_OK) return st;
    if (!json_is_number(score)) return jfail(file, p, "'score' is %s, not a number", jtype(score));
    ycls ckey = {json_integer_value(cat), 0};
    const ycls *c = ids->n_c ? bsearch(&ckey, ids->c, ids->n_c, sizeof *c, ycls_cmp) : NULL;
    if (!c)
        return jfail(file, p, "unknown category_id %lld (not in the annotations' categories)",
                     (long long)ckey.id);
    *cls = c->class_index;
    yvid vkey = {json_integer_value(vid), 0};
    const yvid *v = ids->n ? bsearch(&vkey, ids->v, ids->n, sizeof *v, yvid_cmp) : NULL;
    *video = v ? v->index : -1;
    if (*video < 0) return RT_OK;
    int64_t frames = r->ds->videos[*video].frames;
    if (frames >= 0 && json_array_size(segs) > (size_t)frames)
        return jfail(file, p, "segmentations has %zu entries, video %s has %lld frames",
                     json_array_size(segs), r->ds->videos[*video].id, (long long)frames);
    return RT_OK;
}

rt_status shard_vis_results_init(const shard_dataset *ds, const char *path,
                                 shard_vis_results **out) {
    *out = NULL;
    if (ds->format != SHARD_FMT_YOUTUBE_VIS)
        return rt_error_set(RT_ERR_CONFIG, "youtube-vis results are read against a youtube-vis "
                            "dataset, not %s", shard_dataset_format_name(ds->format));
    vis_ids ids = {0};
    int64_t *video = NULL;
    shard_vis_results *r = rt_calloc(1, sizeof *r);
    rt_status st = RT_OK;
    if (!r) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    r->ds = ds;
    r->file = shard_is_dir(path) ? shard_path_join(path, "results.json") : rt_strdup(path);
    if (!r->file) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = vis_ids_read(ds, &ids)) != RT_OK) goto fail;
    if ((st = load_json(r->file, &r->root)) != RT_OK) goto fail;
    if (!json_is_array(r->root)) {
        st = jfail(r->file, "", "is %s, not a list of tracks", jtype(r->root));
        goto fail;
    }
    size_t n = json_array_size(r->root);
    video = rt_malloc((n ? n : 1) * sizeof *video);
    r->cls = rt_malloc((n ? n : 1) * sizeof *r->cls);
    r->order = rt_malloc((n ? n : 1) * sizeof *r->order);
    r->start = rt_calloc(ds->n_videos + 2, sizeof *r->start);
    if (!video || !r->cls || !r->order || !r->start) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", r->file);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        st = vis_entry(r, &ids, json_array_get(r->root, i), i, &video[i], &r->cls[i]);
        if (st != RT_OK) goto fail;
        if (video[i] < 0) r->n_unmatched++;
        else r->start[video[i] + 2]++;
    }
    // Counting sort by video, stable: start[v + 1] is the fill position of video v.
    for (size_t v = 0; v < ds->n_videos; v++) r->start[v + 2] += r->start[v + 1];
    for (size_t i = 0; i < n; i++)
        if (video[i] >= 0) r->order[r->start[video[i] + 1]++] = i;
    *out = r;
    r = NULL;
fail:
    rt_free(video);
    rt_free(ids.v);
    rt_free(ids.c);
    shard_vis_results_free(&r);
    return st;
}

void shard_vis_results_free(shard_vis_results **pr) {
    if (!pr || !*pr) return;
    shard_vis_results *r = *pr;
    json_decref(r->root);
    rt_free(r->file);
    rt_free(r->order);
    rt_free(r->start);
    rt_free(r->cls);
    rt_free(r);
    *pr = NULL;
}

const char *shard_vis_results_file(const shard_vis_results *r) { return r->file; }

size_t shard_vis_results_count(const shard_vis_results *r, size_t index) {
    RT_ASSERT(index < r->ds->n_videos);
    return r->start[index + 1] - r->start[index];
}

size_t shard_vis_results_unmatched(const shard_vis_results *r) { return r->n_unmatched; }

void shard_vis_video_free(shard_vis_video **pv) {
    if (!pv || !*pv) return;
    shard_vis_video *v = *pv;
    for (size_t i = 0; i < v->n_store; i++) rt_rle_free(&v->store[i]);
    rt_free(v->store);
    rt_free(v->ptrs);
    rt_free(v->tracks);
    rt_free(v);
    *pv = NULL;
}

rt_status shard_vis_results_load(const shard_vis_results *r, size_t index,
                                 shard_vis_video **out) {
    *out = NULL;
    const size_t *e = r->order + r->start[index];
    size_t n = shard_vis_results_count(r, index), n_masks = 0, n_ptrs = 0;
    for (size_t t = 0; t < n; t++) {
        json_t *segs = json_object_get(json_array_get(r->root, e[t]), "segmentations");
        n_ptrs += json_array_size(segs);
        for (size_t k = 0; k < json_array_size(segs); k++)
            n_masks += !json_is_null(json_array_get(segs, k));
    }
    shard_vis_video *v = rt_calloc(1, sizeof *v);
    rt_status st = RT_OK;
    if (!v || !(v->tracks = rt_calloc(n + 1, sizeof *v->tracks)) ||
        !(v->ptrs = rt_calloc(n_ptrs + 1, sizeof *v->ptrs)) ||
        !(v->store = rt_calloc(n_masks + 1, sizeof *v->store))) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", r->file);
        goto fail;
    }
    v->n_store = n_masks + 1;
    for (size_t i = 0; i < v->n_store; i++) rt_rle_init(&v->store[i]);
    v->n_tracks = n;
    const rt_rle **ptr = v->ptrs;
    rt_rle *m = v->store;
    bool sized = false;
    char size_path[160] = "";
    for (size_t t = 0; t < n; t++) {
        json_t *o = json_array_get(r->root, e[t]);
        json_t *segs = json_object_get(o, "segmentations");
        size_t nf = json_array_size(segs);
        v->tracks[t] = (shard_vis_track){.class_index = r->cls[e[t]],
                                         .score = json_number_value(json_object_get(o, "score")),
                                         .masks = ptr,
                                         .n_frames = nf};
        for (size_t k = 0; k < nf; k++) {
            json_t *s = json_array_get(segs, k);
            char sp[160];
            snprintf(sp, sizeof sp, "[%zu].segmentations[%zu]", e[t], k);
            if (json_is_null(s)) {
                ptr[k] = NULL;
                continue;
            }
            if (json_is_array(s)) {
                st = jfail(r->file, sp, "polygon segmentations are not supported (use RLE)");
                goto fail;
            }
            if ((st = parse_rle(r->file, sp, s, m)) != RT_OK) goto fail;
            if (!sized) {
                sized = true;
                snprintf(size_path, sizeof size_path, "%s", sp);
                v->height = (int32_t)m->h;
                v->width = (int32_t)m->w;
            } else if ((int32_t)m->h != v->height || (int32_t)m->w != v->width) {
                st = jfail(r->file, sp, "size [%u, %u] differs from [%d, %d] of %s", m->h, m->w,
                           v->height, v->width, size_path);
                goto fail;
            }
            ptr[k] = m++;
        }
        ptr += nf;
    }
    *out = v;
    return RT_OK;
fail:
    shard_vis_video_free(&v);
    return st;
}
