#include "shard/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/crc32c.h"

#define MAGIC "PCANSPL\n"
#define HEADER_LEN 32
// Strings longer than this in a file are a format error (ids, paths and messages are short).
#define MAX_STRING (1u << 20)

shard_spool_params shard_spool_default_params(void) {
    shard_spool_params p;
    p.durable = true;
    return p;
}

void shard_spool_entry_init(shard_spool_entry *e) { memset(e, 0, sizeof *e); }

void shard_spool_entry_free(shard_spool_entry *e) {
    if (!e) return;
    rt_free(e->meta.id);
    rt_free(e->meta.source);
    rt_free(e->meta.error);
    rt_free(e->frame);
    rt_free(e->track_id);
    rt_free(e->label);
    rt_free(e->score);
    rt_free(e->box);
    rt_free(e->rle_len);
    rt_free(e->rle);
    shard_spool_entry_init(e);
}

static rt_status set_str(char **dst, const char *s, size_t n) {
    char *c = rt_malloc(n + 1);
    if (!c) return rt_error_set(RT_ERR_NOMEM, "spool: out of memory");
    memcpy(c, s, n);
    c[n] = '\0';
    rt_free(*dst);
    *dst = c;
    return RT_OK;
}

static void clear_meta(shard_spool_entry *e) {
    shard_spool_meta *m = &e->meta;
    memset(m->hash, 0, sizeof m->hash);
    m->frames = 0;
    m->width = m->height = 0;
    m->fps = 0;
    m->status = SHARD_VIDEO_OK;
    m->attempts = 1;
    m->seconds = 0;
    m->n_rows = m->n_rle = 0;
}

rt_status shard_spool_entry_begin(shard_spool_entry *e, const char *id, const char *source,
                                  const uint8_t hash[SHARD_SPOOL_HASH_LEN]) {
    clear_meta(e);
    if (hash) memcpy(e->meta.hash, hash, SHARD_SPOOL_HASH_LEN);
    if (!source) source = "";
    rt_status st = set_str(&e->meta.id, id, strlen(id));
    if (st == RT_OK) st = set_str(&e->meta.source, source, strlen(source));
    if (st == RT_OK) st = set_str(&e->meta.error, "", 0);
    return st;
}

rt_status shard_spool_entry_fail(shard_spool_entry *e, const char *error) {
    e->meta.status = SHARD_VIDEO_FAILED;
    return set_str(&e->meta.error, error, strlen(error));
}

static rt_status grow(void **p, uint64_t n, size_t elem) {
    void *q = rt_realloc(*p, n ? n * elem : 1);
    if (!q) return rt_error_set(RT_ERR_NOMEM, "spool: out of memory for %llu rows",
                                (unsigned long long)n);
    *p = q;
    return RT_OK;
}

static rt_status reserve_rows(shard_spool_entry *e, uint64_t n) {
    if (n <= e->rows_cap && e->frame) return RT_OK;
    uint64_t cap = e->rows_cap ? e->rows_cap : 64;
    while (cap < n) cap *= 2;
    rt_status st;
    if ((st = grow((void **)&e->frame, cap, 4)) != RT_OK) return st;
    if ((st = grow((void **)&e->track_id, cap, 4)) != RT_OK) return st;
    if ((st = grow((void **)&e->label, cap, 2)) != RT_OK) return st;
    if ((st = grow((void **)&e->score, cap, 4)) != RT_OK) return st;
    if ((st = grow((void **)&e->box, cap, 16)) != RT_OK) return st;
    if ((st = grow((void **)&e->rle_len, cap, 4)) != RT_OK) return st;
    e->rows_cap = cap;
    return RT_OK;
}

static rt_status reserve_rle(shard_spool_entry *e, uint64_t n) {
    if (n <= e->rle_cap && e->rle) return RT_OK;
    uint64_t cap = e->rle_cap ? e->rle_cap : 1024;
    while (cap < n) cap *= 2;
    rt_status st = grow((void **)&e->rle, cap, 4);
    if (st == RT_OK) e->rle_cap = cap;
    return st;
}

rt_status shard_spool_entry_add(shard_spool_entry *e, int frame, const rt_result *items, int n) {
    shard_spool_meta *m = &e->meta;
    if (frame < 0) return rt_error_set(RT_ERR_INVAL, "spool %s: negative frame %d", m->id, frame);
    if (m->n_rows && e->frame[m->n_rows - 1] >= frame)
        return rt_error_set(RT_ERR_INVAL, "spool %s: frame %d after frame %d", m->id, frame,
                            e->frame[m->n_rows - 1]);
    if (frame + 1 > m->frames) m->frames = frame + 1;
    if (n <= 0) return RT_OK;
    uint64_t counts = 0;
    for (int i = 0; i < n; i++) {
        const rt_rle *r = &items[i].mask;
        if (r->n && m->width > 0 && (r->h != (uint32_t)m->height || r->w != (uint32_t)m->width))
            return rt_error_set(RT_ERR_INVAL,
                                "spool %s: frame %d track %d: mask is %ux%u, video is %dx%d",
                                m->id, frame, items[i].track_id, r->w, r->h, m->width, m->height);
        counts += r->n;
    }
    rt_status st = reserve_rows(e, m->n_rows + (uint64_t)n);
    if (st == RT_OK) st = reserve_rle(e, m->n_rle + counts);
    if (st != RT_OK) return st;
    uint64_t base = m->n_rows, at = m->n_rle;
    // Stable order by track id; the permutation is built in the frame column's new slice (it is
    // overwritten with the frame index below), so this allocates nothing. Items come sorted from
    // the engine, so the insertion sort is one comparison per item in practice.
    int32_t *perm = e->frame + base;
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && items[perm[j - 1]].track_id > items[i].track_id) {
            perm[j] = perm[j - 1];
            j--;
        }
        perm[j] = i;
    }
    for (int k = 0; k < n; k++) {
        const rt_result *r = &items[perm[k]];
        uint64_t j = base + (uint64_t)k;
        e->track_id[j] = r->track_id;
        e->label[j] = r->label;
        e->score[j] = r->score;
        memcpy(e->box + 4 * j, r->box, 16);
        e->rle_len[j] = (uint32_t)r->mask.n;
        if (r->mask.n) memcpy(e->rle + at, r->mask.counts, r->mask.n * 4);
        at += r->mask.n;
    }
    for (int k = 0; k < n; k++) e->frame[base + (uint64_t)k] = frame;
    m->n_rows += (uint64_t)n;
    m->n_rle = at;
    return RT_OK;
}

const uint32_t *shard_spool_row_rle(const shard_spool_entry *e, uint64_t row, uint32_t *n) {
    uint64_t off = 0;
    for (uint64_t i = 0; i < row; i++) off += e->rle_len[i];
    *n = e->rle_len[row];
    return e->rle + off;
}

// ---------------------------------------------------------------------------------------------
// Names

static int plain_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

void shard_spool_key(const char *id, char out[SHARD_SPOOL_KEY_MAX]) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0, limit = 180; // leaves room for ".attempt.N" and the temp prefix/suffix
    int cut = 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        int plain = plain_char(*p) && !(p == (const unsigned char *)id && *p == '.');
        size_t need = plain ? 1 : 3;
        if (o + need > limit) {
            cut = 1;
            break;
        }
        if (plain)
            out[o++] = (char)*p;
        else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (cut) {
        // FNV-1a of the whole id keeps shortened keys distinct.
        uint64_t h = 1469598103934665603ull;
        for (const unsigned char *p = (const unsigned char *)id; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        o += (size_t)snprintf(out + o, SHARD_SPOOL_KEY_MAX - o, "~%016llx", (unsigned long long)h);
    }
    out[o] = '\0';
}

rt_status shard_spool_path(const char *dir, const char *id, char *out, size_t cap) {
    char key[SHARD_SPOOL_KEY_MAX];
    shard_spool_key(id, key);
    int n = snprintf(out, cap, "%s/%s%s", dir, key, SHARD_SPOOL_SUFFIX);
    if (n < 0 || (size_t)n >= cap)
        return rt_error_set(RT_ERR_INVAL, "spool path too long: %s/%s", dir, key);
    return RT_OK;
}

rt_status shard_spool_mkdir(const char *dir) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return rt_error_set(RT_ERR_INVAL, "spool path too long: %s", dir);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return rt_error_set(RT_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
        *p = c;
        if (!c) break;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return rt_error_set(RT_ERR_IO, "%s: not a folder", dir);
    return RT_OK;
}

// ---------------------------------------------------------------------------------------------
// Writing

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
} wbuf;

static rt_status wb_put(wbuf *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *q = rt_realloc(b->p, cap);
        if (!q) return rt_error_set(RT_ERR_NOMEM, "spool: out of memory");
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return RT_OK;
}

static rt_status wb_u32(wbuf *b, uint32_t v) { return wb_put(b, &v, 4); }
static rt_status wb_u64(wbuf *b, uint64_t v) { return wb_put(b, &v, 8); }
static rt_status wb_str(wbuf *b, const char *s) {
    if (!s) s = "";
    uint32_t n = (uint32_t)strlen(s);
    rt_status st = wb_u32(b, n);
    return st == RT_OK ? wb_put(b, s, n) : st;
}

static rt_status build_meta(const shard_spool_meta *m, wbuf *b) {
    int32_t w = m->width, h = m->height;
    int64_t frames = m->frames;
    rt_status st = wb_put(b, m->hash, SHARD_SPOOL_HASH_LEN);
    if (st == RT_OK) st = wb_u32(b, (uint32_t)m->status);
    if (st == RT_OK) st = wb_u32(b, m->attempts);
    if (st == RT_OK) st = wb_put(b, &frames, 8);
    if (st == RT_OK) st = wb_put(b, &w, 4);
    if (st == RT_OK) st = wb_put(b, &h, 4);
    if (st == RT_OK) st = wb_put(b, &m->fps, 8);
    if (st == RT_OK) st = wb_put(b, &m->seconds, 8);
    if (st == RT_OK) st = wb_u64(b, m->n_rows);
    if (st == RT_OK) st = wb_u64(b, m->n_rle);
    if (st == RT_OK) st = wb_str(b, m->id);
    if (st == RT_OK) st = wb_str(b, m->source);
    if (st == RT_OK) st = wb_str(b, m->error);
    return st;
}

typedef struct column {
    const void *p;
    size_t bytes;
} column;

static void columns_of(const shard_spool_entry *e, column c[7]) {
    uint64_t n = e->meta.n_rows;
    c[0] = (column){e->frame, n * 4};
    c[1] = (column){e->track_id, n * 4};
    c[2] = (column){e->label, n * 2};
    c[3] = (column){e->score, n * 4};
    c[4] = (column){e->box, n * 16};
    c[5] = (column){e->rle_len, n * 4};
    c[6] = (column){e->rle, e->meta.n_rle * 4};
}

static rt_status write_all(int fd, const void *p, size_t n, const char *path) {
    const uint8_t *q = p;
    while (n) {
        ssize_t w = write(fd, q, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return rt_error_set(RT_ERR_IO, "%s: write: %s", path, strerror(errno));
        q += w;
        n -= (size_t)w;
    }
    return RT_OK;
}

static int little_endian(void) {
    uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

rt_status shard_spool_commit(const char *dir, const shard_spool_entry *e,
                             const shard_spool_params *params) {
    shard_spool_params def = shard_spool_default_params();
    if (!params) params = &def;
    if (!little_endian())
        return rt_error_set(RT_ERR_INVAL, "spool: big-endian hosts are not supported");
    char key[SHARD_SPOOL_KEY_MAX], tmp[4400], final_path[4400];
    shard_spool_key(e->meta.id, key);
    snprintf(tmp, sizeof tmp, "%s/.%s%s.tmp.%ld", dir, key, SHARD_SPOOL_SUFFIX, (long)getpid());
    rt_status st = shard_spool_path(dir, e->meta.id, final_path, sizeof final_path);
    if (st != RT_OK) return st;

    wbuf meta = {0};
    int fd = -1;
    if ((st = build_meta(&e->meta, &meta)) != RT_OK) goto fail;
    column c[7];
    columns_of(e, c);
    uint64_t data_len = 0;
    uint32_t data_crc = 0;
    for (int i = 0; i < 7; i++) {
        data_len += c[i].bytes;
        if (c[i].bytes) data_crc = rt_crc32c(data_crc, c[i].p, c[i].bytes);
    }
    uint8_t hdr[HEADER_LEN];
    uint32_t version = SHARD_SPOOL_VERSION, meta_len = (uint32_t)meta.n;
    uint32_t meta_crc = rt_crc32c(0, meta.p, meta.n);
    memcpy(hdr, MAGIC, 8);
    memcpy(hdr + 8, &version, 4);
    memcpy(hdr + 12, &meta_len, 4);
    memcpy(hdr + 16, &data_len, 8);
    memcpy(hdr + 24, &meta_crc, 4);
    memcpy(hdr + 28, &data_crc, 4);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        st = rt_error_set(RT_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto fail;
    }
    if ((st = write_all(fd, hdr, HEADER_LEN, tmp)) != RT_OK) goto fail;
    if ((st = write_all(fd, meta.p, meta.n, tmp)) != RT_OK) goto fail;
    for (int i = 0; i < 7; i++)
        if (c[i].bytes && (st = write_all(fd, c[i].p, c[i].bytes, tmp)) != RT_OK) goto fail;
    if (params->durable && fsync(fd) != 0) {
        st = rt_error_set(RT_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = rt_error_set(RT_ERR_IO, "%s: close: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, final_path) != 0) {
        st = rt_error_set(RT_ERR_IO, "%s: cannot rename to %s: %s", tmp, final_path,
                          strerror(errno));
        goto fail;
    }
    if (params->durable) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    rt_free(meta.p);
    return shard_spool_attempt_clear(dir, e->meta.id);
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
    rt_free(meta.p);
    return st;
}

// ---------------------------------------------------------------------------------------------
// Reading

static rt_status read_at(int fd, void *p, size_t n, uint64_t off, const char *path) {
    uint8_t *q = p;
    while (n) {
        ssize_t r = pread(fd, q, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return rt_error_set(RT_ERR_IO, "%s: read: %s", path, strerror(errno));
        if (r == 0) return rt_error_set(RT_ERR_FORMAT, "%s: truncated", path);
        q += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return RT_OK;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t n, at;
} rbuf;

static int rb_get(rbuf *b, void *out, size_t n) {
    if (b->n - b->at < n) return -1;
    memcpy(out, b->p + b->at, n);
    b->at += n;
    return 0;
}

static rt_status rb_str(rbuf *b, char **dst, const char *path, const char *what) {
    uint32_t n;
    if (rb_get(b, &n, 4) || n > MAX_STRING || b->n - b->at < n)
        return rt_error_set(RT_ERR_FORMAT, "%s: bad %s field", path, what);
    rt_status st = set_str(dst, (const char *)b->p + b->at, n);
    b->at += n;
    return st;
}

static rt_status parse_meta(const uint8_t *p, size_t n, shard_spool_meta *m, const char *path) {
    rbuf b = {p, n, 0};
    uint32_t status, attempts;
    int32_t w, h;
    int64_t frames;
    if (rb_get(&b, m->hash, SHARD_SPOOL_HASH_LEN) || rb_get(&b, &status, 4) ||
        rb_get(&b, &attempts, 4) || rb_get(&b, &frames, 8) || rb_get(&b, &w, 4) ||
        rb_get(&b, &h, 4) || rb_get(&b, &m->fps, 8) || rb_get(&b, &m->seconds, 8) ||
        rb_get(&b, &m->n_rows, 8) || rb_get(&b, &m->n_rle, 8))
        return rt_error_set(RT_ERR_FORMAT, "%s: metadata too short", path);
    if (status > SHARD_VIDEO_FAILED)
        return rt_error_set(RT_ERR_FORMAT, "%s: bad status %u", path, status);
    if (w < 0 || h < 0 || frames < 0)
        return rt_error_set(RT_ERR_FORMAT, "%s: bad size or frame count", path);
    m->status = (shard_video_status)status;
    m->attempts = attempts;
    m->frames = frames;
    m->width = w;
    m->height = h;
    rt_status st = rb_str(&b, &m->id, path, "id");
    if (st == RT_OK) st = rb_str(&b, &m->source, path, "source");
    if (st == RT_OK) st = rb_str(&b, &m->error, path, "error");
    if (st == RT_OK && b.at != b.n)
        st = rt_error_set(RT_ERR_FORMAT, "%s: %zu extra metadata bytes", path, b.n - b.at);
    return st;
}

rt_status shard_spool_read(const char *path, shard_spool_entry *e, bool meta_only) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return rt_error_set(RT_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t *meta = NULL;
    rt_status st;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = rt_error_set(RT_ERR_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    uint8_t hdr[HEADER_LEN];
    if ((uint64_t)sb.st_size < HEADER_LEN) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: truncated (%lld bytes)", path,
                          (long long)sb.st_size);
        goto done;
    }
    if ((st = read_at(fd, hdr, HEADER_LEN, 0, path)) != RT_OK) goto done;
    if (memcmp(hdr, MAGIC, 8) != 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: not a pcan spool entry (bad magic)", path);
        goto done;
    }
    uint32_t version, meta_len, meta_crc, data_crc;
    uint64_t data_len;
    memcpy(&version, hdr + 8, 4);
    memcpy(&meta_len, hdr + 12, 4);
    memcpy(&data_len, hdr + 16, 8);
    memcpy(&meta_crc, hdr + 24, 4);
    memcpy(&data_crc, hdr + 28, 4);
    if (version != SHARD_SPOOL_VERSION) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: spool version %u, this pcan reads version %d", path,
                          version, SHARD_SPOOL_VERSION);
        goto done;
    }
    if (meta_len > 4 * MAX_STRING || (uint64_t)sb.st_size != HEADER_LEN + meta_len + data_len) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: truncated or padded: %lld bytes, header says %llu",
                          path, (long long)sb.st_size,
                          (unsigned long long)(HEADER_LEN + (uint64_t)meta_len + data_len));
        goto done;
    }
    meta = rt_malloc(meta_len);
    if (!meta) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if ((st = read_at(fd, meta, meta_len, HEADER_LEN, path)) != RT_OK) goto done;
    if (rt_crc32c(0, meta, meta_len) != meta_crc) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: metadata checksum mismatch", path);
        goto done;
    }
    clear_meta(e);
    if ((st = parse_meta(meta, meta_len, &e->meta, path)) != RT_OK) goto done;
    shard_spool_meta *m = &e->meta;
    uint64_t expect = m->n_rows * 34 + m->n_rle * 4;
    if (m->n_rows > data_len || m->n_rle > data_len || expect != data_len) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: %llu rows and %llu counts do not fill %llu bytes",
                          path, (unsigned long long)m->n_rows, (unsigned long long)m->n_rle,
                          (unsigned long long)data_len);
        goto done;
    }
    if (meta_only) goto done;
    if ((st = reserve_rows(e, m->n_rows)) != RT_OK) goto done;
    if ((st = reserve_rle(e, m->n_rle)) != RT_OK) goto done;
    column c[7];
    columns_of(e, c);
    uint64_t off = HEADER_LEN + meta_len;
    uint32_t crc = 0;
    for (int i = 0; i < 7; i++) {
        if (!c[i].bytes) continue;
        if ((st = read_at(fd, (void *)c[i].p, c[i].bytes, off, path)) != RT_OK) goto done;
        crc = rt_crc32c(crc, c[i].p, c[i].bytes);
        off += c[i].bytes;
    }
    if (crc != data_crc) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: result checksum mismatch", path);
        goto done;
    }
    uint64_t sum = 0;
    for (uint64_t i = 0; i < m->n_rows; i++) {
        sum += e->rle_len[i];
        if (i && (e->frame[i] < e->frame[i - 1] ||
                  (e->frame[i] == e->frame[i - 1] && e->track_id[i] < e->track_id[i - 1]))) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: row %llu out of order", path,
                              (unsigned long long)i);
            goto done;
        }
    }
    if (sum != m->n_rle)
        st = rt_error_set(RT_ERR_FORMAT, "%s: mask lengths add up to %llu, not %llu", path,
                          (unsigned long long)sum, (unsigned long long)m->n_rle);
done:
    rt_free(meta);
    close(fd);
    return st;
}

// ---------------------------------------------------------------------------------------------
// Attempt markers and temp files

static void marker_path(const char *dir, const char *id, uint32_t n, char *out, size_t cap) {
    char key[SHARD_SPOOL_KEY_MAX];
    shard_spool_key(id, key);
    snprintf(out, cap, "%s/%s.attempt.%u", dir, key, n);
}

rt_status shard_spool_attempt_count(const char *dir, const char *id, uint32_t *count) {
    char p[4400];
    uint32_t n = 0;
    for (;;) {
        marker_path(dir, id, n + 1, p, sizeof p);
        if (access(p, F_OK) != 0) break;
        n++;
    }
    *count = n;
    return RT_OK;
}

rt_status shard_spool_attempt_begin(const char *dir, const char *id, uint32_t *attempt) {
    uint32_t n;
    shard_spool_attempt_count(dir, id, &n);
    char p[4400];
    marker_path(dir, id, n + 1, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return rt_error_set(RT_ERR_IO, "%s: cannot create: %s", p, strerror(errno));
    close(fd);
    *attempt = n + 1;
    return RT_OK;
}

rt_status shard_spool_attempt_undo(const char *dir, const char *id, uint32_t attempt) {
    char p[4400];
    marker_path(dir, id, attempt, p, sizeof p);
    if (unlink(p) != 0 && errno != ENOENT)
        return rt_error_set(RT_ERR_IO, "%s: cannot remove: %s", p, strerror(errno));
    return RT_OK;
}

rt_status shard_spool_attempt_clear(const char *dir, const char *id) {
    char p[4400];
    for (uint32_t n = 1;; n++) {
        marker_path(dir, id, n, p, sizeof p);
        if (unlink(p) != 0) {
            if (errno == ENOENT) break;
            return rt_error_set(RT_ERR_IO, "%s: cannot remove: %s", p, strerror(errno));
        }
    }
    return RT_OK;
}

rt_status shard_spool_clean_temp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return RT_OK;
        return rt_error_set(RT_ERR_IO, "%s: %s", dir, strerror(errno));
    }
    struct dirent *de;
    char p[4400];
    while ((de = readdir(d))) {
        if (de->d_name[0] != '.' || !strstr(de->d_name, SHARD_SPOOL_SUFFIX ".tmp.")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    return RT_OK;
}
