// Archive → dataset-format files (see export.h). One walk over a video's frames (filters, then
// per-frame de-overlap) feeds a writer per format.
#include "merge/export.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "merge/metrics.h"
#include "runtime/fsutil.h"
#include "runtime/rle.h"
#include "shard/image.h"

static const char *const k_formats[] = {
    [MERGE_EXPORT_KITTI_MOTS] = "kitti-mots",   [MERGE_EXPORT_MOTS20] = "mots20",
    [MERGE_EXPORT_SCALABEL] = "scalabel",       [MERGE_EXPORT_BDD_BITMASK] = "bdd-bitmask",
    [MERGE_EXPORT_YOUTUBE_VIS] = "youtube-vis",
};

// bdd100k/configs/seg_track.toml order: bitmask R values are 1-based indices into it.
static const char *const k_bdd_classes[] = {"pedestrian", "rider", "car", "truck",
                                            "bus", "train", "motorcycle", "bicycle"};

merge_export_params merge_export_default_params(void) {
    merge_export_params p = {0};
    p.min_track_len = 1;
    p.n_parts = 1;
    return p;
}

const char *merge_export_format_name(merge_export_format f) {
    return (size_t)f < RT_COUNTOF(k_formats) ? k_formats[f] : "?";
}

rt_status merge_export_format_parse(const char *name, merge_export_format *out) {
    for (size_t i = 0; i < RT_COUNTOF(k_formats); i++) {
        if (!strcmp(name, k_formats[i])) {
            *out = (merge_export_format)i;
            return RT_OK;
        }
    }
    return rt_error_set(RT_ERR_CONFIG, "export format '%s': expected kitti-mots, mots20, "
                        "scalabel, bdd-bitmask or youtube-vis", name);
}

// ---------------------------------------------------------------------------------------------
// State shared by the writers

typedef struct ytvis_video_id {
    char *folder;
    json_int_t id;
} ytvis_video_id;

typedef struct exp_ctx {
    merge_archive *ar;
    const merge_export_params *p;
    size_t n_labels;
    bool *keep_label;  // [n_labels] the classes filter
    int32_t *kitti;    // [n_labels] KITTI class id
    int32_t *bdd;      // [n_labels] BDD category id (0: not a BDD class)
    json_int_t *ycat;  // [n_labels] YouTube-VIS category id
    ytvis_video_id *yvid; // from the annotations, sorted by folder
    size_t n_yvid;
    bool numeric_ids;  // youtube-vis without annotations: every archive id is a number
    // The current video's frame walk.
    uint8_t *keep;     // [rows] row passes the filters
    int32_t *tids;     // [rows] kept track ids, sorted; then unique in tids[0..n_tracks)
    size_t tids_cap, n_tracks;
    bool renumber_kitti; // track ids ≥ 1000 in this video: written as 1..n (export.h)
    rt_rle *in, *out;
    const rt_rle **inp;
    double *score;
    uint64_t *row;
    size_t rle_cap;
    char *s; // one mask's RLE string
    size_t s_cap;
    uint8_t *rgba; // bitmask canvas
    size_t rgba_cap;
    // youtube-vis accumulators per track of the video
    double *sum;
    int64_t *count, *votes; // votes [n_tracks][n_labels]
    json_t **segs;
    size_t tracks_cap;
    rt_atomic_file af;  // the open per-video file (txt, json) or results.json
    bool af_open;
    size_t n_written;   // youtube-vis: tracks written so far
} exp_ctx;

static rt_status nomem(void) { return rt_error_set(RT_ERR_NOMEM, "export: out of memory"); }

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

// Index of `tid` in the sorted unique kept ids.
static size_t track_index(const exp_ctx *c, int32_t tid) {
    const int32_t *hit = bsearch(&tid, c->tids, c->n_tracks, sizeof *c->tids, cmp_i32);
    RT_ASSERT(hit);
    return (size_t)(hit - c->tids);
}

static bool label_kept(const exp_ctx *c, int16_t l) {
    return l >= 0 && (size_t)l < c->n_labels && c->keep_label[l];
}

// The per-label tables of every format (export.h) and the classes filter.
static rt_status class_tables(exp_ctx *c) {
    const merge_export_params *p = c->p;
    size_t n = c->n_labels;
    bool kitti_names = false;
    for (size_t i = 0; i < n; i++) {
        const char *name = merge_archive_class(c->ar, i);
        if (!strcmp(name, "car") || !strcmp(name, "pedestrian")) kitti_names = true;
    }
    int32_t next = 3;
    for (size_t i = 0; i < n; i++) {
        const char *name = merge_archive_class(c->ar, i);
        if (!kitti_names) c->kitti[i] = (int32_t)i + 1;
        else if (!strcmp(name, "car")) c->kitti[i] = 1;
        else if (!strcmp(name, "pedestrian")) c->kitti[i] = 2;
        else {
            if (next == 10) next++;
            c->kitti[i] = next++;
        }
        c->keep_label[i] = p->n_classes == 0;
        for (size_t k = 0; k < p->n_classes && !c->keep_label[i]; k++)
            c->keep_label[i] = !strcmp(p->classes[k], name);
        c->bdd[i] = 0;
        for (size_t k = 0; k < RT_COUNTOF(k_bdd_classes); k++)
            if (!strcmp(k_bdd_classes[k], name)) c->bdd[i] = (int32_t)k + 1;
        if (p->format == MERGE_EXPORT_BDD_BITMASK && c->keep_label[i] && !c->bdd[i])
            return rt_error_set(RT_ERR_CONFIG, "bdd-bitmask export: class '%s' is not a BDD100K "
                                "class (pedestrian, rider, car, truck, bus, train, motorcycle, "
                                "bicycle); leave it out with the classes filter", name);
        c->ycat[i] = (json_int_t)i + 1;
    }
    for (size_t k = 0; k < p->n_classes; k++) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = !strcmp(p->classes[k], merge_archive_class(c->ar, i));
        if (!found)
            return rt_error_set(RT_ERR_CONFIG, "export classes: '%s' is not a class of the "
                                "archive", p->classes[k]);
    }
    return RT_OK;
}

static int yvid_cmp(const void *a, const void *b) {
    return strcmp(((const ytvis_video_id *)a)->folder, ((const ytvis_video_id *)b)->folder);
}

// youtube-vis ids: from the annotations file when given (export.h), else the fallback rule.
static rt_status ytvis_ids(exp_ctx *c) {
    size_t nv = merge_archive_num_videos(c->ar);
    c->numeric_ids = nv > 0;
    for (size_t v = 0; v < nv && c->numeric_ids; v++) {
        const char *id = merge_archive_video_at(c->ar, v)->id;
        size_t len = strlen(id);
        c->numeric_ids = len > 0 && len <= 15 && id[0] != '0';
        for (size_t k = 0; k < len && c->numeric_ids; k++)
            c->numeric_ids = isdigit((unsigned char)id[k]);
    }
    const char *file = c->p->ytvis_annotations;
    if (!file) return RT_OK;
    json_error_t err;
    json_t *root = json_load_file(file, 0, &err);
    if (!root)
        return rt_error_set(RT_ERR_CONFIG, "youtube-vis export: annotations %s:%d: %s", file,
                            err.line, err.text);
    rt_status st = RT_OK;
    json_t *vids = json_object_get(root, "videos"), *cats = json_object_get(root, "categories");
    if (!json_is_array(vids) || !json_is_array(cats)) {
        st = rt_error_set(RT_ERR_CONFIG, "youtube-vis export: annotations %s: no 'videos' and "
                          "'categories' lists", file);
        goto done;
    }
    size_t n = json_array_size(vids);
    if (!(c->yvid = rt_calloc(n + 1, sizeof *c->yvid))) {
        st = nomem();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *vid = json_array_get(vids, i);
        json_t *id = json_object_get(vid, "id");
        const char *name = json_string_value(json_array_get(json_object_get(vid, "file_names"), 0));
        const char *slash = name ? strrchr(name, '/') : NULL;
        if (!json_is_integer(id) || !slash) {
            st = rt_error_set(RT_ERR_CONFIG, "youtube-vis export: annotations %s: videos[%zu] "
                              "has no integer id or no file_names[0] '<folder>/<frame>'", file, i);
            goto done;
        }
        char *folder = rt_malloc((size_t)(slash - name) + 1);
        if (!folder) {
            st = nomem();
            goto done;
        }
        memcpy(folder, name, (size_t)(slash - name));
        folder[slash - name] = '\0';
        c->yvid[c->n_yvid++] = (ytvis_video_id){folder, json_integer_value(id)};
    }
    qsort(c->yvid, c->n_yvid, sizeof *c->yvid, yvid_cmp);
    for (size_t i = 0; i < c->n_labels; i++) {
        const char *name = merge_archive_class(c->ar, i);
        c->ycat[i] = -1;
        for (size_t k = 0; k < json_array_size(cats); k++) {
            json_t *cat = json_array_get(cats, k);
            const char *cn = json_string_value(json_object_get(cat, "name"));
            if (cn && !strcmp(cn, name) && json_is_integer(json_object_get(cat, "id")))
                c->ycat[i] = json_integer_value(json_object_get(cat, "id"));
        }
        if (c->ycat[i] < 0 && c->keep_label[i]) {
            st = rt_error_set(RT_ERR_CONFIG, "youtube-vis export: class '%s' is not a category "
                              "of %s; leave it out with the classes filter", name, file);
            goto done;
        }
    }
done:
    json_decref(root);
    return st;
}

static rt_status ytvis_video_id_of(const exp_ctx *c, size_t v, json_int_t *out) {
    const char *id = merge_archive_video_at(c->ar, v)->id;
    if (c->p->ytvis_annotations) {
        ytvis_video_id key = {(char *)id, 0};
        const ytvis_video_id *hit =
            c->n_yvid ? bsearch(&key, c->yvid, c->n_yvid, sizeof key, yvid_cmp) : NULL;
        if (!hit)
            return rt_error_set(RT_ERR_CONFIG, "youtube-vis export: video '%s' is not in %s", id,
                                c->p->ytvis_annotations);
        *out = hit->id;
    } else {
        *out = c->numeric_ids ? (json_int_t)strtoll(id, NULL, 10) : (json_int_t)v + 1;
    }
    return RT_OK;
}

static rt_status grow_rows(exp_ctx *c, size_t n) {
    if (n <= c->tids_cap) return RT_OK;
    rt_free(c->keep);
    rt_free(c->tids);
    c->keep = rt_malloc(n);
    c->tids = rt_malloc(n * sizeof *c->tids);
    c->tids_cap = c->keep && c->tids ? n : 0;
    return c->tids_cap ? RT_OK : nomem();
}

static rt_status grow_frame(exp_ctx *c, size_t n) {
    if (n <= c->rle_cap) return RT_OK;
    // Each array is replaced only when its reallocation succeeds; the capacity moves when all
    // did, so a failure leaves everything usable at the old size.
    rt_rle *in = rt_realloc(c->in, n * sizeof *in);
    if (in) c->in = in;
    rt_rle *out = rt_realloc(c->out, n * sizeof *out);
    if (out) c->out = out;
    const rt_rle **inp = rt_realloc(c->inp, n * sizeof *inp);
    if (inp) c->inp = inp;
    double *score = rt_realloc(c->score, n * sizeof *score);
    if (score) c->score = score;
    uint64_t *row = rt_realloc(c->row, n * sizeof *row);
    if (row) c->row = row;
    if (!in || !out || !inp || !score || !row) return nomem();
    for (size_t i = c->rle_cap; i < n; i++) {
        rt_rle_init(&c->in[i]);
        rt_rle_init(&c->out[i]);
    }
    c->rle_cap = n;
    return RT_OK;
}

static rt_status grow_tracks(exp_ctx *c, size_t n) {
    size_t nl = c->n_labels ? c->n_labels : 1;
    if (n <= c->tracks_cap) {
        memset(c->sum, 0, n * sizeof *c->sum);
        memset(c->count, 0, n * sizeof *c->count);
        memset(c->votes, 0, n * nl * sizeof *c->votes);
        memset(c->segs, 0, n * sizeof *c->segs);
        return RT_OK;
    }
    rt_free(c->sum);
    rt_free(c->count);
    rt_free(c->votes);
    rt_free(c->segs);
    c->sum = rt_calloc(n, sizeof *c->sum);
    c->count = rt_calloc(n, sizeof *c->count);
    c->votes = rt_calloc(n * nl, sizeof *c->votes);
    c->segs = rt_calloc(n, sizeof *c->segs);
    c->tracks_cap = c->sum && c->count && c->votes && c->segs ? n : 0;
    return c->tracks_cap ? RT_OK : nomem();
}

// The mask's compressed COCO string in c->s.
static rt_status rle_string(exp_ctx *c, const rt_rle *r) {
    size_t len = rt_rle_to_string(r, NULL, 0);
    if (len + 1 > c->s_cap) {
        rt_free(c->s);
        c->s_cap = 0;
        if (!(c->s = rt_malloc(len + 1))) return nomem();
        c->s_cap = len + 1;
    }
    rt_rle_to_string(r, c->s, c->s_cap);
    return RT_OK;
}

static int64_t kitti_obj_id(int32_t cls, int32_t tid) {
    return tid < 1000 ? (int64_t)cls * 1000 + tid
                      : (int64_t)cls * 1000 + tid % 1000 + (int64_t)(tid / 1000) * 100000;
}

static rt_status json_put(exp_ctx *c, json_t *j, size_t flags, bool first) {
    if (!j) return nomem();
    int rc = fputs(first ? "\n" : ",\n", c->af.f) < 0 ? -1 : 0;
    if (rc == 0) rc = json_dumpf(j, c->af.f, JSON_COMPACT | flags);
    json_decref(j);
    if (rc != 0) return rt_error_set(RT_ERR_IO, "%s: write failed", c->af.path);
    return RT_OK;
}

// ---------------------------------------------------------------------------------------------
// Writers: one frame's kept, de-overlapped, non-empty objects c->out[0..n) (rows c->row[]).

static rt_status write_txt_frame(exp_ctx *c, const merge_archive_video *v,
                                 const merge_archive_rows *r, int64_t f, size_t n) {
    int base = c->p->format == MERGE_EXPORT_MOTS20 ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        rt_status st = rle_string(c, &c->out[i]);
        if (st != RT_OK) return st;
        uint64_t j = c->row[i];
        int32_t cls = c->kitti[r->label[j]];
        int32_t tid = c->renumber_kitti ? (int32_t)track_index(c, r->track_id[j]) + 1
                                        : r->track_id[j];
        fprintf(c->af.f, "%lld %lld %d %d %d %s\n", (long long)f + base,
                (long long)kitti_obj_id(cls, tid), cls, v->height, v->width, c->s);
    }
    return RT_OK;
}

static json_t *rle_json(exp_ctx *c, const rt_rle *m, bool size_first) {
    if (rle_string(c, m) != RT_OK) return NULL;
    json_t *size = json_pack("[ii]", (json_int_t)m->h, (json_int_t)m->w);
    json_t *counts = json_string(c->s);
    json_t *o = json_object();
    if (!size || !counts || !o) {
        json_decref(size);
        json_decref(counts);
        json_decref(o);
        return NULL;
    }
    if (size_first) {
        json_object_set_new(o, "size", size);
        json_object_set_new(o, "counts", counts);
    } else {
        json_object_set_new(o, "counts", counts);
        json_object_set_new(o, "size", size);
    }
    return o;
}

static rt_status write_scalabel_frame(exp_ctx *c, const merge_archive_video *v,
                                      const merge_archive_rows *r, int64_t f, size_t n) {
    char name[4200];
    snprintf(name, sizeof name, "%s-%07lld.jpg", v->id, (long long)f + 1);
    json_t *labels = json_array();
    json_t *fr = json_pack("{s:s, s:s, s:I, s:o}", "name", name, "videoName", v->id,
                           "frameIndex", (json_int_t)f, "labels", labels);
    if (!fr) return nomem();
    for (size_t i = 0; i < n; i++) {
        uint64_t j = c->row[i];
        char id[16];
        snprintf(id, sizeof id, "%d", r->track_id[j]);
        json_t *rle = rle_json(c, &c->out[i], false);
        json_t *lab = rle ? json_pack("{s:s, s:s, s:f, s:o}", "id", id, "category",
                                      merge_archive_class(c->ar, (size_t)r->label[j]), "score",
                                      (double)r->score[j], "rle", rle)
                          : NULL;
        if (!lab || json_array_append_new(labels, lab) != 0) {
            json_decref(fr);
            return nomem();
        }
    }
    return json_put(c, fr, JSON_REAL_PRECISION(9), f == 0);
}

static rt_status write_bitmask_frame(exp_ctx *c, const merge_archive_video *v,
                                     const merge_archive_rows *r, int64_t f, size_t n,
                                     bool renumber) {
    size_t h = (size_t)v->height, w = (size_t)v->width;
    memset(c->rgba, 0, h * w * 4);
    // Ascending score (stable): the masks are disjoint after de-overlapping, but painting in
    // the order the BDD converter uses keeps that true even if they were not.
    for (size_t a = 1; a < n; a++) {
        for (size_t b = a; b > 0 && c->score[b - 1] > c->score[b]; b--) {
            rt_rle t = c->out[b];
            c->out[b] = c->out[b - 1];
            c->out[b - 1] = t;
            double s = c->score[b];
            c->score[b] = c->score[b - 1];
            c->score[b - 1] = s;
            uint64_t q = c->row[b];
            c->row[b] = c->row[b - 1];
            c->row[b - 1] = q;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t j = c->row[i];
        uint32_t inst = renumber ? (uint32_t)track_index(c, r->track_id[j]) + 1
                                 : (uint32_t)r->track_id[j];
        uint8_t px[4] = {(uint8_t)c->bdd[r->label[j]], 0, (uint8_t)(inst >> 8),
                         (uint8_t)(inst & 255)};
        const rt_rle *m = &c->out[i];
        uint64_t pos = 0;
        for (size_t k = 0; k < m->n; k++) {
            if (k & 1) {
                for (uint64_t q = pos; q < pos + m->counts[k]; q++) {
                    size_t x = (size_t)(q / h), y = (size_t)(q % h);
                    memcpy(c->rgba + (y * w + x) * 4, px, 4);
                }
            }
            pos += m->counts[k];
        }
    }
    char path[8400];
    snprintf(path, sizeof path, "%s/%s/%s-%07lld.png", c->p->dir, v->id, v->id, (long long)f + 1);
    shard_image img = {.data = c->rgba, .width = (int)w, .height = (int)h, .channels = 4,
                       .depth = 8, .stride = 4 * w};
    return shard_png_write(path, &img);
}

static rt_status add_ytvis_frame(exp_ctx *c, const merge_archive_rows *r, int64_t f, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint64_t j = c->row[i];
        size_t t = track_index(c, r->track_id[j]);
        c->sum[t] += (double)r->score[j];
        c->count[t]++;
        c->votes[t * c->n_labels + (size_t)r->label[j]]++;
        json_t *m = rle_json(c, &c->out[i], true);
        if (!m || json_array_set_new(c->segs[t], (size_t)f, m) != 0) return nomem();
    }
    return RT_OK;
}

static rt_status finish_ytvis_video(exp_ctx *c, size_t vi) {
    json_int_t vid = 0;
    rt_status st = ytvis_video_id_of(c, vi, &vid);
    for (size_t t = 0; t < c->n_tracks && st == RT_OK; t++) {
        if (c->count[t] == 0) continue;
        size_t best = 0;
        for (size_t l = 1; l < c->n_labels; l++)
            if (c->votes[t * c->n_labels + l] > c->votes[t * c->n_labels + best]) best = l;
        json_t *o = json_pack("{s:I, s:I, s:f, s:O}", "video_id", vid, "category_id",
                              c->ycat[best], "score", c->sum[t] / (double)c->count[t],
                              "segmentations", c->segs[t]);
        st = json_put(c, o, JSON_REAL_PRECISION(17), c->n_written == 0);
        c->n_written++;
    }
    for (size_t t = 0; t < c->n_tracks; t++) {
        json_decref(c->segs[t]);
        c->segs[t] = NULL;
    }
    return st;
}

// Frame f's rows [k, e) that are kept, de-overlapped by score, the empty ones dropped: masks in
// c->out[0..*m), rows in c->row, scores in c->score, in row (track id) order.
static rt_status frame_objects(exp_ctx *c, const merge_archive_video *v,
                               const merge_archive_rows *r, uint64_t k, uint64_t e, int64_t f,
                               size_t *m) {
    *m = 0;
    rt_status st = grow_frame(c, (size_t)(e - k) + 1);
    if (st != RT_OK) return st;
    size_t n = 0;
    for (uint64_t j = k; j < e; j++) {
        if (!c->keep[j]) continue;
        const uint32_t *counts = r->rle + r->rle_start[j];
        st = rt_rle_set_counts(&c->in[n], (uint32_t)v->height, (uint32_t)v->width, counts,
                               (size_t)(r->rle_start[j + 1] - r->rle_start[j]));
        if (st != RT_OK) return rt_error_wrap(st, "video %s frame %lld", v->id, (long long)f);
        c->inp[n] = &c->in[n];
        c->score[n] = r->score[j];
        c->row[n++] = j;
    }
    if (n && (st = merge_masks_deoverlap(c->inp, c->score, n, c->out)) != RT_OK) return st;
    // Objects whose whole mask went to higher scores are dropped.
    for (size_t i = 0; i < n; i++) {
        if (rt_rle_area(&c->out[i]) == 0) continue;
        if (*m != i) {
            rt_rle t = c->out[*m];
            c->out[*m] = c->out[i];
            c->out[i] = t;
            c->score[*m] = c->score[i];
            c->row[*m] = c->row[i];
        }
        (*m)++;
    }
    return RT_OK;
}

// Drops the tracks written in fewer than min_track_len frames: counts each track's frames
// after de-overlapping, then keeps the long ones. Removing a track only frees pixels for the
// others, so every kept track is still written in at least as many frames.
static rt_status drop_short_tracks(exp_ctx *c, const merge_archive_video *v,
                                   const merge_archive_rows *r, int64_t n_frames) {
    size_t u = c->n_tracks;
    int64_t *len = rt_calloc(u + 1, sizeof *len);
    if (!len) return nomem();
    rt_status st = RT_OK;
    uint64_t k = 0;
    for (int64_t f = 0; f < n_frames && st == RT_OK; f++) {
        uint64_t e = k;
        while (e < r->n && r->frame[e] == f) e++;
        size_t m;
        st = frame_objects(c, v, r, k, e, f, &m);
        for (size_t i = 0; i < m && st == RT_OK; i++)
            len[track_index(c, r->track_id[c->row[i]])]++;
        k = e;
    }
    if (st == RT_OK) {
        for (uint64_t j = 0; j < r->n; j++)
            if (c->keep[j] && len[track_index(c, r->track_id[j])] < c->p->min_track_len)
                c->keep[j] = 0;
        size_t w = 0;
        for (size_t t = 0; t < u; t++)
            if (len[t] >= c->p->min_track_len) c->tids[w++] = c->tids[t];
        c->n_tracks = w;
    }
    rt_free(len);
    return st;
}

// ---------------------------------------------------------------------------------------------
// One video: filters, then every frame de-overlapped and handed to the format's writer.

static rt_status export_video(exp_ctx *c, size_t vi, const merge_archive_video *v,
                              const merge_archive_rows *r) {
    const merge_export_params *p = c->p;
    rt_status st = grow_rows(c, (size_t)r->n + 1);
    if (st != RT_OK) return st;
    size_t nt = 0;
    int64_t n_frames = v->frames > 0 ? v->frames : 0;
    for (uint64_t k = 0; k < r->n; k++) {
        if (r->track_id[k] < 1)
            return rt_error_set(RT_ERR_FORMAT, "video %s: row %llu has track id %d (must be "
                                "≥ 1)", v->id, (unsigned long long)k, r->track_id[k]);
        if (r->frame[k] < 0)
            return rt_error_set(RT_ERR_FORMAT, "video %s: row %llu has frame %d", v->id,
                                (unsigned long long)k, r->frame[k]);
        n_frames = RT_MAX(n_frames, (int64_t)r->frame[k] + 1);
        c->keep[k] = label_kept(c, r->label[k]) && r->score[k] >= p->min_score;
        if (c->keep[k]) c->tids[nt++] = r->track_id[k];
    }
    qsort(c->tids, nt, sizeof *c->tids, cmp_i32);
    size_t u = 0;
    for (size_t a = 0; a < nt; a++)
        if (u == 0 || c->tids[u - 1] != c->tids[a]) c->tids[u++] = c->tids[a];
    c->n_tracks = u;
    if (p->min_track_len > 1 && (st = drop_short_tracks(c, v, r, n_frames)) != RT_OK) return st;
    u = c->n_tracks;

    bool renumber = u > 0 && c->tids[u - 1] > 65535;
    c->renumber_kitti = u > 0 && c->tids[u - 1] >= 1000 && u < 1000;
    char path[8400];
    switch (p->format) {
    case MERGE_EXPORT_KITTI_MOTS:
    case MERGE_EXPORT_MOTS20:
    case MERGE_EXPORT_SCALABEL:
        snprintf(path, sizeof path, "%s/%s.%s", p->dir, v->id,
                 p->format == MERGE_EXPORT_SCALABEL ? "json" : "txt");
        if ((st = rt_atomic_open(&c->af, path)) != RT_OK) return st;
        c->af_open = true;
        if (p->format == MERGE_EXPORT_SCALABEL) fputc('[', c->af.f);
        break;
    case MERGE_EXPORT_BDD_BITMASK: {
        size_t need = (size_t)v->height * (size_t)v->width * 4;
        if (need > c->rgba_cap) {
            rt_free(c->rgba);
            c->rgba_cap = 0;
            if (!(c->rgba = rt_malloc(need))) return nomem();
            c->rgba_cap = need;
        }
        snprintf(path, sizeof path, "%s/%s", p->dir, v->id);
        if ((st = rt_mkdir_p(path)) != RT_OK) return st;
        break;
    }
    case MERGE_EXPORT_YOUTUBE_VIS:
        if ((st = grow_tracks(c, u + 1)) != RT_OK) return st;
        for (size_t t = 0; t < u; t++) {
            if (!(c->segs[t] = json_array())) return nomem();
            for (int64_t f = 0; f < n_frames; f++)
                if (json_array_append_new(c->segs[t], json_null()) != 0) return nomem();
        }
        break;
    }

    uint64_t k = 0;
    for (int64_t f = 0; f < n_frames && st == RT_OK; f++) {
        uint64_t e = k;
        while (e < r->n && r->frame[e] == f) e++;
        size_t m;
        st = frame_objects(c, v, r, k, e, f, &m);
        k = e;
        if (st != RT_OK) break;
        switch (p->format) {
        case MERGE_EXPORT_KITTI_MOTS:
        case MERGE_EXPORT_MOTS20: st = write_txt_frame(c, v, r, f, m); break;
        case MERGE_EXPORT_SCALABEL: st = write_scalabel_frame(c, v, r, f, m); break;
        case MERGE_EXPORT_BDD_BITMASK: st = write_bitmask_frame(c, v, r, f, m, renumber); break;
        case MERGE_EXPORT_YOUTUBE_VIS: st = add_ytvis_frame(c, r, f, m); break;
        }
    }
    if (p->format == MERGE_EXPORT_YOUTUBE_VIS) {
        if (st == RT_OK) return finish_ytvis_video(c, vi);
        for (size_t t = 0; t < u; t++) {
            json_decref(c->segs[t]);
            c->segs[t] = NULL;
        }
        return st;
    }
    if (!c->af_open) return st;
    c->af_open = false;
    if (st == RT_OK && p->format == MERGE_EXPORT_SCALABEL) fputs("\n]\n", c->af.f);
    if (st != RT_OK) {
        rt_atomic_abort(&c->af);
        return st;
    }
    return rt_atomic_commit(&c->af);
}

static rt_status write_classes(exp_ctx *c) {
    char path[4200];
    snprintf(path, sizeof path, "%s/classes.txt", c->p->dir);
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path);
    if (st != RT_OK) return st;
    int32_t max = 0;
    for (size_t i = 0; i < c->n_labels; i++) max = RT_MAX(max, c->kitti[i]);
    for (int32_t id = 1; id <= max; id++) {
        const char *name = id == 10 ? "ignore" : "unused";
        for (size_t i = 0; i < c->n_labels; i++)
            if (c->kitti[i] == id) name = merge_archive_class(c->ar, i);
        fprintf(af.f, "%s\n", name);
    }
    return rt_atomic_commit(&af);
}

static void ctx_free(exp_ctx *c) {
    for (size_t i = 0; i < c->rle_cap; i++) {
        rt_rle_free(&c->in[i]);
        rt_rle_free(&c->out[i]);
    }
    for (size_t i = 0; i < c->n_yvid; i++) rt_free(c->yvid[i].folder);
    if (c->af_open) rt_atomic_abort(&c->af);
    rt_free(c->yvid);
    rt_free(c->in); rt_free(c->out); rt_free(c->inp); rt_free(c->score); rt_free(c->row);
    rt_free(c->keep); rt_free(c->tids); rt_free(c->s); rt_free(c->rgba);
    rt_free(c->sum); rt_free(c->count); rt_free(c->votes); rt_free(c->segs);
    rt_free(c->keep_label); rt_free(c->kitti); rt_free(c->bdd); rt_free(c->ycat);
}

rt_status merge_export(merge_archive *ar, const merge_export_params *params) {
    const merge_export_params *p = params;
    if (!p->dir || !p->dir[0]) return rt_error_set(RT_ERR_CONFIG, "export: no output folder");
    if ((size_t)p->format >= RT_COUNTOF(k_formats))
        return rt_error_set(RT_ERR_CONFIG, "export: unknown format %d", (int)p->format);
    if (p->n_parts < 1 || p->part < 0 || p->part >= p->n_parts)
        return rt_error_set(RT_ERR_CONFIG, "export: part %d of %d", p->part, p->n_parts);
    if (p->min_track_len < 1)
        return rt_error_set(RT_ERR_CONFIG, "export: min_track_len %d < 1", p->min_track_len);
    bool single_file = p->format == MERGE_EXPORT_YOUTUBE_VIS;
    if (single_file && p->part != 0) return RT_OK;
    exp_ctx c = {.ar = ar, .p = p, .n_labels = merge_archive_num_classes(ar)};
    merge_archive_rows rows;
    merge_archive_rows_init(&rows);
    size_t nl = c.n_labels + 1;
    rt_status st = RT_OK;
    c.keep_label = rt_calloc(nl, sizeof *c.keep_label);
    c.kitti = rt_calloc(nl, sizeof *c.kitti);
    c.bdd = rt_calloc(nl, sizeof *c.bdd);
    c.ycat = rt_calloc(nl, sizeof *c.ycat);
    if (!c.keep_label || !c.kitti || !c.bdd || !c.ycat) {
        st = nomem();
        goto fail;
    }
    if ((st = class_tables(&c)) != RT_OK) goto fail;
    if (single_file && (st = ytvis_ids(&c)) != RT_OK) goto fail;
    if ((st = rt_mkdir_p(p->dir)) != RT_OK) goto fail;
    if ((p->format == MERGE_EXPORT_KITTI_MOTS || p->format == MERGE_EXPORT_MOTS20) &&
        p->part == 0 && (st = write_classes(&c)) != RT_OK)
        goto fail;
    if (single_file) {
        char path[4200];
        snprintf(path, sizeof path, "%s/results.json", p->dir);
        if ((st = rt_atomic_open(&c.af, path)) != RT_OK) goto fail;
        c.af_open = true;
        fputc('[', c.af.f);
    }
    size_t step = single_file ? 1 : (size_t)p->n_parts;
    for (size_t v = single_file ? 0 : (size_t)p->part; v < merge_archive_num_videos(ar);
         v += step) {
        const merge_archive_video *av = merge_archive_video_at(ar, v);
        if (av->status != MERGE_VIDEO_OK) continue;
        if ((st = merge_archive_read_rows(ar, v, &rows)) != RT_OK ||
            (st = export_video(&c, v, av, &rows)) != RT_OK)
            goto fail;
    }
    if (single_file) {
        fputs("\n]\n", c.af.f);
        c.af_open = false;
        st = rt_atomic_commit(&c.af);
    }
fail:
    merge_archive_rows_free(&rows);
    ctx_free(&c);
    return st;
}
