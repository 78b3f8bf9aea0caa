// Filesystem helpers of the dataset readers: string lists, paths, directory listings in natural
// order, whole-file reads and image header sizes.
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "shard/datasets_internal.h"

const char *const shard_image_exts[] = {"jpg", "jpeg", "png", NULL};

rt_status shard_strvec_push(shard_strvec *s, const char *str) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = rt_realloc(s->v, cap * sizeof *v);
        if (!v) return rt_error_set(RT_ERR_NOMEM, "out of memory listing names");
        s->v = v;
        s->cap = cap;
    }
    char *copy = rt_strdup(str);
    if (!copy) return rt_error_set(RT_ERR_NOMEM, "out of memory listing names");
    s->v[s->n++] = copy;
    return RT_OK;
}

void shard_strvec_free(shard_strvec *s) {
    for (size_t i = 0; i < s->n; i++) rt_free(s->v[i]);
    rt_free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

char *shard_path_join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    while (na > 1 && a[na - 1] == '/') na--;
    char *p = rt_malloc(na + nb + 2);
    if (!p) {
        rt_error_set(RT_ERR_NOMEM, "out of memory building a path");
        return NULL;
    }
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

bool shard_is_dir(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool shard_is_file(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *shard_path_ext(const char *name) {
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot : name + strlen(name);
}

static bool has_ext(const char *name, const char *const *exts) {
    if (!exts) return true;
    const char *e = shard_path_ext(name);
    if (*e != '.') return false;
    for (size_t i = 0; exts[i]; i++)
        if (strcasecmp(e + 1, exts[i]) == 0) return true;
    return false;
}

int shard_natural_cmp(const char *a, const char *b) {
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        if (isdigit(*p) && isdigit(*q)) {
            while (*p == '0') p++;
            while (*q == '0') q++;
            size_t lp = 0, lq = 0;
            while (isdigit(p[lp])) lp++;
            while (isdigit(q[lq])) lq++;
            if (lp != lq) return lp < lq ? -1 : 1;
            int c = memcmp(p, q, lp);
            if (c) return c < 0 ? -1 : 1;
            p += lp;
            q += lq;
        } else {
            if (*p != *q) return *p < *q ? -1 : 1;
            p++;
            q++;
        }
    }
    if (*p || *q) return *p ? 1 : -1;
    return strcmp(a, b); // "f01" vs "f1": equal as numbers, still a total order
}

static int natural_qsort_cmp(const void *x, const void *y) {
    return shard_natural_cmp(*(char *const *)x, *(char *const *)y);
}

// d_type is DT_UNKNOWN on some filesystems (and for symlinks we follow the target): then stat.
static int entry_kind(const char *dir, const struct dirent *e) {
    if (e->d_type == DT_DIR) return SHARD_LIST_DIRS;
    if (e->d_type == DT_REG) return SHARD_LIST_FILES;
    char *p = shard_path_join(dir, e->d_name);
    if (!p) return 0;
    struct stat st;
    int kind = 0;
    if (stat(p, &st) == 0) kind = S_ISDIR(st.st_mode) ? SHARD_LIST_DIRS
                                  : S_ISREG(st.st_mode) ? SHARD_LIST_FILES : 0;
    rt_free(p);
    return kind;
}

static rt_status list_or_count(const char *dir, int kind, const char *const *exts,
                               shard_strvec *out, int64_t *count) {
    DIR *d = opendir(dir);
    if (!d) return rt_error_set(RT_ERR_IO, "%s: cannot read folder: %s", dir, strerror(errno));
    rt_status st = RT_OK;
    int64_t n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (!(entry_kind(dir, e) & kind)) continue;
        if (kind == SHARD_LIST_FILES && !has_ext(e->d_name, exts)) continue;
        n++;
        if (out && (st = shard_strvec_push(out, e->d_name)) != RT_OK) break;
    }
    if (st == RT_OK && errno != 0)
        st = rt_error_set(RT_ERR_IO, "%s: cannot read folder: %s", dir, strerror(errno));
    closedir(d);
    if (st == RT_OK && out && out->n > 1) qsort(out->v, out->n, sizeof *out->v, natural_qsort_cmp);
    if (count) *count = n;
    return st;
}

rt_status shard_list_dir(const char *dir, int kind, const char *const *exts, shard_strvec *out) {
    return list_or_count(dir, kind, exts, out, NULL);
}

rt_status shard_count_files(const char *dir, const char *const *exts, int64_t *n) {
    return list_or_count(dir, SHARD_LIST_FILES, exts, NULL, n);
}

rt_status shard_read_text(const char *path, char **text, size_t *len) {
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return rt_error_set(RT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = rt_malloc(cap);
    rt_status st = RT_OK;
    if (!buf) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (;;) {
        if (cap - n < 2) {
            char *nb = rt_realloc(buf, cap * 2);
            if (!nb) {
                st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        st = rt_error_set(RT_ERR_IO, "%s: read error", path);
        goto fail;
    }
    if (memchr(buf, '\0', n)) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: not a text file (contains NUL bytes)", path);
        goto fail;
    }
    buf[n] = '\0';
    fclose(f);
    *text = buf;
    if (len) *len = n;
    return RT_OK;
fail:
    rt_free(buf);
    fclose(f);
    return st;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// JPEG: walk the marker segments up to the first SOFn (not DHT C4, JPG C8, DAC CC).
static rt_status jpeg_size(FILE *f, const char *path, int32_t *w, int32_t *h) {
    unsigned char seg[8];
    for (int guard = 0; guard < 1000; guard++) {
        int c = fgetc(f);
        if (c == EOF) break;
        if (c != 0xFF) continue;
        int m;
        do m = fgetc(f);
        while (m == 0xFF);
        if (m == EOF) break;
        if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) continue; // no length
        if (fread(seg, 1, 2, f) != 2) break;
        long len = seg[0] << 8 | seg[1];
        if (len < 2) break;
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            if (fread(seg, 1, 5, f) != 5) break;
            *h = seg[1] << 8 | seg[2];
            *w = seg[3] << 8 | seg[4];
            return RT_OK;
        }
        if (fseek(f, len - 2, SEEK_CUR) != 0) break;
    }
    return rt_error_set(RT_ERR_DECODE, "%s: no JPEG frame header found", path);
}

rt_status shard_image_size(const char *path, int32_t *width, int32_t *height) {
    FILE *f = fopen(path, "rb");
    if (!f) return rt_error_set(RT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char hdr[24];
    rt_status st;
    size_t got = fread(hdr, 1, sizeof hdr, f);
    if (got >= 24 && memcmp(hdr, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(hdr + 12, "IHDR", 4) == 0) {
        uint32_t w = be32(hdr + 16), h = be32(hdr + 20);
        if (w == 0 || h == 0 || w > INT32_MAX || h > INT32_MAX)
            st = rt_error_set(RT_ERR_DECODE, "%s: PNG header gives size %ux%u", path, w, h);
        else {
            *width = (int32_t)w;
            *height = (int32_t)h;
            st = RT_OK;
        }
    } else if (got >= 2 && hdr[0] == 0xFF && hdr[1] == 0xD8) {
        st = fseek(f, 2, SEEK_SET) == 0
                 ? jpeg_size(f, path, width, height)
                 : rt_error_set(RT_ERR_IO, "%s: cannot seek", path);
    } else {
        st = rt_error_set(RT_ERR_DECODE, "%s: not a PNG or JPEG file", path);
    }
    fclose(f);
    return st;
}
