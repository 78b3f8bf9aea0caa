#include "merge/archive.h"

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/h5util.h"
#include "shard/mpiutil.h"
#include "shard/plan.h"
#include "shard/spool.h"

// /videos holds fixed-length strings sized to the longest value, so one very long error message
// would widen every record; errors are cut to this many bytes in the archive (the spool entry
// keeps the whole message).
#define MAX_ERROR 1000

merge_archive_params merge_archive_default_params(void) {
    merge_archive_params p;
    memset(&p, 0, sizeof p);
    p.batch_bytes = (size_t)64 << 20;
    return p;
}

// ---------------------------------------------------------------------------------------------
// Manifest: every video's metadata, in id order; built by rank 0, broadcast to all.

typedef struct mvideo {
    char *id, *source, *error;
    int64_t frames;
    int32_t height, width;
    double fps;
    uint32_t status, attempts;
    double seconds;
    uint64_t n_rows, n_rle;       // as in the entry
    uint64_t row_start, row_count; // in the archive (failed videos: no rows)
    uint64_t rle_start, rle_count;
} mvideo;

typedef struct manifest {
    mvideo *v;
    size_t n, cap;
    uint64_t rows, rle;
    size_t max_id, max_source, max_error; // longest strings (for the fixed-length types)
    long skipped;
} manifest;

static void manifest_free(manifest *m) {
    for (size_t i = 0; i < m->n; i++) {
        rt_free(m->v[i].id);
        rt_free(m->v[i].source);
        rt_free(m->v[i].error);
    }
    rt_free(m->v);
    memset(m, 0, sizeof *m);
}

static rt_status manifest_push(manifest *m, const shard_spool_meta *meta) {
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        mvideo *v = rt_realloc(m->v, cap * sizeof *v);
        if (!v) return rt_error_set(RT_ERR_NOMEM, "merge: out of memory");
        m->v = v;
        m->cap = cap;
    }
    mvideo *v = &m->v[m->n];
    memset(v, 0, sizeof *v);
    v->id = rt_strdup(meta->id);
    v->source = rt_strdup(meta->source);
    v->error = rt_strdup(meta->error);
    if (!v->id || !v->source || !v->error) {
        rt_free(v->id), rt_free(v->source), rt_free(v->error);
        return rt_error_set(RT_ERR_NOMEM, "merge: out of memory");
    }
    v->frames = meta->frames;
    v->height = meta->height;
    v->width = meta->width;
    v->fps = meta->fps;
    v->status = (uint32_t)meta->status;
    v->attempts = meta->attempts;
    v->seconds = meta->seconds;
    v->n_rows = meta->n_rows;
    v->n_rle = meta->n_rle;
    m->n++;
    return RT_OK;
}

static int cmp_mvideo(const void *a, const void *b) {
    return strcmp(((const mvideo *)a)->id, ((const mvideo *)b)->id);
}

static bool hash_ok(const merge_archive_params *p, const shard_spool_meta *m) {
    uint8_t h[SHARD_SPOOL_HASH_LEN];
    shard_resume_hash(p->weights_sha256, p->config, m->id, h);
    return memcmp(h, m->hash, SHARD_SPOOL_HASH_LEN) == 0;
}

// Rank 0.
static rt_status build_manifest(const merge_archive_params *p, manifest *m) {
    shard_spool_entry e;
    shard_spool_entry_init(&e);
    rt_status st = RT_OK;
    char path[4400];
    if (!p->all_in_spool) {
        for (size_t i = 0; i < p->n_ids && st == RT_OK; i++) {
            st = shard_spool_path(p->spool, p->ids[i], path, sizeof path);
            if (st == RT_OK) st = shard_spool_read(path, &e, true);
            if (st == RT_OK && strcmp(e.meta.id, p->ids[i]) != 0)
                st = rt_error_set(RT_ERR_FORMAT, "%s holds video '%s', not '%s'", path, e.meta.id,
                                  p->ids[i]);
            if (st == RT_OK && !hash_ok(p, &e.meta))
                st = rt_error_set(RT_ERR_FORMAT, "%s: made with other weights or settings", path);
            if (st == RT_OK) st = manifest_push(m, &e.meta);
            if (st != RT_OK) rt_error_wrap(st, "video %s has no usable result", p->ids[i]);
        }
    } else {
        DIR *d = opendir(p->spool);
        if (!d) st = rt_error_set(RT_ERR_IO, "%s: %s", p->spool, strerror(errno));
        struct dirent *de;
        size_t sl = strlen(SHARD_SPOOL_SUFFIX);
        while (st == RT_OK && (de = readdir(d))) {
            size_t n = strlen(de->d_name);
            if (de->d_name[0] == '.' || n <= sl || strcmp(de->d_name + n - sl, SHARD_SPOOL_SUFFIX))
                continue;
            snprintf(path, sizeof path, "%s/%s", p->spool, de->d_name);
            if (shard_spool_read(path, &e, true) != RT_OK) {
                fprintf(stderr, "pcan: skipping %s\n", rt_error());
                m->skipped++;
                continue;
            }
            if (!hash_ok(p, &e.meta)) {
                fprintf(stderr, "pcan: skipping %s: made with other weights or settings\n", path);
                m->skipped++;
                continue;
            }
            st = manifest_push(m, &e.meta);
        }
        if (d) closedir(d);
        if (st == RT_OK && m->n) qsort(m->v, m->n, sizeof *m->v, cmp_mvideo);
    }
    shard_spool_entry_free(&e);
    return st;
}

// Serialised: u64 n, then per video the fixed fields and three NUL-terminated strings.
static rt_status manifest_pack(const manifest *m, void **out, size_t *len) {
    size_t n = 8;
    for (size_t i = 0; i < m->n; i++)
        n += 64 + strlen(m->v[i].id) + strlen(m->v[i].source) + strlen(m->v[i].error) + 3;
    char *b = rt_malloc(n), *w = b;
    if (!b) return rt_error_set(RT_ERR_NOMEM, "merge: out of memory");
    uint64_t count = m->n;
    memcpy(w, &count, 8), w += 8;
    for (size_t i = 0; i < m->n; i++) {
        const mvideo *v = &m->v[i];
        memcpy(w, &v->frames, 8), w += 8;
        memcpy(w, &v->height, 4), w += 4;
        memcpy(w, &v->width, 4), w += 4;
        memcpy(w, &v->fps, 8), w += 8;
        memcpy(w, &v->status, 4), w += 4;
        memcpy(w, &v->attempts, 4), w += 4;
        memcpy(w, &v->seconds, 8), w += 8;
        memcpy(w, &v->n_rows, 8), w += 8;
        memcpy(w, &v->n_rle, 8), w += 8;
        for (int k = 0; k < 3; k++) {
            const char *s = k == 0 ? v->id : k == 1 ? v->source : v->error;
            size_t l = strlen(s) + 1;
            memcpy(w, s, l), w += l;
        }
    }
    *out = b;
    *len = (size_t)(w - b);
    return RT_OK;
}

static rt_status manifest_unpack(manifest *m, const char *b) {
    uint64_t count;
    memcpy(&count, b, 8);
    const char *r = b + 8;
    shard_spool_meta meta;
    for (uint64_t i = 0; i < count; i++) {
        memset(&meta, 0, sizeof meta);
        uint32_t status;
        memcpy(&meta.frames, r, 8), r += 8;
        memcpy(&meta.height, r, 4), r += 4;
        memcpy(&meta.width, r, 4), r += 4;
        memcpy(&meta.fps, r, 8), r += 8;
        memcpy(&status, r, 4), r += 4;
        memcpy(&meta.attempts, r, 4), r += 4;
        memcpy(&meta.seconds, r, 8), r += 8;
        memcpy(&meta.n_rows, r, 8), r += 8;
        memcpy(&meta.n_rle, r, 8), r += 8;
        meta.status = (shard_video_status)status;
        meta.id = (char *)r, r += strlen(r) + 1;
        meta.source = (char *)r, r += strlen(r) + 1;
        meta.error = (char *)r, r += strlen(r) + 1;
        rt_status st = manifest_push(m, &meta);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

static void manifest_offsets(manifest *m) {
    uint64_t row = 0, rle = 0;
    m->max_id = m->max_source = m->max_error = 1;
    for (size_t i = 0; i < m->n; i++) {
        mvideo *v = &m->v[i];
        bool ok = v->status == SHARD_VIDEO_OK;
        v->row_start = row;
        v->row_count = ok ? v->n_rows : 0;
        v->rle_start = rle;
        v->rle_count = ok ? v->n_rle : 0;
        row += v->row_count;
        rle += v->rle_count;
        m->max_id = RT_MAX(m->max_id, strlen(v->id) + 1);
        m->max_source = RT_MAX(m->max_source, strlen(v->source) + 1);
        m->max_error = RT_MAX(m->max_error, RT_MIN(strlen(v->error), MAX_ERROR) + 1);
    }
    m->rows = row;
    m->rle = rle;
}

// ---------------------------------------------------------------------------------------------
// HDF5 helpers (writer). Every call that creates metadata runs on all ranks with the same args.

static rt_status h5err(const char *path, const char *what) {
    return rt_error_set(RT_ERR_HDF5, "%s: HDF5 failed to %s", path, what);
}

static hid_t fixed_str(size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n ? n : 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

static herr_t attr_str(hid_t obj, const char *name, const char *value) {
    if (!value) value = "";
    hid_t t = fixed_str(strlen(value) + 1), s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, t, value);
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return e;
}

static herr_t attr_scalar(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                          const void *v) {
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, mem_type, v);
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    return e;
}

static herr_t attr_int(hid_t obj, const char *name, int v) {
    return attr_scalar(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT, &v);
}

static herr_t attr_strings(hid_t obj, const char *name, const char *const *v, size_t n) {
    size_t w = 1;
    for (size_t i = 0; i < n; i++) w = RT_MAX(w, strlen(v[i]) + 1);
    char *buf = rt_calloc(n ? n : 1, w);
    if (!buf) return -1;
    for (size_t i = 0; i < n; i++) memcpy(buf + i * w, v[i], strlen(v[i]));
    hsize_t dims = n;
    hid_t t = fixed_str(w), s = H5Screate_simple(1, &dims, NULL);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a < 0 ? -1 : H5Awrite(a, t, buf);
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    rt_free(buf);
    return e;
}

enum { C_VIDEO, C_FRAME, C_TRACK, C_LABEL, C_SCORE, C_BOX, C_RLE_START, C_RLE, N_COLS };

static const struct {
    const char *name;
    int rank2; // box is [N,4]
} COLS[N_COLS] = {{"video", 0}, {"frame", 0},     {"track_id", 0}, {"label", 0},
                  {"score", 0}, {"box", 1},       {"rle_start", 0}, {"rle", 0}};

static hid_t col_file_type(int c) {
    switch (c) {
    case C_VIDEO: return H5T_STD_U32LE;
    case C_FRAME:
    case C_TRACK: return H5T_STD_I32LE;
    case C_LABEL: return H5T_STD_I16LE;
    case C_SCORE:
    case C_BOX: return H5T_IEEE_F32LE;
    case C_RLE_START: return H5T_STD_U64LE;
    default: return H5T_STD_U32LE;
    }
}

static hid_t col_mem_type(int c) {
    switch (c) {
    case C_VIDEO: return H5T_NATIVE_UINT32;
    case C_FRAME:
    case C_TRACK: return H5T_NATIVE_INT32;
    case C_LABEL: return H5T_NATIVE_INT16;
    case C_SCORE:
    case C_BOX: return H5T_NATIVE_FLOAT;
    case C_RLE_START: return H5T_NATIVE_UINT64;
    default: return H5T_NATIVE_UINT32;
    }
}

// The /videos record, packed; the same type in memory and in the file.
typedef struct vtype {
    hid_t t, s_id, s_src, s_err, e_status;
    size_t size, o_id, o_src, o_frames, o_h, o_w, o_fps, o_status, o_err, o_att, o_sec, o_rs,
        o_rc;
} vtype;

static void vtype_make(vtype *vt, size_t max_id, size_t max_src, size_t max_err) {
    size_t o = 0;
    vt->s_id = fixed_str(max_id);
    vt->s_src = fixed_str(max_src);
    vt->s_err = fixed_str(max_err);
    vt->e_status = H5Tenum_create(H5T_NATIVE_INT8);
    int8_t v0 = 0, v1 = 1;
    H5Tenum_insert(vt->e_status, "ok", &v0);
    H5Tenum_insert(vt->e_status, "failed", &v1);
    vt->o_id = o, o += max_id;
    vt->o_src = o, o += max_src;
    vt->o_frames = o, o += 8;
    vt->o_h = o, o += 4;
    vt->o_w = o, o += 4;
    vt->o_fps = o, o += 8;
    vt->o_status = o, o += 1;
    vt->o_err = o, o += max_err;
    vt->o_att = o, o += 4;
    vt->o_sec = o, o += 8;
    vt->o_rs = o, o += 8;
    vt->o_rc = o, o += 8;
    vt->size = o;
    vt->t = H5Tcreate(H5T_COMPOUND, o);
    H5Tinsert(vt->t, "id", vt->o_id, vt->s_id);
    H5Tinsert(vt->t, "source", vt->o_src, vt->s_src);
    H5Tinsert(vt->t, "frames", vt->o_frames, H5T_NATIVE_INT64);
    H5Tinsert(vt->t, "height", vt->o_h, H5T_NATIVE_INT32);
    H5Tinsert(vt->t, "width", vt->o_w, H5T_NATIVE_INT32);
    H5Tinsert(vt->t, "fps", vt->o_fps, H5T_NATIVE_DOUBLE);
    H5Tinsert(vt->t, "status", vt->o_status, vt->e_status);
    H5Tinsert(vt->t, "error", vt->o_err, vt->s_err);
    H5Tinsert(vt->t, "attempts", vt->o_att, H5T_NATIVE_UINT32);
    H5Tinsert(vt->t, "seconds", vt->o_sec, H5T_NATIVE_DOUBLE);
    H5Tinsert(vt->t, "row_start", vt->o_rs, H5T_NATIVE_UINT64);
    H5Tinsert(vt->t, "row_count", vt->o_rc, H5T_NATIVE_UINT64);
}

static void vtype_close(vtype *vt) {
    H5Tclose(vt->t);
    H5Tclose(vt->s_id);
    H5Tclose(vt->s_src);
    H5Tclose(vt->s_err);
    H5Tclose(vt->e_status);
}

static rt_status write_videos(hid_t d, const manifest *m, const vtype *vt, hid_t dxpl,
                              const char *path) {
    uint8_t *buf = rt_calloc(m->n ? m->n : 1, vt->size);
    if (!buf) return rt_error_set(RT_ERR_NOMEM, "merge: out of memory");
    for (size_t i = 0; i < m->n; i++) {
        uint8_t *r = buf + i * vt->size;
        const mvideo *v = &m->v[i];
        int8_t status = (int8_t)v->status;
        memcpy(r + vt->o_id, v->id, strlen(v->id));
        memcpy(r + vt->o_src, v->source, strlen(v->source));
        memcpy(r + vt->o_frames, &v->frames, 8);
        memcpy(r + vt->o_h, &v->height, 4);
        memcpy(r + vt->o_w, &v->width, 4);
        memcpy(r + vt->o_fps, &v->fps, 8);
        memcpy(r + vt->o_status, &status, 1);
        memcpy(r + vt->o_err, v->error, RT_MIN(strlen(v->error), MAX_ERROR));
        memcpy(r + vt->o_att, &v->attempts, 4);
        memcpy(r + vt->o_sec, &v->seconds, 8);
        memcpy(r + vt->o_rs, &v->row_start, 8);
        memcpy(r + vt->o_rc, &v->row_count, 8);
    }
    herr_t e = m->n ? H5Dwrite(d, vt->t, H5S_ALL, H5S_ALL, dxpl, buf) : 0;
    rt_free(buf);
    return e < 0 ? h5err(path, "write /videos") : RT_OK;
}

// Writes elements [off, off+n) of a 1-D (or [N,4]) dataset with independent I/O.
static rt_status write_range(hid_t d, int c, uint64_t off, uint64_t n, const void *buf,
                             hid_t dxpl, const char *path) {
    if (!n) return RT_OK;
    int nd = COLS[c].rank2 ? 2 : 1;
    hsize_t start[2] = {off, 0}, count[2] = {n, 4};
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(nd, count, NULL);
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (e >= 0) e = H5Dwrite(d, col_mem_type(c), ms, fs, dxpl, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    if (e < 0) {
        char what[96];
        snprintf(what, sizeof what, "write /results/%s", COLS[c].name);
        return h5err(path, what);
    }
    return RT_OK;
}

// A rank's batch of consecutive rows, flushed when full.
typedef struct batch {
    uint64_t row0, rle0, rows, rle, rows_cap, rle_cap;
    uint32_t *video;
    int32_t *frame, *track;
    int16_t *label;
    float *score, *box;
    uint64_t *rle_start;
    uint32_t *counts;
} batch;

static void batch_free(batch *b) {
    rt_free(b->video), rt_free(b->frame), rt_free(b->track), rt_free(b->label);
    rt_free(b->score), rt_free(b->box), rt_free(b->rle_start), rt_free(b->counts);
    memset(b, 0, sizeof *b);
}

static rt_status batch_reserve(batch *b, uint64_t rows, uint64_t rle) {
    if (rows > b->rows_cap) {
        uint64_t cap = RT_MAX(rows, b->rows_cap * 2);
        void *p[7] = {rt_realloc(b->video, cap * 4), NULL, NULL, NULL, NULL, NULL, NULL};
        if (p[0]) b->video = p[0];
        p[1] = rt_realloc(b->frame, cap * 4);
        if (p[1]) b->frame = p[1];
        p[2] = rt_realloc(b->track, cap * 4);
        if (p[2]) b->track = p[2];
        p[3] = rt_realloc(b->label, cap * 2);
        if (p[3]) b->label = p[3];
        p[4] = rt_realloc(b->score, cap * 4);
        if (p[4]) b->score = p[4];
        p[5] = rt_realloc(b->box, cap * 16);
        if (p[5]) b->box = p[5];
        p[6] = rt_realloc(b->rle_start, cap * 8);
        if (p[6]) b->rle_start = p[6];
        for (int i = 0; i < 7; i++)
            if (!p[i]) return rt_error_set(RT_ERR_NOMEM, "merge: out of memory");
        b->rows_cap = cap;
    }
    if (rle > b->rle_cap) {
        uint64_t cap = RT_MAX(rle, b->rle_cap * 2);
        uint32_t *q = rt_realloc(b->counts, cap * 4);
        if (!q) return rt_error_set(RT_ERR_NOMEM, "merge: out of memory");
        b->counts = q;
        b->rle_cap = cap;
    }
    return RT_OK;
}

static rt_status batch_flush(batch *b, hid_t *d, hid_t dxpl, const char *path) {
    rt_status st = RT_OK;
    const void *cols[N_COLS] = {b->video, b->frame, b->track,     b->label,
                                b->score, b->box,   b->rle_start, b->counts};
    for (int c = 0; c < N_COLS && st == RT_OK; c++) {
        if (c == C_RLE)
            st = write_range(d[c], c, b->rle0, b->rle, cols[c], dxpl, path);
        else
            st = write_range(d[c], c, b->row0, b->rows, cols[c], dxpl, path);
    }
    b->row0 += b->rows;
    b->rle0 += b->rle;
    b->rows = b->rle = 0;
    return st;
}

// Reads this rank's videos [v0, v1) and writes their rows.
static rt_status write_share(const merge_archive_params *p, const manifest *m, size_t v0,
                             size_t v1, hid_t *d, hid_t dxpl) {
    batch b;
    memset(&b, 0, sizeof b);
    shard_spool_entry e;
    shard_spool_entry_init(&e);
    rt_status st = RT_OK;
    char path[4400];
    if (v0 < v1) {
        b.row0 = m->v[v0].row_start;
        b.rle0 = m->v[v0].rle_start;
    }
    size_t limit = p->batch_bytes ? p->batch_bytes : ((size_t)64 << 20);
    for (size_t i = v0; i < v1 && st == RT_OK; i++) {
        const mvideo *v = &m->v[i];
        if (!v->row_count) continue;
        st = shard_spool_path(p->spool, v->id, path, sizeof path);
        if (st == RT_OK) st = shard_spool_read(path, &e, false);
        if (st == RT_OK &&
            (strcmp(e.meta.id, v->id) != 0 || e.meta.n_rows != v->n_rows ||
             e.meta.n_rle != v->n_rle || !hash_ok(p, &e.meta)))
            st = rt_error_set(RT_ERR_FORMAT, "%s changed while the archive was written", path);
        if (st != RT_OK) break;
        if ((b.rows + v->row_count) * 38 + (b.rle + v->rle_count) * 4 > limit && b.rows)
            if ((st = batch_flush(&b, d, dxpl, p->path)) != RT_OK) break;
        if ((st = batch_reserve(&b, b.rows + v->row_count, b.rle + v->rle_count)) != RT_OK) break;
        uint64_t r = b.rows, start = v->rle_start;
        for (uint64_t k = 0; k < v->row_count; k++) {
            b.video[r + k] = (uint32_t)i;
            b.rle_start[r + k] = start;
            start += e.rle_len[k];
        }
        memcpy(b.frame + r, e.frame, v->row_count * 4);
        memcpy(b.track + r, e.track_id, v->row_count * 4);
        memcpy(b.label + r, e.label, v->row_count * 2);
        memcpy(b.score + r, e.score, v->row_count * 4);
        memcpy(b.box + 4 * r, e.box, v->row_count * 16);
        memcpy(b.counts + b.rle, e.rle, v->rle_count * 4);
        b.rows += v->row_count;
        b.rle += v->rle_count;
    }
    if (st == RT_OK && b.rows) st = batch_flush(&b, d, dxpl, p->path);
    batch_free(&b);
    shard_spool_entry_free(&e);
    return st;
}

// Contiguous shares balanced by bytes to read (plus a per-file cost).
static void share_of(const manifest *m, int rank, int size, size_t *v0, size_t *v1) {
    double total = 0;
    for (size_t i = 0; i < m->n; i++)
        total += 4096.0 + 34.0 * (double)m->v[i].row_count + 4.0 * (double)m->v[i].rle_count;
    double acc = 0, lo = total * rank / size, hi = total * (rank + 1) / size;
    *v0 = *v1 = 0;
    bool started = false;
    for (size_t i = 0; i < m->n; i++) {
        double w = 4096.0 + 34.0 * (double)m->v[i].row_count + 4.0 * (double)m->v[i].rle_count;
        double mid = acc + w / 2;
        acc += w;
        bool mine = mid >= lo && (mid < hi || rank == size - 1);
        if (mine && !started) *v0 = i, started = true;
        if (mine) *v1 = i + 1;
    }
    if (!started) *v0 = *v1 = 0;
}

static void iso_now(char *buf, size_t cap) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void tmp_name(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(out, cap, "%.*s/.%s.tmp", (int)(slash - path), path, slash + 1);
    else
        snprintf(out, cap, ".%s.tmp", path);
}

rt_status merge_archive_write(const merge_archive_params *p, MPI_Comm comm,
                              merge_archive_stats *stats) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    double t0 = rt_now();
    memset(stats, 0, sizeof *stats);
    manifest m;
    memset(&m, 0, sizeof m);
    void *buf = NULL;
    size_t len = 0;
    rt_status st = RT_OK;
    rt_h5_quiet();
    if (rank == 0) {
        st = build_manifest(p, &m);
        if (st == RT_OK) st = manifest_pack(&m, &buf, &len);
    }
    st = shard_mpi_agree(st, comm);
    if (st == RT_OK) st = shard_mpi_bcast_bytes(&buf, &len, 0, comm);
    if (st != RT_OK) {
        if (rank == 0) rt_free(buf);
        manifest_free(&m);
        return st;
    }
    if (rank != 0) st = manifest_unpack(&m, buf);
    rt_free(buf);
    st = shard_mpi_agree(st, comm);
    if (st != RT_OK) {
        manifest_free(&m);
        return st;
    }
    long skipped = m.skipped;
    MPI_Bcast(&skipped, 1, MPI_LONG, 0, comm);
    manifest_offsets(&m);
    char created[32] = {0}, tmp[4400];
    if (rank == 0) iso_now(created, sizeof created);
    MPI_Bcast(created, sizeof created, MPI_CHAR, 0, comm);
    tmp_name(p->path, tmp, sizeof tmp);

    // Everything below up to the close is collective HDF5 metadata work with identical
    // arguments on every rank, then independent raw-data writes.
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = -1, g = -1, dv = -1, dcpl = -1, dxpl = -1;
    hid_t d[N_COLS];
    for (int c = 0; c < N_COLS; c++) d[c] = -1;
    vtype vt;
    vtype_make(&vt, m.max_id, m.max_source, m.max_error);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    // Format 1.8+ so that attributes over 64 KiB (a long job text) are allowed.
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    rt_status local = RT_OK;
    if (f < 0) {
        st = rt_error_set(RT_ERR_IO, "%s: cannot create the archive", tmp);
        goto close;
    }
    herr_t e = 0;
    e |= attr_str(f, "format", MERGE_ARCHIVE_FORMAT);
    e |= attr_int(f, "version", MERGE_ARCHIVE_VERSION);
    e |= attr_str(f, "software", p->software);
    e |= attr_str(f, "model", p->model_name);
    e |= attr_str(f, "model_sha256", p->weights_sha256);
    e |= attr_str(f, "job", p->job_text);
    if (p->job_path) e |= attr_str(f, "job_path", p->job_path);
    e |= attr_str(f, "created", created);
    e |= attr_int(f, "ranks", size);
    e |= attr_strings(f, "classes", p->classes, p->n_classes);
    e |= attr_str(f, "prototype_memory", p->prototype_memory);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    hsize_t nv = m.n;
    hid_t s = H5Screate_simple(1, &nv, NULL);
    dv = H5Dcreate2(f, "videos", vt.t, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Sclose(s);
    g = H5Gcreate2(f, "results", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (int c = 0; c < N_COLS; c++) {
        hsize_t dims[2] = {c == C_RLE ? m.rle : c == C_RLE_START ? m.rows + 1 : m.rows, 4};
        s = H5Screate_simple(COLS[c].rank2 ? 2 : 1, dims, NULL);
        d[c] = H5Dcreate2(g, COLS[c].name, col_file_type(c), s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Sclose(s);
        if (d[c] < 0) e = -1;
    }
    if (e < 0 || dv < 0 || g < 0) {
        st = h5err(tmp, "create the archive's attributes and datasets");
        goto close;
    }
    dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_INDEPENDENT);
    if (rank == 0) {
        local = write_videos(dv, &m, &vt, dxpl, tmp);
        uint64_t total = m.rle;
        if (local == RT_OK) local = write_range(d[C_RLE_START], C_RLE_START, m.rows, 1, &total,
                                                dxpl, tmp);
    }
    size_t v0, v1;
    share_of(&m, rank, size, &v0, &v1);
    if (local == RT_OK) local = write_share(p, &m, v0, v1, d, dxpl);
    st = shard_mpi_agree(local, comm);
close:
    if (dxpl >= 0) H5Pclose(dxpl);
    for (int c = 0; c < N_COLS; c++)
        if (d[c] >= 0) H5Dclose(d[c]);
    if (g >= 0) H5Gclose(g);
    if (dv >= 0) H5Dclose(dv);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (f >= 0 && H5Fclose(f) < 0 && st == RT_OK) st = h5err(tmp, "close the archive");
    H5Pclose(fapl);
    vtype_close(&vt);
    st = shard_mpi_agree(st, comm);
    if (st == RT_OK && p->finish) st = shard_mpi_agree(p->finish(p->finish_ctx, tmp, comm), comm);
    if (rank == 0) {
        if (st != RT_OK) {
            unlink(tmp);
        } else if (rename(tmp, p->path) != 0) {
            st = rt_error_set(RT_ERR_IO, "%s: cannot rename to %s: %s", tmp, p->path,
                              strerror(errno));
            unlink(tmp);
        }
    }
    st = shard_mpi_agree(st, comm);
    if (st == RT_OK) {
        stats->videos = (long)m.n;
        for (size_t i = 0; i < m.n; i++) stats->failed += m.v[i].status != SHARD_VIDEO_OK;
        stats->skipped = skipped;
        stats->rows = m.rows;
        stats->rle = m.rle;
    }
    stats->seconds = rt_now() - t0;
    manifest_free(&m);
    return st;
}

// ---------------------------------------------------------------------------------------------
// /metrics

static herr_t attr_i64(hid_t obj, const char *name, int64_t v) {
    return attr_scalar(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

// The /metrics/classes record: name, then 8 bytes per column (packed; file = memory layout on
// little-endian hosts, which the spool already requires).
static hid_t metrics_type(const merge_archive_metrics *m, size_t name_w, bool file) {
    hid_t t = H5Tcreate(H5T_COMPOUND, name_w + 8 * m->n_cols), s = fixed_str(name_w);
    H5Tinsert(t, "name", 0, s);
    H5Tclose(s);
    for (size_t c = 0; c < m->n_cols; c++) {
        hid_t ct = m->col_types[c] == 'i' ? (file ? H5T_STD_I64LE : H5T_NATIVE_INT64)
                                          : (file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
        H5Tinsert(t, m->col_names[c], name_w + 8 * c, ct);
    }
    return t;
}

rt_status merge_archive_add_metrics(const char *path, const merge_archive_metrics *m,
                                    MPI_Comm comm) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    rt_h5_quiet();
    size_t w = 1;
    for (size_t r = 0; r < m->n_rows; r++) w = RT_MAX(w, strlen(m->row_names[r]) + 1);
    size_t rec = w + 8 * m->n_cols;
    uint8_t *buf = rt_calloc(m->n_rows ? m->n_rows : 1, rec);
    if (!buf) return shard_mpi_agree(rt_error_set(RT_ERR_NOMEM, "out of memory"), comm);
    for (size_t r = 0; r < m->n_rows; r++) {
        uint8_t *o = buf + r * rec;
        memcpy(o, m->row_names[r], strlen(m->row_names[r]));
        for (size_t c = 0; c < m->n_cols; c++) {
            double x = m->values[r * m->n_cols + c];
            if (m->col_types[c] == 'i') {
                int64_t v = (int64_t)x;
                memcpy(o + w + 8 * c, &v, 8);
            } else {
                memcpy(o + w + 8 * c, &x, 8);
            }
        }
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = -1, g = -1, d = -1, ft = -1, mt = -1, sp = -1;
    hid_t dxpl = -1;
    rt_status st = RT_OK;
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    if (f < 0) {
        st = rt_error_set(RT_ERR_IO, "%s: cannot reopen the archive to add /metrics", path);
        goto close;
    }
    herr_t e = 0;
    g = H5Gcreate2(f, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        st = h5err(path, "create /metrics");
        goto close;
    }
    e |= attr_str(g, "protocol", m->protocol);
    e |= attr_str(g, "mean_row", m->mean_row);
    e |= attr_i64(g, "videos", m->videos);
    e |= attr_i64(g, "missing", m->missing);
    e |= attr_i64(g, "no_gt", m->no_gt);
    e |= attr_i64(g, "masks", m->masks);
    ft = metrics_type(m, w, true);
    mt = metrics_type(m, w, false);
    hsize_t n = m->n_rows;
    sp = H5Screate_simple(1, &n, NULL);
    d = H5Dcreate2(g, "classes", ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (e < 0 || d < 0) {
        st = h5err(path, "create /metrics/classes");
        goto close;
    }
    dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_INDEPENDENT);
    if (rank == 0 && n && H5Dwrite(d, mt, H5S_ALL, H5S_ALL, dxpl, buf) < 0)
        st = h5err(path, "write /metrics/classes");
    st = shard_mpi_agree(st, comm);
close:
    if (dxpl >= 0) H5Pclose(dxpl);
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (g >= 0) H5Gclose(g);
    if (f >= 0 && H5Fclose(f) < 0 && st == RT_OK) st = h5err(path, "close the archive");
    H5Pclose(fapl);
    rt_free(buf);
    return shard_mpi_agree(st, comm);
}

// ---------------------------------------------------------------------------------------------
// Reader

struct merge_archive {
    char *path;
    hid_t f;
    hid_t d[N_COLS];
    merge_archive_video *v;
    size_t n;
    uint64_t rows, rle;
    char **classes;
    size_t n_classes;
};

void merge_archive_close(merge_archive **pa) {
    if (!pa || !*pa) return;
    merge_archive *a = *pa;
    for (int c = 0; c < N_COLS; c++)
        if (a->d[c] >= 0) H5Dclose(a->d[c]);
    if (a->f >= 0) H5Fclose(a->f);
    for (size_t i = 0; i < a->n; i++) {
        rt_free(a->v[i].id);
        rt_free(a->v[i].source);
        rt_free(a->v[i].error);
    }
    for (size_t i = 0; i < a->n_classes; i++) rt_free(a->classes[i]);
    rt_free(a->classes);
    rt_free(a->v);
    rt_free(a->path);
    rt_free(a);
    *pa = NULL;
}

static char *dup_fixed(const uint8_t *p, size_t n) {
    size_t l = 0;
    while (l < n && p[l]) l++;
    char *s = rt_malloc(l + 1);
    if (s) memcpy(s, p, l), s[l] = '\0';
    return s;
}

static rt_status read_videos(merge_archive *a) {
    hid_t d = H5Dopen2(a->f, "videos", H5P_DEFAULT);
    if (d < 0) return rt_error_set(RT_ERR_FORMAT, "%s: no /videos", a->path);
    hid_t ft = H5Dget_type(d), s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    rt_status st = RT_OK;
    uint8_t *buf = NULL;
    size_t size = H5Tget_size(ft);
    static const char *const names[] = {"id",     "source",   "frames",  "height",
                                        "width",  "fps",      "status",  "error",
                                        "attempts", "seconds", "row_start", "row_count"};
    size_t off[12], msz[12];
    if (H5Tget_class(ft) != H5T_COMPOUND || n < 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: /videos is not a compound table", a->path);
        goto done;
    }
    for (int k = 0; k < 12; k++) {
        int idx = H5Tget_member_index(ft, names[k]);
        if (idx < 0) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: /videos has no field '%s'", a->path, names[k]);
            goto done;
        }
        off[k] = H5Tget_member_offset(ft, (unsigned)idx);
        hid_t mt = H5Tget_member_type(ft, (unsigned)idx);
        msz[k] = H5Tget_size(mt);
        H5Tclose(mt);
    }
    buf = rt_calloc((size_t)n ? (size_t)n : 1, size);
    a->v = rt_calloc((size_t)n ? (size_t)n : 1, sizeof *a->v);
    if (!buf || !a->v) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", a->path);
        goto done;
    }
    // Written little-endian and packed by merge_archive_write; read with the file's own type.
    if (n && H5Dread(d, ft, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        st = rt_error_set(RT_ERR_HDF5, "%s: cannot read /videos", a->path);
        goto done;
    }
    for (hssize_t i = 0; i < n; i++) {
        const uint8_t *r = buf + (size_t)i * size;
        merge_archive_video *v = &a->v[i];
        a->n = (size_t)i + 1;
        v->id = dup_fixed(r + off[0], msz[0]);
        v->source = dup_fixed(r + off[1], msz[1]);
        v->error = dup_fixed(r + off[7], msz[7]);
        if (!v->id || !v->source || !v->error) {
            st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", a->path);
            goto done;
        }
        int8_t status;
        memcpy(&v->frames, r + off[2], 8);
        memcpy(&v->height, r + off[3], 4);
        memcpy(&v->width, r + off[4], 4);
        memcpy(&v->fps, r + off[5], 8);
        memcpy(&status, r + off[6], 1);
        memcpy(&v->attempts, r + off[8], 4);
        memcpy(&v->seconds, r + off[9], 8);
        memcpy(&v->row_start, r + off[10], 8);
        memcpy(&v->row_count, r + off[11], 8);
        v->status = status ? MERGE_VIDEO_FAILED : MERGE_VIDEO_OK;
    }
done:
    rt_free(buf);
    H5Sclose(s);
    H5Tclose(ft);
    H5Dclose(d);
    return st;
}

static rt_status read_classes(merge_archive *a) {
    if (!rt_h5_attr_exists(a->f, "classes")) return RT_OK;
    hid_t at = H5Aopen(a->f, "classes", H5P_DEFAULT);
    hid_t t = H5Aget_type(at), s = H5Aget_space(at);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    size_t w = H5Tget_size(t);
    rt_status st = RT_OK;
    char *buf = NULL;
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0 || n < 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: attribute classes is not a fixed string array",
                          a->path);
        goto done;
    }
    buf = rt_calloc((size_t)n + 1, w);
    a->classes = rt_calloc((size_t)n + 1, sizeof *a->classes);
    if (!buf || !a->classes || H5Aread(at, t, buf) < 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: cannot read attribute classes", a->path);
        goto done;
    }
    for (hssize_t i = 0; i < n; i++) {
        a->classes[i] = dup_fixed((const uint8_t *)buf + (size_t)i * w, w);
        if (!a->classes[i]) {
            st = rt_error_set(RT_ERR_NOMEM, "out of memory");
            goto done;
        }
        a->n_classes = (size_t)i + 1;
    }
done:
    rt_free(buf);
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(at);
    return st;
}

rt_status merge_archive_open(const char *path, merge_archive **out) {
    *out = NULL;
    rt_h5_quiet();
    merge_archive *a = rt_calloc(1, sizeof *a);
    if (!a) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    a->f = -1;
    for (int c = 0; c < N_COLS; c++) a->d[c] = -1;
    a->path = rt_strdup(path);
    rt_status st = RT_OK;
    if (H5Fis_hdf5(path) <= 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: not an HDF5 file", path);
        goto fail;
    }
    a->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (a->f < 0) {
        st = rt_error_set(RT_ERR_IO, "%s: cannot open", path);
        goto fail;
    }
    char format[64];
    long long version = 0;
    if (rt_h5_attr_string(a->f, "format", format, sizeof format) != RT_OK ||
        strcmp(format, MERGE_ARCHIVE_FORMAT) != 0 ||
        rt_h5_attr_int(a->f, "version", &version) != RT_OK) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: not a pcan archive", path);
        goto fail;
    }
    if (version != MERGE_ARCHIVE_VERSION) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: archive version %lld, this pcan reads version %d",
                          path, version, MERGE_ARCHIVE_VERSION);
        goto fail;
    }
    if ((st = read_videos(a)) != RT_OK || (st = read_classes(a)) != RT_OK) goto fail;
    for (int c = 0; c < N_COLS; c++) {
        char name[64];
        snprintf(name, sizeof name, "results/%s", COLS[c].name);
        a->d[c] = H5Dopen2(a->f, name, H5P_DEFAULT);
        if (a->d[c] < 0) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: no /%s", path, name);
            goto fail;
        }
        hid_t s = H5Dget_space(a->d[c]);
        hsize_t dims[2] = {0, 0};
        H5Sget_simple_extent_dims(s, dims, NULL);
        H5Sclose(s);
        if (c == C_FRAME) a->rows = dims[0];
        if (c == C_RLE) a->rle = dims[0];
    }
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].row_start + a->v[i].row_count > a->rows) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: video %s's rows exceed /results", path,
                              a->v[i].id);
            goto fail;
        }
    *out = a;
    return RT_OK;
fail:
    merge_archive_close(&a);
    return st;
}

size_t merge_archive_num_videos(const merge_archive *a) { return a->n; }
const merge_archive_video *merge_archive_video_at(const merge_archive *a, size_t i) {
    return i < a->n ? &a->v[i] : NULL;
}
uint64_t merge_archive_num_rows(const merge_archive *a) { return a->rows; }
size_t merge_archive_num_classes(const merge_archive *a) { return a->n_classes; }
const char *merge_archive_class(const merge_archive *a, size_t i) {
    return i < a->n_classes ? a->classes[i] : NULL;
}

long merge_archive_find(const merge_archive *a, const char *id) {
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(a->v[mid].id, id);
        if (!c) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

void merge_archive_rows_init(merge_archive_rows *r) { memset(r, 0, sizeof *r); }

void merge_archive_rows_free(merge_archive_rows *r) {
    if (!r) return;
    rt_free(r->frame), rt_free(r->track_id), rt_free(r->label), rt_free(r->score);
    rt_free(r->box), rt_free(r->rle_start), rt_free(r->rle);
    merge_archive_rows_init(r);
}

static rt_status read_range(merge_archive *a, int c, uint64_t off, uint64_t n, void *buf) {
    if (!n) return RT_OK;
    int nd = COLS[c].rank2 ? 2 : 1;
    hsize_t start[2] = {off, 0}, count[2] = {n, 4};
    hid_t fs = H5Dget_space(a->d[c]), ms = H5Screate_simple(nd, count, NULL);
    herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (e >= 0) e = H5Dread(a->d[c], col_mem_type(c), ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    if (e < 0)
        return rt_error_set(RT_ERR_HDF5, "%s: cannot read /results/%s [%llu, +%llu)", a->path,
                            COLS[c].name, (unsigned long long)off, (unsigned long long)n);
    return RT_OK;
}

rt_status merge_archive_read_rows(merge_archive *a, size_t i, merge_archive_rows *r) {
    if (i >= a->n) return rt_error_set(RT_ERR_INVAL, "%s: no video %zu", a->path, i);
    const merge_archive_video *v = &a->v[i];
    uint64_t n = v->row_count;
    if (n + 1 > r->cap) {
        uint64_t cap = n + 1;
        void *p[6] = {rt_realloc(r->frame, cap * 4), NULL, NULL, NULL, NULL, NULL};
        if (p[0]) r->frame = p[0];
        if ((p[1] = rt_realloc(r->track_id, cap * 4))) r->track_id = p[1];
        if ((p[2] = rt_realloc(r->label, cap * 2))) r->label = p[2];
        if ((p[3] = rt_realloc(r->score, cap * 4))) r->score = p[3];
        if ((p[4] = rt_realloc(r->box, cap * 16))) r->box = p[4];
        if ((p[5] = rt_realloc(r->rle_start, cap * 8))) r->rle_start = p[5];
        for (int k = 0; k < 6; k++)
            if (!p[k]) return rt_error_set(RT_ERR_NOMEM, "out of memory");
        r->cap = cap;
    }
    r->n = 0;
    rt_status st = RT_OK;
    if ((st = read_range(a, C_FRAME, v->row_start, n, r->frame)) != RT_OK ||
        (st = read_range(a, C_TRACK, v->row_start, n, r->track_id)) != RT_OK ||
        (st = read_range(a, C_LABEL, v->row_start, n, r->label)) != RT_OK ||
        (st = read_range(a, C_SCORE, v->row_start, n, r->score)) != RT_OK ||
        (st = read_range(a, C_BOX, v->row_start, n, r->box)) != RT_OK ||
        (st = read_range(a, C_RLE_START, v->row_start, n + 1, r->rle_start)) != RT_OK)
        return st;
    uint64_t base = r->rle_start[0], m = r->rle_start[n] - base;
    if (r->rle_start[n] < base || r->rle_start[n] > a->rle)
        return rt_error_set(RT_ERR_FORMAT, "%s: bad rle_start for video %s", a->path, v->id);
    for (uint64_t k = 0; k <= n; k++) r->rle_start[k] -= base;
    if (m > r->rle_cap) {
        uint32_t *q = rt_realloc(r->rle, m * 4);
        if (!q) return rt_error_set(RT_ERR_NOMEM, "out of memory");
        r->rle = q;
        r->rle_cap = m;
    }
    if ((st = read_range(a, C_RLE, base, m, r->rle)) != RT_OK) return st;
    r->n = n;
    return RT_OK;
}

void merge_archive_metrics_free(merge_archive_metrics **m) {
    if (!m || !*m) return;
    rt_free(*m);
    *m = NULL;
}

// One block: the struct, row/column name pointers, types, values, then the strings.
rt_status merge_archive_read_metrics(merge_archive *a, merge_archive_metrics **out) {
    *out = NULL;
    if (H5Lexists(a->f, "metrics", H5P_DEFAULT) <= 0) return RT_OK;
    hid_t g = H5Gopen2(a->f, "metrics", H5P_DEFAULT), d = -1, ft = -1, sp = -1, mt = -1;
    rt_status st = RT_OK;
    uint8_t *rows = NULL, *blk = NULL;
    char protocol[32] = "", mean[MAX_ERROR] = "";
    long long num[4] = {0, 0, 0, 0};
    static const char *const num_names[4] = {"videos", "missing", "no_gt", "masks"};
    if (g < 0 || rt_h5_attr_string(g, "protocol", protocol, sizeof protocol) != RT_OK ||
        rt_h5_attr_string(g, "mean_row", mean, sizeof mean) != RT_OK)
        goto bad;
    for (int i = 0; i < 4; i++)
        if (rt_h5_attr_int(g, num_names[i], &num[i]) != RT_OK) goto bad;
    if ((d = H5Dopen2(g, "classes", H5P_DEFAULT)) < 0) goto bad;
    ft = H5Dget_type(d);
    sp = H5Dget_space(d);
    hssize_t nr = H5Sget_simple_extent_npoints(sp);
    int nm = H5Tget_nmembers(ft);
    if (H5Tget_class(ft) != H5T_COMPOUND || nr < 0 || nm < 1) goto bad;
    int ni = H5Tget_member_index(ft, "name");
    if (ni != 0) goto bad;
    hid_t nt = H5Tget_member_type(ft, 0);
    size_t name_w = H5Tget_size(nt);
    bool is_str = H5Tget_class(nt) == H5T_STRING && H5Tis_variable_str(nt) <= 0;
    H5Tclose(nt);
    if (!is_str) goto bad;
    size_t nc = (size_t)nm - 1, n = (size_t)nr, strings = 0;
    for (size_t c = 0; c < nc; c++) {
        char *cn = H5Tget_member_name(ft, (unsigned)c + 1);
        if (!cn) goto bad;
        strings += strlen(cn) + 1;
        H5free_memory(cn);
    }
    strings += n * (name_w + 1) + strlen(protocol) + strlen(mean) + 2;
    size_t rec = name_w + 8 * nc;
    // Memory type: the name as stored, every metric as a double (HDF5 converts int64).
    mt = H5Tcreate(H5T_COMPOUND, rec);
    hid_t ns = fixed_str(name_w);
    H5Tinsert(mt, "name", 0, ns);
    H5Tclose(ns);
    size_t sz = sizeof(merge_archive_metrics) + (n + nc) * sizeof(char *) + nc +
                n * nc * sizeof(double) + strings + 16;
    rows = rt_calloc(n ? n : 1, rec);
    blk = rt_calloc(1, sz);
    if (!rows || !blk) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto done;
    }
    merge_archive_metrics *m = (merge_archive_metrics *)blk;
    const char **row_names = (const char **)(m + 1), **col_names = row_names + n;
    double *values = (double *)(col_names + nc);
    char *types = (char *)(values + n * nc), *sb = types + nc + 1;
    for (size_t c = 0; c < nc; c++) {
        char *cn = H5Tget_member_name(ft, (unsigned)c + 1);
        hid_t ct = H5Tget_member_type(ft, (unsigned)c + 1);
        types[c] = H5Tget_class(ct) == H5T_INTEGER ? 'i' : 'f';
        H5Tclose(ct);
        H5Tinsert(mt, cn, name_w + 8 * c, H5T_NATIVE_DOUBLE);
        col_names[c] = sb;
        sb += sprintf(sb, "%s", cn) + 1;
        H5free_memory(cn);
    }
    if (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0) goto bad;
    for (size_t r = 0; r < n; r++) {
        row_names[r] = sb;
        size_t l = 0;
        const uint8_t *p = rows + r * rec;
        while (l < name_w && p[l]) l++;
        memcpy(sb, p, l);
        sb += l + 1;
        memcpy(values + r * nc, p + name_w, 8 * nc);
    }
    m->protocol = sb;
    sb += sprintf(sb, "%s", protocol) + 1;
    m->mean_row = sb;
    sprintf(sb, "%s", mean);
    m->videos = num[0], m->missing = num[1], m->no_gt = num[2], m->masks = num[3];
    m->n_rows = n, m->n_cols = nc;
    m->row_names = row_names, m->col_names = col_names, m->col_types = types, m->values = values;
    *out = m;
    blk = NULL;
    goto done;
bad:
    st = rt_error_set(RT_ERR_FORMAT, "%s: /metrics is malformed", a->path);
done:
    rt_free(blk);
    rt_free(rows);
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (d >= 0) H5Dclose(d);
    if (g >= 0) H5Gclose(g);
    return st;
}
