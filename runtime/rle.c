#include "runtime/rle.h"

#include <math.h>
#include <string.h>

void rt_rle_init(rt_rle *r) { memset(r, 0, sizeof *r); }

void rt_rle_free(rt_rle *r) {
    if (!r) return;
    rt_free(r->counts);
    memset(r, 0, sizeof *r);
}

rt_status rt_rle_reserve(rt_rle *r, size_t n) {
    if (n <= r->cap) return RT_OK;
    size_t cap = r->cap ? r->cap : 16;
    while (cap < n) cap *= 2;
    uint32_t *c = rt_realloc(r->counts, cap * sizeof *c);
    if (!c) return rt_error_set(RT_ERR_NOMEM, "rle: cannot grow to %zu counts", cap);
    r->counts = c;
    r->cap = cap;
    return RT_OK;
}

static rt_status check_size(uint32_t h, uint32_t w) {
    if ((uint64_t)h * w > UINT32_MAX)
        return rt_error_set(RT_ERR_SHAPE, "rle: mask %ux%u has more than 2^32-1 pixels", h, w);
    return RT_OK;
}

rt_status rt_rle_set_counts(rt_rle *r, uint32_t h, uint32_t w, const uint32_t *counts, size_t n) {
    rt_status st = check_size(h, w);
    if (st != RT_OK) return st;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += counts[i];
    if (sum != (uint64_t)h * w)
        return rt_error_set(RT_ERR_FORMAT, "rle: counts add up to %llu, mask %ux%u has %llu pixels",
                            (unsigned long long)sum, h, w, (unsigned long long)h * w);
    if ((st = rt_rle_reserve(r, n)) != RT_OK) return st;
    if (n) memcpy(r->counts, counts, n * sizeof *counts);
    r->h = h;
    r->w = w;
    r->n = n;
    return RT_OK;
}

rt_status rt_rle_copy(rt_rle *dst, const rt_rle *src) {
    RT_ASSERT(dst != src);
    rt_status st = rt_rle_reserve(dst, src->n);
    if (st != RT_OK) return st;
    if (src->n) memcpy(dst->counts, src->counts, src->n * sizeof *src->counts);
    dst->h = src->h;
    dst->w = src->w;
    dst->n = src->n;
    return RT_OK;
}

// Appends a run, growing as needed; canonical writers never call it with a zero run except
// for the first.
static rt_status push_run(rt_rle *r, uint32_t len) {
    if (r->n == r->cap) {
        rt_status st = rt_rle_reserve(r, r->n + 1);
        if (st != RT_OK) return st;
    }
    r->counts[r->n++] = len;
    return RT_OK;
}

// True when the n bytes at p are all zero (word-wise; masks are mostly background).
static bool all_zero(const uint8_t *p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v) return false;
    }
    for (; i < n; i++)
        if (p[i]) return false;
    return true;
}

// Run builder: extends the current run or starts the next one.
typedef struct run_writer {
    rt_rle *r;
    uint8_t cur;
    uint32_t run;
} run_writer;

static rt_status put(run_writer *wr, uint8_t v, uint32_t count) {
    if (count == 0) return RT_OK;
    if (v != wr->cur) {
        rt_status st = push_run(wr->r, wr->run);
        if (st != RT_OK) return st;
        wr->cur = v;
        wr->run = 0;
    }
    wr->run += count;
    return RT_OK;
}

rt_status rt_rle_encode(rt_rle *r, const uint8_t *mask, uint32_t h, uint32_t w) {
    rt_status st = check_size(h, w);
    if (st != RT_OK) return st;
    r->h = h;
    r->w = w;
    r->n = 0;
    // Only the bounding box of the set pixels is walked column by column (strided reads are the
    // cost); rows are scanned contiguously to find it.
    uint32_t y0 = h, y1 = 0, x0 = w, x1 = 0;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = mask + (size_t)y * w;
        if (all_zero(row, w)) continue;
        if (y0 == h) y0 = y;
        y1 = y;
        uint32_t a = 0, b = w - 1;
        while (!row[a]) a++;
        while (!row[b]) b--;
        x0 = RT_MIN(x0, a);
        x1 = RT_MAX(x1, b);
    }
    run_writer wr = {r, 0, 0};
    if (y0 == h) return push_run(r, h * w); // empty (and 0×0: [0])
    if ((st = put(&wr, 0, x0 * h)) != RT_OK) return st;
    for (uint32_t x = x0; x <= x1; x++) {
        if ((st = put(&wr, 0, y0)) != RT_OK) return st;
        const uint8_t *p = mask + (size_t)y0 * w + x;
        for (uint32_t y = y0; y <= y1; y++, p += w) {
            uint8_t v = *p != 0;
            if (v == wr.cur) {
                wr.run++;
            } else if ((st = put(&wr, v, 1)) != RT_OK) {
                return st;
            }
        }
        if ((st = put(&wr, 0, h - 1 - y1)) != RT_OK) return st;
    }
    if ((st = put(&wr, 0, (w - 1 - x1) * h)) != RT_OK) return st;
    return push_run(r, wr.run);
}

void rt_rle_decode(const rt_rle *r, uint8_t *mask) {
    uint32_t h = r->h, w = r->w, y = 0, x = 0;
    for (size_t i = 0; i < r->n; i++) {
        uint8_t v = (uint8_t)(i & 1);
        for (uint32_t k = r->counts[i]; k > 0; k--) {
            mask[(size_t)y * w + x] = v;
            if (++y == h) {
                y = 0;
                x++;
            }
        }
    }
}

uint64_t rt_rle_area(const rt_rle *r) {
    uint64_t a = 0;
    for (size_t i = 1; i < r->n; i += 2) a += r->counts[i];
    return a;
}

void rt_rle_bbox(const rt_rle *r, double bbox[4]) {
    // Every 1-run contributes its first pixel (after an even index) and its last pixel (after
    // an odd index); a trailing 0-run is dropped. The uint32 arithmetic (including the wrap of
    // cc-1 when a leading 1-run is empty) is what pycocotools does for non-canonical input.
    size_t m = r->n & ~(size_t)1;
    uint32_t h = r->h;
    if (m == 0 || h == 0) {
        bbox[0] = bbox[1] = bbox[2] = bbox[3] = 0;
        return;
    }
    uint32_t xs = r->w, ys = h, xe = 0, ye = 0, xp = 0, cc = 0;
    for (size_t j = 0; j < m; j++) {
        cc += r->counts[j];
        uint32_t t = cc - (uint32_t)(j & 1), y = t % h, x = t / h;
        if ((j & 1) == 0) {
            xp = x;
        } else if (xp < x) { // the run wraps into a later column
            ys = 0;
            ye = h - 1;
        }
        xs = RT_MIN(xs, x);
        xe = RT_MAX(xe, x);
        ys = RT_MIN(ys, y);
        ye = RT_MAX(ye, y);
    }
    bbox[0] = xs;
    bbox[1] = ys;
    bbox[2] = (double)(xe - xs + 1);
    bbox[3] = (double)(ye - ys + 1);
}

// Walks two masks of equal pixel count run boundary by run boundary.
typedef struct run_cursor {
    const uint32_t *c;
    size_t n, i;
    uint32_t left; // pixels left in run i
    unsigned v;    // value of run i
} run_cursor;

static void cursor_skip_empty(run_cursor *k) {
    while (k->left == 0 && k->i + 1 < k->n) {
        k->left = k->c[++k->i];
        k->v ^= 1u;
    }
}

static void cursor_init(run_cursor *k, const rt_rle *r) {
    k->c = r->counts;
    k->n = r->n;
    k->i = 0;
    k->v = 0;
    k->left = r->n ? r->counts[0] : 0;
    cursor_skip_empty(k);
}

uint64_t rt_rle_intersection(const rt_rle *a, const rt_rle *b) {
    RT_ASSERT(a->h == b->h && a->w == b->w);
    run_cursor ka, kb;
    cursor_init(&ka, a);
    cursor_init(&kb, b);
    uint64_t inter = 0;
    while (ka.left && kb.left) {
        uint32_t step = RT_MIN(ka.left, kb.left);
        if (ka.v & kb.v) inter += step;
        ka.left -= step;
        kb.left -= step;
        cursor_skip_empty(&ka);
        cursor_skip_empty(&kb);
    }
    return inter;
}

enum { OP_OR, OP_AND, OP_ANDNOT };

// Canonical runs of (a op b) into out[], which holds at least a->n + b->n + 1 entries.
static size_t combine(const rt_rle *a, const rt_rle *b, int op, uint32_t *out) {
    run_cursor ka, kb;
    cursor_init(&ka, a);
    cursor_init(&kb, b);
    size_t n = 0;
    unsigned cur = 0;
    uint32_t run = 0;
    while (ka.left && kb.left) {
        uint32_t step = RT_MIN(ka.left, kb.left);
        unsigned v = op == OP_OR ? (ka.v | kb.v) : op == OP_AND ? (ka.v & kb.v) : (ka.v & !kb.v);
        if (v != cur) {
            out[n++] = run;
            cur = v;
            run = 0;
        }
        run += step;
        ka.left -= step;
        kb.left -= step;
        cursor_skip_empty(&ka);
        cursor_skip_empty(&kb);
    }
    out[n++] = run;
    return n;
}

static void bboxes_overlap_ratio(const double *d, const double *g, bool crowd, double *o) {
    double iw = fmin(d[0] + d[2], g[0] + g[2]) - fmax(d[0], g[0]);
    double ih = fmin(d[1] + d[3], g[1] + g[3]) - fmax(d[1], g[1]);
    if (iw <= 0 || ih <= 0) {
        *o = 0;
        return;
    }
    double i = iw * ih, da = d[2] * d[3], ga = g[2] * g[3];
    *o = i / (crowd ? da : da + ga - i);
}

// The mask part of iou() once the boxes are known to overlap.
static double mask_iou(const rt_rle *dt, const rt_rle *gt, bool crowd) {
    if (dt->h != gt->h || dt->w != gt->w) return -1;
    uint64_t i = rt_rle_intersection(dt, gt);
    if (i == 0) return 0;
    uint64_t ad = rt_rle_area(dt);
    uint64_t u = crowd ? ad : ad + rt_rle_area(gt) - i;
    return (double)i / (double)u;
}

double rt_rle_iou_pair(const rt_rle *dt, const rt_rle *gt, bool crowd) {
    double bd[4], bg[4], o;
    rt_rle_bbox(dt, bd);
    rt_rle_bbox(gt, bg);
    bboxes_overlap_ratio(bd, bg, crowd, &o);
    return o > 0 ? mask_iou(dt, gt, crowd) : 0;
}

rt_status rt_rle_iou(const rt_rle *dt, size_t n_dt, const rt_rle *gt, size_t n_gt,
                     const uint8_t *iscrowd, double *out) {
    if (n_dt == 0 || n_gt == 0) return RT_OK;
    double *bb = rt_malloc((n_dt + n_gt) * 4 * sizeof *bb);
    if (!bb) return rt_error_set(RT_ERR_NOMEM, "rle iou: %zu x %zu boxes", n_dt, n_gt);
    double *bd = bb, *bg = bb + 4 * n_dt;
    for (size_t d = 0; d < n_dt; d++) rt_rle_bbox(&dt[d], bd + 4 * d);
    for (size_t g = 0; g < n_gt; g++) rt_rle_bbox(&gt[g], bg + 4 * g);
    for (size_t d = 0; d < n_dt; d++) {
        for (size_t g = 0; g < n_gt; g++) {
            bool crowd = iscrowd && iscrowd[g];
            double o;
            bboxes_overlap_ratio(bd + 4 * d, bg + 4 * g, crowd, &o);
            out[d * n_gt + g] = o > 0 ? mask_iou(&dt[d], &gt[g], crowd) : 0;
        }
    }
    rt_free(bb);
    return RT_OK;
}

rt_status rt_rle_merge(rt_rle *out, const rt_rle *in, size_t n, bool intersect) {
    for (size_t i = 0; i < n; i++) RT_ASSERT(out != &in[i]);
    if (n == 1) return rt_rle_copy(out, &in[0]);
    bool same = n > 0;
    size_t bound = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i].h != in[0].h || in[i].w != in[0].w) same = false;
        bound += in[i].n;
    }
    if (!same) {
        out->h = out->w = 0;
        out->n = 0;
        return RT_OK;
    }
    rt_status st = rt_rle_reserve(out, bound);
    if (st != RT_OK) return st;
    out->h = in[0].h;
    out->w = in[0].w;
    int op = intersect ? OP_AND : OP_OR;
    if (n == 2) {
        out->n = combine(&in[0], &in[1], op, out->counts);
        return RT_OK;
    }
    // Fold pairwise, ping-ponging between `out` and a scratch RLE so the last step lands in out.
    rt_rle tmp;
    rt_rle_init(&tmp);
    if ((st = rt_rle_reserve(&tmp, bound)) != RT_OK) return st;
    tmp.h = out->h;
    tmp.w = out->w;
    rt_rle *bufs[2] = {out, &tmp};
    const rt_rle *acc = &in[0];
    for (size_t i = 1; i < n; i++) {
        rt_rle *dst = bufs[(n - 1 - i) & 1]; // i == n-1 writes to out
        dst->n = combine(acc, &in[i], op, dst->counts);
        acc = dst;
    }
    rt_rle_free(&tmp);
    return RT_OK;
}

rt_status rt_rle_subtract(rt_rle *out, const rt_rle *a, const rt_rle *b) {
    RT_ASSERT(out != a && out != b);
    if (a->h != b->h || a->w != b->w)
        return rt_error_set(RT_ERR_SHAPE, "rle subtract: %ux%u minus %ux%u", a->h, a->w, b->h,
                            b->w);
    rt_status st = rt_rle_reserve(out, a->n + b->n + 1);
    if (st != RT_OK) return st;
    out->h = a->h;
    out->w = a->w;
    out->n = combine(a, b, OP_ANDNOT, out->counts);
    return RT_OK;
}

bool rt_rle_equal(const rt_rle *a, const rt_rle *b) {
    if (a->h != b->h || a->w != b->w) return false;
    // Same pixels <=> XOR is empty; compare run by run without allocating.
    run_cursor ka, kb;
    cursor_init(&ka, a);
    cursor_init(&kb, b);
    while (ka.left && kb.left) {
        if (ka.v != kb.v) return false;
        uint32_t step = RT_MIN(ka.left, kb.left);
        ka.left -= step;
        kb.left -= step;
        cursor_skip_empty(&ka);
        cursor_skip_empty(&kb);
    }
    return ka.left == 0 && kb.left == 0;
}

size_t rt_rle_to_string(const rt_rle *r, char *buf, size_t cap) {
    size_t p = 0;
    for (size_t i = 0; i < r->n; i++) {
        // Counts past the third are written as the difference to the run two back (the previous
        // run of the same colour); 5 bits a character, least significant first, bit 4 of the
        // last character acting as the sign.
        int64_t x = r->counts[i];
        if (i > 2) x -= r->counts[i - 2];
        for (;;) {
            int c = (int)(x & 0x1f);
            x >>= 5; // arithmetic: negatives stay negative
            bool more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            if (p + 1 < cap) buf[p] = (char)(c + 48);
            p++;
            if (!more) break;
        }
    }
    if (cap) buf[p < cap ? p : cap - 1] = '\0';
    return p;
}

// The parser proper; rt_rle_from_string empties `r` when this fails.
static rt_status parse_string(rt_rle *r, const char *s, size_t len) {
    rt_status st;
    uint64_t sum = 0;
    size_t p = 0;
    while (p < len) {
        size_t start = p;
        int64_t x = 0;
        int k = 0, c;
        do {
            if (p >= len)
                return rt_error_set(RT_ERR_FORMAT, "rle string ends inside the value at offset %zu",
                                    start);
            c = (unsigned char)s[p] - 48;
            if (c < 0 || c > 63)
                return rt_error_set(RT_ERR_FORMAT, "rle string: bad character 0x%02x at offset %zu",
                                    (unsigned char)s[p], p);
            if (k >= 8)
                return rt_error_set(RT_ERR_FORMAT, "rle string: value at offset %zu is too long",
                                    start);
            x |= (int64_t)(c & 0x1f) << (5 * k);
            p++;
            k++;
        } while (c & 0x20);
        if (c & 0x10) x -= (int64_t)1 << (5 * k); // sign-extend from the last group
        if (r->n > 2) x += r->counts[r->n - 2];
        if (x < 0 || x > UINT32_MAX)
            return rt_error_set(RT_ERR_FORMAT,
                                "rle string: count %lld at offset %zu is out of range",
                                (long long)x, start);
        if ((st = push_run(r, (uint32_t)x)) != RT_OK) return st;
        sum += (uint64_t)x;
    }
    if (sum != (uint64_t)r->h * r->w)
        return rt_error_set(RT_ERR_FORMAT, "rle string: counts add up to %llu, mask %ux%u has %llu "
                            "pixels", (unsigned long long)sum, r->h, r->w,
                            (unsigned long long)r->h * r->w);
    return RT_OK;
}

rt_status rt_rle_from_string(rt_rle *r, uint32_t h, uint32_t w, const char *s, size_t len) {
    rt_status st = check_size(h, w);
    r->h = h;
    r->w = w;
    r->n = 0;
    if (st == RT_OK) st = parse_string(r, s, len);
    if (st != RT_OK) {
        r->h = r->w = 0;
        r->n = 0;
    }
    return st;
}
