// Throughput of the whole evaluation on BDD-sized frames (720×1280, ~15 GT objects and ~15
// results per frame, moving elliptic blobs): masks evaluated per second on one core. Prints the
// figure; fails only far below the target (10,000 masks/s) so that a loaded machine does not
// make it flaky. PCAN_METRICS_BENCH_FRAMES sets the number of frames (default 40).
#include <time.h>

#include "tests/metrics_util.h"

enum { H = 720, W = 1280, NOBJ = 15 };

// Column-major RLE of an ellipse, built directly (one interval per column).
static void ellipse(rt_rle *r, double cy, double cx, double ry, double rx) {
    uint32_t *c = malloc((2 * W + 2) * sizeof *c);
    size_t n = 0;
    uint32_t zeros = 0;
    for (int x = 0; x < W; x++) {
        double t = (x - cx) / rx;
        if (fabs(t) >= 1) {
            zeros += H;
            continue;
        }
        double dy = ry * sqrt(1 - t * t);
        int y0 = (int)ceil(cy - dy), y1 = (int)floor(cy + dy);
        if (y0 < 0) y0 = 0;
        if (y1 > H - 1) y1 = H - 1;
        if (y1 < y0) {
            zeros += H;
            continue;
        }
        c[n++] = zeros + (uint32_t)y0;
        c[n++] = (uint32_t)(y1 - y0 + 1);
        zeros = (uint32_t)(H - 1 - y1);
    }
    c[n++] = zeros;
    // Merge the zero-length 0-runs between touching columns into canonical runs.
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && c[i] == 0 && i + 1 < n) {
            c[m - 1] += c[i + 1];
            i++;
            continue;
        }
        c[m++] = c[i];
    }
    if (rt_rle_set_counts(r, H, W, c, m) != RT_OK) abort();
    free(c);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench(merge_protocol proto, int frames) {
    merge_metrics_params p = merge_metrics_default_params(proto);
    int ncls = proto == MERGE_PROTOCOL_BDD100K ? 8 : 2;
    tvideo v;
    tv_init(&v, frames);
    uint64_t s = 99;
#define RND() ((double)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 11) / 9007199254740992.0)
    double obj[NOBJ][6];
    for (int k = 0; k < NOBJ; k++) {
        obj[k][0] = RND() * H, obj[k][1] = RND() * W, obj[k][2] = 20 + RND() * 80;
        obj[k][3] = 15 + RND() * 60, obj[k][4] = RND() * 6 - 3, obj[k][5] = RND() * 10 - 5;
    }
    rt_rle *gt = calloc(NOBJ, sizeof *gt), *dv = calloc(NOBJ, sizeof *dv);
    const rt_rle *pg[NOBJ];
    double z[NOBJ], cen[NOBJ][2];
    for (int f = 0; f < frames; f++) {
        for (int k = 0; k < NOBJ; k++) {
            // Objects swing around their start points and stay in the image.
            double cy = obj[k][0] + 40 * sin(0.05 * obj[k][4] * f), cx = obj[k][1] + 80 * sin(0.03 * obj[k][5] * f);
            cen[k][0] = cy, cen[k][1] = cx;
            rt_rle_init(&gt[k]);
            rt_rle_init(&dv[k]);
            ellipse(&gt[k], cy, cx, obj[k][2], obj[k][3]);
            pg[k] = &gt[k];
            z[k] = k;
        }
        // Ground truth must not overlap: de-overlap it once, outside the timing.
        if (merge_masks_deoverlap(pg, z, NOBJ, dv) != RT_OK) abort();
        for (int k = 0; k < NOBJ; k++) {
            tobj *t = tv_new(&v, 1, f, k + 1, 1 + k % ncls);
            rt_rle_copy(&t->m, &dv[k]);
            // Results: the objects displaced by a few pixels, overlapping each other as a model's
            // raw masks do; the evaluation de-overlaps them.
            if (k % 7 == 3) continue;
            double cy = cen[k][0] + 4 * RND() - 2, cx = cen[k][1] + 4 * RND() - 2;
            tobj *r = tv_new(&v, 0, f, 100 + k + 1000 * (f > frames / 2 && k % 5 == 0), 1 + k % ncls);
            ellipse(&r->m, cy, cx, obj[k][2] * 1.05, obj[k][3] * 0.95);
            r->o.score = RND();
        }
        for (int k = 0; k < NOBJ; k++) {
            rt_rle_free(&gt[k]);
            rt_rle_free(&dv[k]);
        }
    }
    merge_video *mv;
    CHECK_EQ_INT(merge_video_init(&mv, &p), RT_OK);
    merge_video_result res;
    double t0 = now();
    rt_status st = tv_run(mv, &v, 0, &res);
    CHECK_MSG(st == RT_OK, "%s", rt_error());
    double dt = now() - t0;
    double rate = v.n / dt;
    printf("%s: %d masks in %.3f s = %.0f masks/s\n",
           proto == MERGE_PROTOCOL_BDD100K ? "bdd100k" : "trackeval", v.n, dt, rate);
#if !defined(__SANITIZE_ADDRESS__)
    CHECK_MSG(rate > 2000, "%.0f masks/s", rate);
#endif
    merge_totals t;
    merge_totals_init(&t, &p);
    merge_totals_add(&t, &res);
    if (proto == MERGE_PROTOCOL_TRACKEVAL) {
        merge_te_row r;
        merge_totals_te_row(&t, 0, &r);
        CHECK(r.CLR_TP > 0 && r.HOTA > 0.5);
        printf("  car HOTA %.4f MOTSA %.4f IDF1 %.4f\n", r.HOTA, r.MOTA, r.IDF1);
    }
    merge_video_free(&mv);
    free(gt);
    free(dv);
    tv_free(&v);
}

static void test_speed(void) {
    const char *e = getenv("PCAN_METRICS_BENCH_FRAMES");
    int frames = e ? atoi(e) : 40;
    bench(MERGE_PROTOCOL_TRACKEVAL, frames);
    bench(MERGE_PROTOCOL_BDD100K, frames);
}

int main(void) {
    TEST_RUN(test_speed);
    return test_finish();
}
