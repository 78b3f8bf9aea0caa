// Archive → dataset-format files (see export.h).
#include "merge/export.h"

#include <stdlib.h>
#include <string.h>

#include "merge/metrics.h"
#include "runtime/fsutil.h"
#include "runtime/rle.h"

merge_export_params merge_export_default_params(void) {
    merge_export_params p = {0};
    p.min_track_len = 1;
    return p;
}

rt_status merge_export_format_parse(const char *name, merge_export_format *out) {
    if (!strcmp(name, "kitti-mots")) *out = MERGE_EXPORT_KITTI_MOTS;
    else if (!strcmp(name, "mots20")) *out = MERGE_EXPORT_MOTS20;
    else
        return rt_error_set(RT_ERR_CONFIG, "export format '%s': expected kitti-mots or mots20 "
                            "(scalabel, bdd-bitmask, youtube-vis are not implemented yet)", name);
    return RT_OK;
}

// KITTI class ids of the archive labels (export.h); 0 = label filtered out.
static void class_ids(merge_archive *ar, const merge_export_params *p, int32_t *id) {
    size_t n = merge_archive_num_classes(ar);
    bool kitti = false;
    for (size_t i = 0; i < n; i++) {
        const char *c = merge_archive_class(ar, i);
        if (!strcmp(c, "car") || !strcmp(c, "pedestrian")) kitti = true;
    }
    int32_t next = 3;
    for (size_t i = 0; i < n; i++) {
        const char *c = merge_archive_class(ar, i);
        if (!kitti) id[i] = (int32_t)i + 1;
        else if (!strcmp(c, "car")) id[i] = 1;
        else if (!strcmp(c, "pedestrian")) id[i] = 2;
        else {
            if (next == 10) next++;
            id[i] = next++;
        }
        bool keep = p->n_classes == 0;
        for (size_t k = 0; k < p->n_classes && !keep; k++) keep = !strcmp(p->classes[k], c);
        if (!keep) id[i] = -id[i]; // negative: written to classes.txt, rows dropped
    }
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

// Number of kept rows of track `tid` (sorted list of kept track ids).
static size_t track_len(const int32_t *sorted, size_t n, int32_t tid) {
    const int32_t *lo = sorted, *hi = sorted + n;
    while (lo < hi) {
        const int32_t *mid = lo + (hi - lo) / 2;
        if (*mid < tid) lo = mid + 1;
        else hi = mid;
    }
    size_t c = 0;
    while (lo + c < sorted + n && lo[c] == tid) c++;
    return c;
}

typedef struct exp_buf {
    uint8_t *keep;
    int32_t *tids;
    rt_rle *in, *out;
    const rt_rle **inp;
    double *score;
    uint64_t *row;
    size_t cap, rle_cap;
    char *s;
    size_t s_cap;
} exp_buf;

static rt_status reserve(exp_buf *b, size_t n) {
    if (n <= b->cap) return RT_OK;
    rt_free(b->keep);
    rt_free(b->tids);
    b->keep = rt_malloc(n);
    b->tids = rt_malloc(n * sizeof *b->tids);
    b->cap = b->keep && b->tids ? n : 0;
    return b->cap ? RT_OK : RT_ERR_NOMEM;
}

static rt_status reserve_frame(exp_buf *b, size_t n) {
    if (n <= b->rle_cap) return RT_OK;
    size_t old = b->rle_cap;
    rt_rle *in = rt_calloc(n, sizeof *in), *out = rt_calloc(n, sizeof *out);
    const rt_rle **inp = rt_calloc(n, sizeof *inp);
    double *score = rt_calloc(n, sizeof *score);
    uint64_t *row = rt_calloc(n, sizeof *row);
    if (!in || !out || !inp || !score || !row) {
        rt_free(in); rt_free(out); rt_free(inp); rt_free(score); rt_free(row);
        return RT_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        rt_rle_init(&in[i]);
        rt_rle_init(&out[i]);
    }
    for (size_t i = 0; i < old; i++) {
        in[i] = b->in[i];
        out[i] = b->out[i];
    }
    rt_free(b->in); rt_free(b->out); rt_free(b->inp); rt_free(b->score); rt_free(b->row);
    b->in = in; b->out = out; b->inp = inp; b->score = score; b->row = row;
    b->rle_cap = n;
    return RT_OK;
}

static void buf_free(exp_buf *b) {
    for (size_t i = 0; i < b->rle_cap; i++) {
        rt_rle_free(&b->in[i]);
        rt_rle_free(&b->out[i]);
    }
    rt_free(b->in); rt_free(b->out); rt_free(b->inp); rt_free(b->score); rt_free(b->row);
    rt_free(b->keep); rt_free(b->tids); rt_free(b->s);
}

static int64_t obj_id(int32_t cls, int32_t tid) {
    return tid < 1000 ? (int64_t)cls * 1000 + tid
                      : (int64_t)cls * 1000 + tid % 1000 + (int64_t)(tid / 1000) * 100000;
}

static rt_status write_video(const merge_export_params *p, const merge_archive_video *v,
                             const merge_archive_rows *r, const int32_t *cls, size_t n_cls,
                             exp_buf *b) {
    rt_status st = reserve(b, r->n + 1);
    if (st != RT_OK) return st;
    size_t nt = 0;
    for (uint64_t k = 0; k < r->n; k++) {
        int16_t l = r->label[k];
        b->keep[k] = l >= 0 && (size_t)l < n_cls && cls[l] > 0 && r->score[k] >= p->min_score;
        if (b->keep[k]) b->tids[nt++] = r->track_id[k];
    }
    qsort(b->tids, nt, sizeof *b->tids, cmp_i32);
    for (uint64_t k = 0; k < r->n; k++)
        if (b->keep[k] && track_len(b->tids, nt, r->track_id[k]) < (size_t)p->min_track_len)
            b->keep[k] = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.txt", p->dir, v->id);
    rt_atomic_file af;
    if ((st = rt_atomic_open(&af, path)) != RT_OK) return st;
    int base = p->format == MERGE_EXPORT_MOTS20 ? 1 : 0;
    for (uint64_t k = 0; k < r->n;) {
        uint64_t e = k;
        while (e < r->n && r->frame[e] == r->frame[k]) e++;
        size_t n = 0;
        if ((st = reserve_frame(b, (size_t)(e - k))) != RT_OK) goto fail;
        for (uint64_t j = k; j < e; j++) {
            if (!b->keep[j]) continue;
            const uint32_t *c = r->rle + r->rle_start[j];
            if ((st = rt_rle_set_counts(&b->in[n], (uint32_t)v->height, (uint32_t)v->width, c,
                                        (size_t)(r->rle_start[j + 1] - r->rle_start[j]))) != RT_OK)
                goto fail;
            b->inp[n] = &b->in[n];
            b->score[n] = r->score[j];
            b->row[n++] = j;
        }
        if (n && (st = merge_masks_deoverlap(b->inp, b->score, n, b->out)) != RT_OK) goto fail;
        for (size_t i = 0; i < n; i++) {
            if (rt_rle_area(&b->out[i]) == 0) continue;
            size_t len = rt_rle_to_string(&b->out[i], NULL, 0);
            if (len + 1 > b->s_cap) {
                rt_free(b->s);
                b->s_cap = 0;
                if (!(b->s = rt_malloc(len + 1))) {
                    st = RT_ERR_NOMEM;
                    goto fail;
                }
                b->s_cap = len + 1;
            }
            rt_rle_to_string(&b->out[i], b->s, b->s_cap);
            uint64_t j = b->row[i];
            int32_t c = cls[r->label[j]];
            fprintf(af.f, "%d %lld %d %d %d %s\n", r->frame[j] + base,
                    (long long)obj_id(c, r->track_id[j]), c, v->height, v->width, b->s);
        }
        k = e;
    }
    return rt_atomic_commit(&af);
fail:
    rt_atomic_abort(&af);
    return st;
}

static rt_status write_classes(merge_archive *ar, const merge_export_params *p, const int32_t *cls) {
    size_t n = merge_archive_num_classes(ar);
    char path[4096];
    snprintf(path, sizeof path, "%s/classes.txt", p->dir);
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path);
    if (st != RT_OK) return st;
    int32_t max = 0;
    for (size_t i = 0; i < n; i++) max = RT_MAX(max, abs(cls[i]));
    for (int32_t id = 1; id <= max; id++) {
        const char *name = id == 10 ? "ignore" : "unused";
        for (size_t i = 0; i < n; i++)
            if (abs(cls[i]) == id) name = merge_archive_class(ar, i);
        fprintf(af.f, "%s\n", name);
    }
    return rt_atomic_commit(&af);
}

rt_status merge_export(merge_archive *ar, const merge_export_params *params) {
    size_t n_cls = merge_archive_num_classes(ar);
    int32_t *cls = rt_calloc(n_cls + 1, sizeof *cls);
    exp_buf b = {0};
    merge_archive_rows rows;
    merge_archive_rows_init(&rows);
    rt_status st = RT_ERR_NOMEM;
    if (!cls) goto fail;
    class_ids(ar, params, cls);
    if ((st = rt_mkdir_p(params->dir)) != RT_OK || (st = write_classes(ar, params, cls)) != RT_OK)
        goto fail;
    for (size_t v = 0; v < merge_archive_num_videos(ar); v++) {
        const merge_archive_video *av = merge_archive_video_at(ar, v);
        if (av->status != MERGE_VIDEO_OK) continue;
        if ((st = merge_archive_read_rows(ar, v, &rows)) != RT_OK ||
            (st = write_video(params, av, &rows, cls, n_cls, &b)) != RT_OK)
            goto fail;
    }
fail:
    buf_free(&b);
    merge_archive_rows_free(&rows);
    rt_free(cls);
    return st;
}
