// Parity of the C engine with the PyTorch reference on tests/fixtures/tiny.*.h5 (tools/README.md,
// "Fixtures"). Runs mode `video` (v0, then a fresh stream for v1) and mode `rank` (v1 after v0
// with params.previous), every frame. For each dataset of the frame's group that has a probe of
// the same name and element count (stream.c) it compares: float datasets within their `tol`
// attribute (max |diff|; worst place printed on failure), integer datasets exactly. Also:
// det_bboxes [n,5] = our det_bboxes [n,4] + det_scores; out_ids/out_labels/out_scores/out_boxes
// from the frame results (counts, labels, ids exactly, boxes within tol and 1e-2 px); masks per
// result (decoded RLE) differ in at most mask_ambiguous[r] pixels and have IoU >= 0.999.
// A one-line summary per dataset name gives the largest diff/tol ratio. Datasets not compared
// (no probe yet: *_chmean, subsets R'/first-2, proposal_levels, match_* extras) are listed.
// Not yet done: R50 fixture, 1-vs-2 thread check here (test_model.c has it).
#include <hdf5.h>
#include <math.h>

#include "runtime/h5util.h"
#include "runtime/model.h"
#include "runtime/ops_gemm.h"
#include "tests/test.h"

#define W 120
#define H 80
#define MAXP 96

typedef struct probe_buf {
    char name[48];
    rt_probe_type type;
    size_t n;
    void *data;
} probe_buf;

typedef struct probes {
    int count;
    probe_buf p[MAXP];
} probes;

typedef struct stat_row {
    char name[48];
    double ratio;
    int compared;
} stat_row;

static stat_row g_stats[128];
static int g_nstats;
static char g_missing[4096];

static void probe_fn(void *ctx, const char *name, rt_probe_type type, const void *data, int ndim,
                     const int *dims) {
    probes *ps = ctx;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
    probe_buf *b = NULL;
    for (int i = 0; i < ps->count; i++)
        if (!strcmp(ps->p[i].name, name)) b = &ps->p[i];
    if (!b) {
        RT_ASSERT(ps->count < MAXP);
        b = &ps->p[ps->count++];
        snprintf(b->name, sizeof b->name, "%s", name);
        b->data = NULL;
    }
    rt_free(b->data);
    size_t es = type == RT_PROBE_U8 ? 1 : 4;
    b->data = rt_malloc(n * es + 1);
    memcpy(b->data, data, n * es);
    b->type = type;
    b->n = n;
}

static void probes_clear(probes *ps) {
    for (int i = 0; i < ps->count; i++) rt_free(ps->p[i].data);
    ps->count = 0;
}

static const probe_buf *find(const probes *ps, const char *name) {
    for (int i = 0; i < ps->count; i++)
        if (!strcmp(ps->p[i].name, name)) return &ps->p[i];
    return NULL;
}

static stat_row *stat_of(const char *name) {
    for (int i = 0; i < g_nstats; i++)
        if (!strcmp(g_stats[i].name, name)) return &g_stats[i];
    RT_ASSERT(g_nstats < 128);
    stat_row *s = &g_stats[g_nstats++];
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

// Reads a whole dataset as float64 (ints converted exactly); returns element count.
static size_t read_ds(hid_t g, const char *name, double **out, int *is_float, double *tol) {
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    RT_ASSERT(d >= 0);
    hid_t sp = H5Dget_space(d), ty = H5Dget_type(d);
    size_t n = (size_t)H5Sget_simple_extent_npoints(sp);
    *is_float = H5Tget_class(ty) == H5T_FLOAT;
    *out = rt_malloc(n * sizeof(double) + 8);
    RT_ASSERT(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0);
    *tol = 0;
    if (H5Aexists(d, "tol") > 0) {
        hid_t a = H5Aopen(d, "tol", H5P_DEFAULT);
        H5Aread(a, H5T_NATIVE_DOUBLE, tol);
        H5Aclose(a);
    }
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(d);
    return n;
}

static double val(const probe_buf *b, size_t i) {
    if (b->type == RT_PROBE_F32) return ((const float *)b->data)[i];
    if (b->type == RT_PROBE_I32) return ((const int32_t *)b->data)[i];
    return ((const uint8_t *)b->data)[i];
}

// Compares ref (n values) with get(i); returns 1 if ok.
static int compare(const char *where, const char *name, const double *ref, size_t n, int is_float,
                   double tol, const probe_buf *b, const double *alt) {
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double o = alt ? alt[i] : val(b, i);
        double d = fabs(o - ref[i]);
        if (isnan(o) || d > worst) worst = isnan(o) ? INFINITY : d, wi = i;
    }
    stat_row *s = stat_of(name);
    s->compared++;
    int ok = is_float ? worst <= tol : worst == 0;
    double ratio = is_float ? (tol > 0 ? worst / tol : (worst > 0 ? INFINITY : 0)) : worst;
    if (ratio > s->ratio) s->ratio = ratio;
    CHECK_MSG(ok, "%s %s: worst |diff| %.3g at element %zu (ref %.6g, ours %.6g), tol %.3g", where,
              name, worst, wi, ref[wi], alt ? alt[wi] : val(b, wi), tol);
    return ok;
}

typedef struct op_ctx {
    hid_t g;
    const char *where;
    const probes *ps;
    const rt_frame_results *res;
} op_ctx;

static herr_t per_ds(hid_t g, const char *name, const H5L_info_t *info, void *vctx) {
    (void)info;
    op_ctx *c = vctx;
    const probes *ps = c->ps;
    const rt_frame_results *res = c->res;
    double *ref, tol;
    int is_float;
    size_t n = read_ds(g, name, &ref, &is_float, &tol);
    if (!strcmp(name, "det_bboxes")) {
        const probe_buf *b = find(ps, "det_bboxes"), *s = find(ps, "det_scores");
        CHECK(b && s && b->n / 4 * 5 == n);
        if (b && s && b->n / 4 * 5 == n) {
            double *alt = rt_malloc(n * sizeof(double));
            for (size_t i = 0; i < n / 5; i++) {
                for (int k = 0; k < 4; k++) alt[i * 5 + k] = val(b, i * 4 + k);
                alt[i * 5 + 4] = val(s, i);
            }
            compare(c->where, name, ref, n, 1, tol, NULL, alt);
            for (size_t i = 0; i < n; i++) // acceptance: boxes within 1e-2 px
                if (i % 5 != 4) CHECK(fabs(alt[i] - ref[i]) <= 1e-2);
            rt_free(alt);
        }
    } else if (!strncmp(name, "out_", 4)) {
        CHECK_MSG((size_t)res->count * (strcmp(name, "out_boxes") ? 1 : 4) == n,
                  "%s %s: %d results, reference %zu values", c->where, name, res->count, n);
        if ((size_t)res->count * (strcmp(name, "out_boxes") ? 1 : 4) == n) {
            double *alt = rt_malloc(n * sizeof(double) + 8);
            // results are in id order, the reference in tracker order: pair them by id
            double *rids, rt;
            int rf;
            read_ds(g, "out_ids", &rids, &rf, &rt);
            for (int i = 0; i < res->count; i++) {
                const rt_result *r = &res->items[0];
                for (int j = 0; j < res->count; j++)
                    if (res->items[j].track_id == (int32_t)rids[i]) r = &res->items[j];
                if (!strcmp(name, "out_ids")) alt[i] = r->track_id;
                else if (!strcmp(name, "out_labels")) alt[i] = r->label;
                else if (!strcmp(name, "out_scores")) alt[i] = r->score;
                else
                    for (int k = 0; k < 4; k++) alt[i * 4 + k] = r->box[k];
            }
            rt_free(rids);
            compare(c->where, name, ref, n, is_float, tol, NULL, alt);
            if (!strcmp(name, "out_boxes"))
                for (size_t i = 0; i < n; i++) CHECK(fabs(alt[i] - ref[i]) <= 1e-2);
            rt_free(alt);
        }
    } else if (!strcmp(name, "masks") || !strcmp(name, "mask_ambiguous")) {
        // handled below, from the frame results
    } else {
        const probe_buf *b = find(ps, name);
        if (b && b->n == n) {
            compare(c->where, name, ref, n, is_float, tol, b, NULL);
            if (!strcmp(name, "embeds")) { // acceptance: cosine >= 0.9999 per row
                const probe_buf *e = b;
                size_t rows = 0;
                const probe_buf *lab = find(ps, "det_labels");
                rows = lab ? lab->n : 0;
                size_t dim = rows ? n / rows : 0;
                for (size_t r = 0; r < rows; r++) {
                    double ab = 0, aa = 0, bb = 0;
                    for (size_t k = 0; k < dim; k++) {
                        double x = val(e, r * dim + k), y = ref[r * dim + k];
                        ab += x * y, aa += x * x, bb += y * y;
                    }
                    CHECK_MSG(ab / sqrt(aa * bb + 1e-30) >= 0.9999, "%s embeds row %zu", c->where, r);
                }
            }
        } else if (!strstr(g_missing, name)) {
            size_t l = strlen(g_missing);
            snprintf(g_missing + l, sizeof g_missing - l, "%s%s%s", l ? " " : "", name,
                     b ? "(size)" : "");
        }
    }
    rt_free(ref);
    return 0;
}

static void check_masks(hid_t g, const char *where, const rt_frame_results *res) {
    if (H5Lexists(g, "masks", H5P_DEFAULT) <= 0) return;
    double *amb, tol;
    int isf;
    size_t r = read_ds(g, "mask_ambiguous", &amb, &isf, &tol);
    hid_t d = H5Dopen2(g, "masks", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    size_t n = (size_t)H5Sget_simple_extent_npoints(sp);
    uint8_t *m = rt_malloc(n + 1), *ours = rt_malloc((size_t)W * H);
    RT_ASSERT(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    // masks are per kept detection (R); results are those with an id, same tracker order.
    // Match each result to a reference mask by the out_ids order: kept rows with an id.
    double *ids;
    size_t nid = read_ds(g, "track_ids", &ids, &isf, &tol);
    int k = 0;
    for (size_t i = 0; i < nid && i < r; i++) {
        if (ids[i] < 0) continue;
        const rt_result *x = NULL;
        for (int j = 0; j < res->count; j++)
            if (res->items[j].track_id == (int32_t)ids[i] + 1) x = &res->items[j];
        CHECK_MSG(x != NULL, "%s: no result with id %g", where, ids[i] + 1);
        if (!x) continue;
        k++;
        rt_rle_decode(&x->mask, ours);
        const uint8_t *ref = m + i * (size_t)W * H;
        long diff = 0, inter = 0, uni = 0;
        for (size_t p = 0; p < (size_t)W * H; p++) {
            int a = ours[p] != 0, b = ref[p] != 0;
            diff += a != b, inter += a & b, uni += a | b;
        }
        CHECK_MSG(diff <= (long)amb[i], "%s mask %zu: %ld pixels differ (ambiguous %g)", where, i,
                  diff, amb[i]);
        // Issue 4's IoU >= 0.999; a tiny mask can miss it through pixels the reference itself
        // calls ambiguous (|prob - 0.5| < 1e-4, README) — then it is reported, not failed.
        double iou = uni ? (double)inter / (double)uni : 1.0;
        if (iou < 0.999 && diff > 0 && diff <= (long)amb[i])
            printf("note: %s mask %zu IoU %.5f (%ld of %g ambiguous pixels differ, area %ld)\n",
                   where, i, iou, diff, amb[i], uni);
        else
            CHECK_MSG(iou >= 0.999, "%s mask %zu IoU %g", where, i, iou);
    }
    CHECK_EQ_INT(k, res->count);
    stat_of("masks")->compared++;
    rt_free(ids);
    rt_free(amb);
    rt_free(m);
    rt_free(ours);
}

static void run_video(hid_t out, hid_t frames, const char *mode, int v, rt_stream *s) {
    char vname[8];
    snprintf(vname, sizeof vname, "v%d", v);
    hid_t d = H5Dopen2(frames, vname, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[4];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    uint8_t *px = rt_malloc((size_t)(dims[0] * dims[1] * dims[2] * dims[3]));
    RT_ASSERT(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, px) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    RT_ASSERT(dims[1] == H && dims[2] == W);
    probes *ps = rt_calloc(1, sizeof *ps);
    rt_stream_set_probe(s, probe_fn, ps);
    for (int t = 0; t < (int)dims[0]; t++) {
        char where[64];
        snprintf(where, sizeof where, "/%s/v%d/f%03d", mode, v, t);
        rt_image im = {W, H, W * 3, px + (size_t)t * W * H * 3};
        const rt_frame_results *res;
        probes_clear(ps);
        rt_status st = rt_stream_step(s, &im, &res);
        CHECK_MSG(st == RT_OK, "%s: %s", where, rt_error());
        if (st != RT_OK) break;
        hid_t g = H5Gopen2(out, where, H5P_DEFAULT);
        CHECK_MSG(g >= 0, "%s missing in the fixture", where);
        if (g < 0) continue;
        op_ctx c = {g, where, ps, res};
        H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, per_ds, &c);
        check_masks(g, where, res);
        H5Gclose(g);
    }
    probes_clear(ps);
    rt_stream_set_probe(s, NULL, NULL);
    rt_free(ps);
    rt_free(px);
}

static void test_tiny(void) {
    rt_threads_set(1);
    hid_t out = H5Fopen("tests/fixtures/tiny.outputs.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fr = H5Fopen("tests/fixtures/tiny.frames.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    RT_ASSERT(out >= 0 && fr >= 0);
    rt_model *m;
    CHECK_EQ_INT(rt_model_open("tests/fixtures/tiny.weights.h5", NULL, &m), RT_OK);
    rt_stream *s0, *s1;
    rt_stream_params p = rt_stream_default_params();
    CHECK_EQ_INT(rt_stream_init(m, &p, &s0), RT_OK);
    run_video(out, fr, "video", 0, s0);
    CHECK_EQ_INT(rt_stream_init(m, &p, &s1), RT_OK);
    run_video(out, fr, "video", 1, s1);
    rt_stream_free(&s1);
    p.prototype_memory = RT_PROTOTYPE_MEMORY_RANK;
    p.previous = s0;
    CHECK_EQ_INT(rt_stream_init(m, &p, &s1), RT_OK);
    run_video(out, fr, "rank", 1, s1);
    double sec[RT_STAGE_COUNT];
    rt_stream_stage_seconds(s1, sec);
    printf("tiny stage seconds (last frame):");
    for (int i = 0; i < RT_STAGE_COUNT; i++) printf(" %s %.4f", rt_stage_name((rt_stage)i), sec[i]);
    printf("\n");
    rt_stream_free(&s1);
    rt_stream_free(&s0);
    rt_model_close(&m);
    H5Fclose(fr);
    H5Fclose(out);
    for (int i = 0; i < g_nstats; i++)
        printf("parity %-18s frames %3d  max diff/tol %.3g\n", g_stats[i].name, g_stats[i].compared,
               g_stats[i].ratio);
    printf("not compared (no probe of that size): %s\n", g_missing);
}

int main(void) {
    rt_h5_quiet();
    TEST_RUN(test_tiny);
    return test_finish();
}
