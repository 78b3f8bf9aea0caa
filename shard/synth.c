#include "shard/synth.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/fsutil.h"
#include "runtime/rle.h"
#include "shard/encode.h"

#define SYNTH_MAX_OBJECTS 12

static const char *const CLASS_NAMES[SHARD_SYNTH_CLASSES + 1] = {NULL, "car", "pedestrian",
                                                                 "bicycle"};
static const char *const DIFFICULTY_NAMES[] = {"easy", "normal", "hard"};

const char *shard_synth_class_name(int class_id) {
    return class_id >= 1 && class_id <= SHARD_SYNTH_CLASSES ? CLASS_NAMES[class_id] : "?";
}

const char *shard_synth_difficulty_name(shard_synth_difficulty d) { return DIFFICULTY_NAMES[d]; }

shard_synth_params shard_synth_default_params(void) {
    shard_synth_params p = {0};
    p.videos = 8;
    p.frames = 60;
    p.seed = 1;
    p.width = 320;
    p.height = 192;
    p.fps = 10;
    p.difficulty = SHARD_SYNTH_NORMAL;
    p.min_visible = 16;
    return p;
}

// ---------------------------------------------------------------------------------------------
// Randomness: splitmix64 for the scene, a stateless hash for textures and noise, so any pixel
// of any frame can be computed on its own.

static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static double rng_uniform(rng *r, double lo, double hi) {
    r->s = mix64(r->s);
    return lo + (hi - lo) * (double)(r->s >> 11) * (1.0 / 9007199254740992.0);
}

static int rng_int(rng *r, int lo, int hi) { // inclusive
    return lo + (int)floor(rng_uniform(r, 0, 1) * (hi - lo + 1) - 1e-12);
}

static double hash01(uint64_t seed, int64_t x, int64_t y, int64_t z) {
    uint64_t h = mix64(
        seed ^ mix64((uint64_t)x * 0x100000001B3ull ^ mix64((uint64_t)y) ^ ((uint64_t)z << 32)));
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

// Smooth value noise in [0,1) with lattice spacing `scale` pixels.
static double value_noise(uint64_t seed, double x, double y, double scale) {
    double fx = x / scale, fy = y / scale;
    double x0 = floor(fx), y0 = floor(fy);
    double tx = fx - x0, ty = fy - y0;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    int64_t ix = (int64_t)x0, iy = (int64_t)y0;
    double a = hash01(seed, ix, iy, 0), b = hash01(seed, ix + 1, iy, 0);
    double c = hash01(seed, ix, iy + 1, 0), d = hash01(seed, ix + 1, iy + 1, 0);
    return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
}

// ---------------------------------------------------------------------------------------------
// Scene

typedef struct object {
    int cls;     // 1 car, 2 pedestrian, 3 bicycle
    int id;      // cls*1000 + instance
    double w, h; // size in pixels
    double x0, y0, vx, vy;
    int t0; // first frame it exists
    double bob, bob_freq, phase;
    int facing;                  // +1 right, -1 left
    uint8_t c1[3], c2[3], c3[3]; // primary, secondary, dark part colours
    int texture;                 // 0 plain, 1 stripes, 2 checks
    double tex_period;
    uint64_t tex_seed;
} object;

struct shard_synth_video {
    shard_synth_params p;
    int index;
    uint64_t seed;
    int n;
    object obj[SYNTH_MAX_OBJECTS];
    int order[SYNTH_MAX_OBJECTS]; // painting order, far to near
    uint8_t bg_a[3], bg_b[3];
    double bg_scale, pan_x, pan_y;
};

static void set_rgb(uint8_t c[3], int r, int g, int b) {
    c[0] = (uint8_t)r;
    c[1] = (uint8_t)g;
    c[2] = (uint8_t)b;
}

static void jitter_rgb(rng *r, uint8_t c[3], int amount) {
    for (int k = 0; k < 3; k++) {
        int v = c[k] + rng_int(r, -amount, amount);
        c[k] = (uint8_t)RT_MAX(0, RT_MIN(255, v));
    }
}

static void pick_colours(rng *r, object *o, bool alike) {
    static const int car[][3] = {{200, 30, 30},   {30, 70, 200}, {230, 200, 40},
                                 {235, 235, 235}, {30, 130, 60}, {240, 120, 20}};
    static const int shirt[][3] = {
        {60, 170, 60}, {140, 60, 170}, {150, 100, 50}, {230, 110, 160}, {40, 160, 170}};
    static const int skin[][3] = {{235, 195, 165}, {175, 120, 85}, {120, 80, 55}};
    static const int trousers[][3] = {{30, 40, 90}, {25, 25, 25}, {90, 90, 95}};
    static const int frame[][3] = {{20, 200, 220}, {250, 140, 0}, {220, 30, 200}};
    int k;
    switch (o->cls) {
    case 1:
        if (alike) {
            int g = rng_int(r, 110, 140);
            set_rgb(o->c1, g, g, g + 8);
        } else {
            k = rng_int(r, 0, (int)RT_COUNTOF(car) - 1);
            set_rgb(o->c1, car[k][0], car[k][1], car[k][2]);
        }
        set_rgb(o->c2, 150, 200, 235); // windows
        set_rgb(o->c3, 18, 18, 18);    // tyres
        o->texture = 1;
        break;
    case 2:
        k = alike ? 0 : rng_int(r, 0, (int)RT_COUNTOF(shirt) - 1);
        set_rgb(o->c1, shirt[k][0], shirt[k][1], shirt[k][2]);
        k = alike ? 0 : rng_int(r, 0, (int)RT_COUNTOF(skin) - 1);
        set_rgb(o->c2, skin[k][0], skin[k][1], skin[k][2]);
        k = alike ? 0 : rng_int(r, 0, (int)RT_COUNTOF(trousers) - 1);
        set_rgb(o->c3, trousers[k][0], trousers[k][1], trousers[k][2]);
        o->texture = 2;
        break;
    default:
        k = alike ? 0 : rng_int(r, 0, (int)RT_COUNTOF(frame) - 1);
        set_rgb(o->c1, frame[k][0], frame[k][1], frame[k][2]);
        set_rgb(o->c2, 110, 60, 30); // saddle
        set_rgb(o->c3, 12, 12, 12);  // tyres
        o->texture = 0;
        break;
    }
    int j = alike ? 6 : 18;
    jitter_rgb(r, o->c1, j);
    jitter_rgb(r, o->c2, 6);
    jitter_rgb(r, o->c3, 4);
}

rt_status shard_synth_video_init(const shard_synth_params *p, int index, shard_synth_video **out) {
    shard_synth_video *v = rt_calloc(1, sizeof *v);
    if (!v) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    v->p = *p;
    v->index = index;
    v->seed = mix64(p->seed * 0x9E3779B97F4A7C15ull + (uint64_t)index);
    rng r = {v->seed};
    double W = p->width, H = p->height, F = p->frames;
    double sx = W / 320.0;
    bool easy = p->difficulty == SHARD_SYNTH_EASY, hard = p->difficulty == SHARD_SYNTH_HARD;

    // Background: two colours mixed by value noise, panning slowly.
    static const int bgs[][2][3] = {{{105, 105, 110}, {70, 120, 60}},
                                    {{150, 140, 120}, {90, 90, 95}},
                                    {{60, 95, 130}, {120, 150, 170}},
                                    {{130, 110, 80}, {80, 70, 60}}};
    int b = rng_int(&r, 0, (int)RT_COUNTOF(bgs) - 1);
    set_rgb(v->bg_a, bgs[b][0][0], bgs[b][0][1], bgs[b][0][2]);
    set_rgb(v->bg_b, bgs[b][1][0], bgs[b][1][1], bgs[b][1][2]);
    jitter_rgb(&r, v->bg_a, 15);
    jitter_rgb(&r, v->bg_b, 15);
    v->bg_scale = rng_uniform(&r, 14, 40) * sx;
    v->pan_x = rng_uniform(&r, -1.0, 1.0) * sx;
    v->pan_y = rng_uniform(&r, -0.2, 0.2) * sx;

    v->n = easy ? rng_int(&r, 2, 4) : hard ? rng_int(&r, 5, 8) : rng_int(&r, 2, 8);
    int instances[SHARD_SYNTH_CLASSES + 1] = {0};
    for (int i = 0; i < v->n; i++) {
        object *o = &v->obj[i];
        o->cls = rng_int(&r, 1, SHARD_SYNTH_CLASSES);
        o->id = o->cls * 1000 + ++instances[o->cls];
        double grow = easy ? 1.2 : 1.0;
        switch (o->cls) {
        case 1:
            o->h = H * rng_uniform(&r, 0.14, 0.26) * grow;
            o->w = o->h * rng_uniform(&r, 1.8, 2.3);
            break;
        case 2:
            o->h = H * rng_uniform(&r, 0.24, 0.42) * grow;
            o->w = o->h * rng_uniform(&r, 0.38, 0.46);
            break;
        default:
            o->h = H * rng_uniform(&r, 0.17, 0.28) * grow;
            o->w = o->h * rng_uniform(&r, 1.5, 1.8);
            break;
        }
        double speed = (easy ? rng_uniform(&r, 0.4, 1.4) : rng_uniform(&r, 0.6, 3.2)) * sx;
        if (o->cls == 2) speed *= 0.6;
        int dir = rng_uniform(&r, 0, 1) < 0.5 ? -1 : 1;
        o->vx = dir * speed;
        o->vy = rng_uniform(&r, -0.25, 0.25) * sx;
        o->facing = dir;
        o->bob = o->cls == 2 ? rng_uniform(&r, 0.5, 1.2) * sx : 0;
        o->bob_freq = rng_uniform(&r, 0.5, 0.9);
        o->phase = rng_uniform(&r, 0, 6.283185307179586);
        o->y0 = rng_uniform(&r, o->h / 2, H - o->h / 2);
        bool pair = hard && i > 0 && rng_uniform(&r, 0, 1) < 0.5;
        if (pair) {
            // Travel with the previous object: long, partial occlusions.
            const object *q = &v->obj[i - 1];
            o->vx = q->vx * rng_uniform(&r, 0.85, 1.15);
            o->facing = o->vx < 0 ? -1 : 1;
            o->vy = q->vy;
            o->t0 = q->t0;
            o->x0 = q->x0 + rng_uniform(&r, -0.5, 0.5) * q->w;
            o->y0 =
                RT_MAX(o->h / 2, RT_MIN(H - o->h / 2, q->y0 + rng_uniform(&r, -0.3, 0.3) * q->h));
        } else if (rng_uniform(&r, 0, 1) < 0.5) {
            o->t0 = 0;
            o->x0 = rng_uniform(&r, o->w / 2, W - o->w / 2);
        } else {
            // Enters from the side it moves away from, at some point in the video.
            o->t0 = (int)floor(rng_uniform(&r, 0, 0.6) * F);
            o->x0 = o->vx > 0 ? -o->w / 2 + 1 : W + o->w / 2 - 1;
        }
        pick_colours(&r, o, hard);
        o->tex_period = rng_uniform(&r, 3, 6) * sx;
        o->tex_seed = mix64(v->seed ^ (uint64_t)(i + 1));
    }
    // Far to near: objects lower in the image (nearer the camera) are painted later.
    for (int i = 0; i < v->n; i++) v->order[i] = i;
    for (int i = 1; i < v->n; i++)
        for (int j = i; j > 0; j--) {
            const object *a = &v->obj[v->order[j - 1]], *c = &v->obj[v->order[j]];
            if (a->y0 + a->h / 2 <= c->y0 + c->h / 2) break;
            int t = v->order[j];
            v->order[j] = v->order[j - 1];
            v->order[j - 1] = t;
        }
    *out = v;
    return RT_OK;
}

void shard_synth_video_free(shard_synth_video **v) {
    if (!v || !*v) return;
    rt_free(*v);
    *v = NULL;
}

int shard_synth_video_objects(const shard_synth_video *v) { return v->n; }
int shard_synth_object_class(const shard_synth_video *v, int i) { return v->obj[i].cls; }
int shard_synth_object_id(const shard_synth_video *v, int i) { return v->obj[i].id; }

// ---------------------------------------------------------------------------------------------
// Shapes, in box coordinates u,v in [0,1] (u along the facing direction); `a` = w/h converts u
// distances to v units. Returns 0 outside, 1 primary, 2 secondary, 3 dark part.

static double seg_dist2(double px, double py, double ax, double ay, double bx, double by) {
    double dx = bx - ax, dy = by - ay;
    double t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = ax + t * dx - px, ey = ay + t * dy - py;
    return ex * ex + ey * ey;
}

static int shape_car(double u, double v, double a) {
    double U = u * a; // in v units
    for (int k = 0; k < 2; k++) {
        double cu = (k ? 0.78 : 0.22) * a, cv = 0.80, rr = 0.17;
        double d2 = (U - cu) * (U - cu) + (v - cv) * (v - cv);
        if (d2 < rr * rr) return d2 < 0.06 * 0.06 ? 2 : 3;
    }
    if (v >= 0.42 && v <= 0.82) {
        // rounded corners of radius 0.1
        double rc = 0.1, x = U < rc ? rc - U : U > a - rc ? U - (a - rc) : 0;
        double y = v < 0.42 + rc ? 0.42 + rc - v : v > 0.82 - rc ? v - (0.82 - rc) : 0;
        if (x * x + y * y <= rc * rc) return 1;
        return 0;
    }
    if (v >= 0.08 && v < 0.42) {
        double s = (0.42 - v) / 0.34;
        double l = 0.16 + 0.14 * s, r = 0.74 - 0.08 * s;
        if (u >= l && u <= r) {
            bool window = v > 0.14 && v < 0.40 && u > l + 0.04 && u < r - 0.04 &&
                          fabs(u - (l + r) / 2) > 0.015;
            return window ? 2 : 1;
        }
    }
    return 0;
}

static int shape_pedestrian(double u, double v, double a, double swing) {
    double U = (u - 0.5) * a;
    double hr = 0.095;
    if (U * U + (v - 0.1) * (v - 0.1) < hr * hr) return 2;
    if (v >= 0.19 && v <= 0.6 && u >= 0.18 && u <= 0.82) return 1;
    if (v > 0.6 && v <= 1.0) {
        double f = (v - 0.6) / 0.4 * swing;
        if ((u >= 0.24 + f && u <= 0.46 + f) || (u >= 0.54 - f && u <= 0.76 - f)) return 3;
    }
    return 0;
}

static int shape_bicycle(double u, double v, double a) {
    double U = u * a;
    for (int k = 0; k < 2; k++) {
        double cu = (k ? 0.78 : 0.22) * a, cv = 0.68;
        double d2 = (U - cu) * (U - cu) + (v - cv) * (v - cv);
        if (d2 < 0.31 * 0.31 && d2 > 0.23 * 0.23) return 3;
    }
    // frame: rear hub, pedal, seat, head tube, front hub (in u,v then scaled)
    static const double seg[][4] = {{0.22, 0.68, 0.48, 0.68}, {0.48, 0.68, 0.40, 0.30},
                                    {0.40, 0.30, 0.72, 0.28}, {0.72, 0.28, 0.48, 0.68},
                                    {0.72, 0.28, 0.78, 0.68}, {0.22, 0.68, 0.40, 0.30},
                                    {0.72, 0.28, 0.76, 0.10}};
    if (v >= 0.20 && v <= 0.27 && u >= 0.33 && u <= 0.47) return 2;
    for (size_t k = 0; k < RT_COUNTOF(seg); k++) {
        double d2 = seg_dist2(U, v, seg[k][0] * a, seg[k][1], seg[k][2] * a, seg[k][3]);
        if (d2 < 0.035 * 0.035) return 1;
    }
    return 0;
}

static void object_box(const object *o, int t, double *cx, double *cy) {
    double dt = t - o->t0;
    *cx = o->x0 + o->vx * dt;
    *cy = o->y0 + o->vy * dt + o->bob * sin(o->phase + o->bob_freq * t * 2.0);
}

// Paints object i at frame t (when rgb is not NULL) and returns the number of pixels it covers
// in the image, before nearer objects hide any of them.
static uint32_t paint_object(const shard_synth_video *v, int i, int t, uint8_t *rgb, int16_t *ids) {
    const object *o = &v->obj[i];
    uint32_t covered = 0;
    if (t < o->t0) return 0;
    int W = v->p.width, H = v->p.height;
    double cx, cy;
    object_box(o, t, &cx, &cy);
    double x1 = cx - o->w / 2, y1 = cy - o->h / 2;
    int px0 = RT_MAX(0, (int)floor(x1)), px1 = RT_MIN(W - 1, (int)ceil(x1 + o->w));
    int py0 = RT_MAX(0, (int)floor(y1)), py1 = RT_MIN(H - 1, (int)ceil(y1 + o->h));
    double a = o->w / o->h;
    double swing = 0.12 * sin(o->phase + 0.9 * t);
    for (int py = py0; py <= py1; py++) {
        double vv = (py + 0.5 - y1) / o->h;
        if (vv < 0 || vv >= 1) continue;
        for (int px = px0; px <= px1; px++) {
            double uu = (px + 0.5 - x1) / o->w;
            if (uu < 0 || uu >= 1) continue;
            double su = o->facing > 0 ? uu : 1 - uu;
            int part = o->cls == 1   ? shape_car(su, vv, a)
                       : o->cls == 2 ? shape_pedestrian(su, vv, a, swing)
                                     : shape_bicycle(su, vv, a);
            if (!part) continue;
            covered++;
            if (!rgb) continue;
            const uint8_t *c = part == 1 ? o->c1 : part == 2 ? o->c2 : o->c3;
            double shade = 0.8 + 0.2 * (1 - vv);
            if (part == 1 && o->texture == 1 &&
                fmod(vv * o->h, o->tex_period * 2) < o->tex_period * 0.5)
                shade *= 0.82; // stripes on car bodies
            if (part == 1 && o->texture == 2) {
                int cu = (int)floor((px - x1) / o->tex_period),
                    cv = (int)floor((py - y1) / o->tex_period);
                if ((cu + cv) & 1) shade *= 0.72; // checks on shirts
            }
            uint8_t *d = rgb + ((size_t)py * W + px) * 3;
            for (int k = 0; k < 3; k++) {
                double x = c[k] * shade;
                d[k] = (uint8_t)(x > 255 ? 255 : x);
            }
            if (ids) ids[(size_t)py * W + px] = (int16_t)i;
        }
    }
    return covered;
}

void shard_synth_video_render(const shard_synth_video *v, int t, uint8_t *rgb, int16_t *ids) {
    int W = v->p.width, H = v->p.height;
    double ox = v->pan_x * t, oy = v->pan_y * t;
    uint64_t s = v->seed ^ 0xB6C0FFEEull;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double n = 0.65 * value_noise(s, x + ox, y + oy, v->bg_scale) +
                       0.35 * value_noise(s + 1, x + ox, y + oy, v->bg_scale / 3);
            double m = n < 0.35 ? 0 : n > 0.65 ? 1 : (n - 0.35) / 0.3;
            uint8_t *d = rgb + ((size_t)y * W + x) * 3;
            double grain = (hash01(s, x, y, t) - 0.5) * 6;
            for (int k = 0; k < 3; k++) {
                double c = v->bg_a[k] * (1 - m) + v->bg_b[k] * m + grain;
                d[k] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
            }
            if (ids) ids[(size_t)y * W + x] = -1;
        }
    for (int k = 0; k < v->n; k++) paint_object(v, v->order[k], t, rgb, ids);
}

// ---------------------------------------------------------------------------------------------
// Writing a dataset

typedef struct text_buf {
    char *data;
    size_t len, cap;
} text_buf;

static rt_status buf_printf(text_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static rt_status buf_printf(text_buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n =
            vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return rt_error_set(RT_ERR_INVAL, "format error");
        if (b->data && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return RT_OK;
        }
        size_t cap = RT_MAX(b->cap * 2, b->len + (size_t)n + 4096);
        char *d = rt_realloc(b->data, cap);
        if (!d) return rt_error_set(RT_ERR_NOMEM, "out of memory");
        b->data = d;
        b->cap = cap;
    }
}

typedef struct synth_scratch {
    uint8_t *rgb, *mask, *ignore;
    int16_t *ids;
    rt_rle rle;
    char *rle_text;
    size_t rle_cap;
    text_buf gt;
} synth_scratch;

static rt_status append_mask(synth_scratch *s, const shard_synth_params *p, int t, int id, int cls,
                             const uint8_t *mask) {
    rt_status st = rt_rle_encode(&s->rle, mask, (uint32_t)p->height, (uint32_t)p->width);
    if (st != RT_OK) return st;
    size_t need = s->rle.n * 8 + 16;
    if (need > s->rle_cap) {
        char *d = rt_realloc(s->rle_text, need);
        if (!d) return rt_error_set(RT_ERR_NOMEM, "out of memory");
        s->rle_text = d;
        s->rle_cap = need;
    }
    rt_rle_to_string(&s->rle, s->rle_text, s->rle_cap);
    return buf_printf(&s->gt, "%d %d %d %d %d %s\n", t, id, cls, p->height, p->width, s->rle_text);
}

static rt_status write_video(const char *out, const shard_synth_params *p, int index,
                             synth_scratch *s) {
    char id[16], path[4200];
    shard_synth_video *v = NULL;
    shard_encoder *enc = NULL;
    rt_status st;
    size_t npix = (size_t)p->width * p->height;
    snprintf(id, sizeof id, "%04d", index);
    s->gt.len = 0;
    if ((st = shard_synth_video_init(p, index, &v)) != RT_OK) return st;
    shard_encoder_params ep = shard_encoder_default_params();
    ep.kind = p->jpeg ? SHARD_ENCODER_JPEG_FOLDER : SHARD_ENCODER_H264_MP4;
    ep.width = p->width;
    ep.height = p->height;
    ep.fps = p->fps;
    if (p->jpeg)
        snprintf(path, sizeof path, "%s/frames/%s", out, id);
    else
        snprintf(path, sizeof path, "%s/videos/%s.mp4", out, id);
    if ((st = shard_encoder_open(path, &ep, &enc)) != RT_OK) goto fail;
    for (int t = 0; t < p->frames; t++) {
        shard_synth_video_render(v, t, s->rgb, s->ids);
        if ((st = shard_encoder_write(enc, s->rgb, p->width * 3)) != RT_OK) goto fail;
        memset(s->ignore, 0, npix);
        bool any_ignore = false;
        for (int i = 0; i < v->n; i++) {
            uint32_t visible = 0;
            for (size_t q = 0; q < npix; q++) {
                s->mask[q] = s->ids[q] == i;
                visible += s->mask[q];
            }
            if (!visible) continue;
            uint32_t painted = paint_object(v, i, t, NULL, NULL);
            if ((int)visible < p->min_visible || visible * 10 < painted) {
                for (size_t q = 0; q < npix; q++) s->ignore[q] |= s->mask[q];
                any_ignore = true;
                continue;
            }
            if ((st = append_mask(s, p, t, v->obj[i].id, v->obj[i].cls, s->mask)) != RT_OK)
                goto fail;
        }
        if (any_ignore && (st = append_mask(s, p, t, 10000, 10, s->ignore)) != RT_OK) goto fail;
    }
    snprintf(path, sizeof path, "%s/instances_txt/%s.txt", out, id);
    if ((st = rt_write_file_atomic(path, s->gt.data ? s->gt.data : "", s->gt.len)) != RT_OK)
        goto fail;
    st = shard_encoder_close(&enc, true);
    if (st != RT_OK) {
        remove(path);
        goto fail;
    }
    shard_synth_video_free(&v);
    return RT_OK;
fail:
    shard_encoder_close(&enc, false);
    shard_synth_video_free(&v);
    return st;
}

rt_status shard_synth_write(const char *out, const shard_synth_params *p,
                            shard_synth_progress progress, void *ctx) {
    if (p->videos < 1 || p->videos > 100000 || p->frames < 1 || p->frames > 100000)
        return rt_error_set(RT_ERR_INVAL, "synth: need 1..100000 videos and frames, got %d and %d",
                            p->videos, p->frames);
    if (p->width < 64 || p->height < 64 || p->width > 4096 || p->height > 4096 || p->width % 2 ||
        p->height % 2)
        return rt_error_set(RT_ERR_INVAL, "synth: size %dx%d must be even and within 64..4096",
                            p->width, p->height);
    if (p->first_video < 0 || p->first_video + p->videos > 10000)
        return rt_error_set(RT_ERR_INVAL,
                            "synth: video ids are 4 digits; %d videos from %d do not fit",
                            p->videos, p->first_video);
    char path[4200];
    rt_status st;
    snprintf(path, sizeof path, "%s/instances_txt", out);
    if ((st = rt_mkdir_p(path)) != RT_OK) return st;
    snprintf(path, sizeof path, "%s/%s", out, p->jpeg ? "frames" : "videos");
    if ((st = rt_mkdir_p(path)) != RT_OK) return st;
    snprintf(path, sizeof path, "%s/classes.txt", out);
    static const char classes[] = "car\npedestrian\nbicycle\n";
    if ((st = rt_write_file_atomic(path, classes, sizeof classes - 1)) != RT_OK) return st;
    char meta[1024];
    int n = snprintf(meta, sizeof meta,
                     "# written by pcan synth; regenerate with the same values\n"
                     "videos: %d\nfirst_video: %d\nframes: %d\nseed: %llu\nsize: %dx%d\nfps: %d\n"
                     "difficulty: %s\nformat: %s\nmin_visible: %d\nclasses: [car, pedestrian, "
                     "bicycle]\n",
                     p->videos, p->first_video, p->frames, (unsigned long long)p->seed, p->width,
                     p->height, p->fps, DIFFICULTY_NAMES[p->difficulty], p->jpeg ? "jpeg" : "mp4",
                     p->min_visible);
    snprintf(path, sizeof path, "%s/synth.yaml", out);
    if ((st = rt_write_file_atomic(path, meta, (size_t)n)) != RT_OK) return st;

    size_t npix = (size_t)p->width * p->height;
    synth_scratch s = {0};
    s.rgb = rt_calloc(npix * 3 + SHARD_ENCODER_PADDING, 1);
    s.mask = rt_malloc(npix);
    s.ignore = rt_malloc(npix);
    s.ids = rt_malloc(npix * sizeof *s.ids);
    rt_rle_init(&s.rle);
    if (!s.rgb || !s.mask || !s.ignore || !s.ids) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < p->videos; i++) {
        if ((st = write_video(out, p, p->first_video + i, &s)) != RT_OK) goto done;
        if (progress) progress(i + 1, p->videos, ctx);
    }
done:
    rt_free(s.rgb);
    rt_free(s.mask);
    rt_free(s.ignore);
    rt_free(s.ids);
    rt_free(s.rle_text);
    rt_free(s.gt.data);
    rt_rle_free(&s.rle);
    return st;
}
