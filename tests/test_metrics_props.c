// Properties on random videos, both protocols: a perfect tracker scores 100%; renaming result
// ids changes nothing; evaluating parts and combining them equals evaluating the whole.
#include "tests/metrics_util.h"

enum { H = 20, W = 28, NV = 6 };

static uint64_t rs = 0x853c49e6748fea9bull;
static int rnd(int n) {
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (int)((rs >> 33) % (uint64_t)n);
}

// Paints objects into a label map so that masks never overlap, then adds each label's pixels.
static void add_painted(tvideo *v, int is_gt, int f, const int (*box)[6], int n) {
    int lab[H * W];
    for (int p = 0; p < H * W; p++) lab[p] = -1;
    for (int k = 0; k < n; k++)
        for (int y = box[k][2]; y < box[k][2] + box[k][4] && y < H; y++)
            for (int x = box[k][3]; x < box[k][3] + box[k][5] && x < W; x++) lab[y * W + x] = k;
    uint8_t m[H * W];
    for (int k = 0; k < n; k++) {
        int any = 0;
        for (int p = 0; p < H * W; p++) any |= (m[p] = lab[p] == k);
        if (!any) continue;
        tobj *t = tv_new(v, is_gt, f, box[k][0], box[k][1]);
        rt_rle_encode(&t->m, m, H, W);
        t->o.ignore = is_gt && box[k][1] == 10;
        t->o.score = 0.5;
    }
}

// Random video; mode 0: noisy tracker, 1: perfect tracker, 2: noisy tracker with ids renamed.
static void gen_video(tvideo *v, uint64_t seed, int mode, int bdd) {
    rs = seed;
    int T = 1 + rnd(10), ntr = 1 + rnd(6);
    int tr[8][8];
    for (int k = 0; k < ntr; k++) {
        tr[k][0] = bdd ? 1 + rnd(3) : 1 + rnd(2); // class
        tr[k][1] = rnd(T);                        // first frame
        tr[k][2] = tr[k][1] + rnd(T - tr[k][1]);  // last frame
        tr[k][3] = rnd(H - 3), tr[k][4] = rnd(W - 3), tr[k][5] = rnd(3) - 1, tr[k][6] = rnd(3) - 1;
        tr[k][7] = 2 + rnd(5);
    }
    int idmap[8], rename[64];
    for (int k = 0; k < ntr; k++) idmap[k] = 1 + rnd(40);
    for (int i = 0; i < 64; i++) rename[i] = 1000 + ((i * 37) % 64); // a bijection
    tv_init(v, T);
    for (int f = 0; f < T; f++) {
        int g[10][6], ng = 0, r[12][6], nr = 0;
        if (rnd(4) == 0) {
            int ig[6] = {10000, bdd ? 1 : 10, rnd(H - 2), rnd(W - 2), 2 + rnd(4), 2 + rnd(5)};
            memcpy(g[ng++], ig, sizeof ig);
        }
        for (int k = 0; k < ntr; k++) {
            if (f < tr[k][1] || f > tr[k][2] || rnd(10) == 0) continue;
            int y = tr[k][3] + tr[k][5] * (f - tr[k][1]), x = tr[k][4] + tr[k][6] * (f - tr[k][1]);
            y = y < 0 ? 0 : y > H - 2 ? H - 2 : y;
            x = x < 0 ? 0 : x > W - 2 ? W - 2 : x;
            int b[6] = {100 * tr[k][0] + k, tr[k][0], y, x, tr[k][7], tr[k][7] + 1};
            memcpy(g[ng++], b, sizeof b);
        }
        add_painted(v, 1, f, (const int(*)[6])g, ng);
        if (mode == 1) {
            // The GT objects themselves (after painting), same ids.
            for (int i = 0, n = v->n; i < n; i++) {
                if (v->o[i].frame != f || !v->o[i].is_gt || v->o[i].o.ignore) continue;
                tobj *t = tv_new(v, 0, f, v->o[i].o.id + 7, v->o[i].o.cls);
                rt_rle_copy(&t->m, &v->o[i].m);
                t->o.score = 0.5;
            }
            continue;
        }
        for (int k = 0; k < ng; k++) {
            if (g[k][0] == 10000 || rnd(6) == 0) continue;
            if (rnd(10) == 0) idmap[g[k][0] % 100] = 1 + rnd(40);
            int b[6] = {idmap[g[k][0] % 100], rnd(20) == 0 ? 1 + rnd(2) : g[k][1], g[k][2] + rnd(3) - 1,
                        g[k][3] + rnd(3) - 1, g[k][4] + rnd(3) - 1, g[k][5] + rnd(3) - 1};
            int dup = 0;
            for (int j = 0; j < nr; j++) dup |= r[j][0] == b[0];
            if (dup || b[2] < 0 || b[3] < 0 || b[4] < 1 || b[5] < 1) continue;
            memcpy(r[nr++], b, sizeof b);
        }
        for (int e = rnd(3); e > 0; e--) {
            int b[6] = {41 + rnd(20), 1 + rnd(2), rnd(H - 2), rnd(W - 2), 1 + rnd(4), 1 + rnd(5)};
            int dup = 0;
            for (int j = 0; j < nr; j++) dup |= r[j][0] == b[0];
            if (!dup) memcpy(r[nr++], b, sizeof b);
        }
        if (mode == 2)
            for (int j = 0; j < nr; j++) r[j][0] = rename[r[j][0]];
        add_painted(v, 0, f, (const int(*)[6])r, nr);
    }
}

static void eval_set(int mode, int bdd, int from, int to, merge_totals *t) {
    merge_metrics_params p = merge_metrics_default_params(bdd ? MERGE_PROTOCOL_BDD100K
                                                              : MERGE_PROTOCOL_TRACKEVAL);
    merge_video *mv;
    CHECK_EQ_INT(merge_video_init(&mv, &p), RT_OK);
    merge_totals_init(t, &p);
    for (int i = from; i < to; i++) {
        tvideo v;
        gen_video(&v, 1000 + (uint64_t)i * 7919, mode, bdd);
        merge_video_result r;
        CHECK_EQ_INT(tv_run(mv, &v, i, &r), RT_OK);
        merge_totals_add(t, &r);
        tv_free(&v);
    }
    merge_video_free(&mv);
}

static void same_te(const merge_te_row *a, const merge_te_row *b, double tol) {
    CHECK_NEAR(a->HOTA, b->HOTA, tol);
    CHECK_NEAR(a->DetA, b->DetA, tol);
    CHECK_NEAR(a->AssA, b->AssA, tol);
    CHECK_NEAR(a->LocA, b->LocA, tol);
    CHECK_NEAR(a->MOTA, b->MOTA, tol);
    CHECK_NEAR(a->sMOTA, b->sMOTA, tol);
    CHECK_NEAR(a->IDF1, b->IDF1, tol);
    CHECK_EQ_INT(a->CLR_TP, b->CLR_TP);
    CHECK_EQ_INT(a->CLR_FP, b->CLR_FP);
    CHECK_EQ_INT(a->IDSW, b->IDSW);
    CHECK_EQ_INT(a->Frag, b->Frag);
    CHECK_EQ_INT(a->MT, b->MT);
    CHECK_EQ_INT(a->IDTP, b->IDTP);
    for (int k = 0; k < MERGE_HOTA_ALPHAS; k++) CHECK_EQ_INT(a->HOTA_TP[k], b->HOTA_TP[k]);
}

static void same_bdd(const merge_bdd_row *a, const merge_bdd_row *b, double tol) {
    CHECK(isnan(a->MOTA) == isnan(b->MOTA));
    if (!isnan(a->MOTA)) CHECK_NEAR(a->MOTA, b->MOTA, tol);
    if (!isnan(a->MOTP)) CHECK_NEAR(a->MOTP, b->MOTP, tol);
    if (!isnan(a->IDF1)) CHECK_NEAR(a->IDF1, b->IDF1, tol);
    CHECK_EQ_INT(a->FP, b->FP);
    CHECK_EQ_INT(a->FN, b->FN);
    CHECK_EQ_INT(a->IDSw, b->IDSw);
    CHECK_EQ_INT(a->MT, b->MT);
    CHECK_EQ_INT(a->FM, b->FM);
}

static void test_perfect(void) {
    merge_totals t;
    eval_set(1, 0, 0, 40, &t);
    for (size_t c = 0; c < 2; c++) {
        merge_te_row r;
        merge_totals_te_row(&t, c, &r);
        CHECK(r.CLR_TP > 0);
        CHECK(r.HOTA == 1.0 && r.DetA == 1.0 && r.AssA == 1.0 && r.LocA == 1.0);
        CHECK(r.MOTA == 1.0 && r.sMOTA == 1.0 && r.MOTP == 1.0 && r.IDF1 == 1.0);
        // Frag may be > 0: a gt absent from a frame with other objects starts a new fragment.
        CHECK(r.IDSW == 0 && r.PT == 0 && r.ML == 0 && r.MT > 0);
    }
    eval_set(1, 1, 0, 40, &t);
    merge_bdd_row b[8 + 3 + 2];
    merge_totals_bdd_rows(&t, b);
    for (size_t c = 0; c < 3; c++) {
        CHECK_NEAR(b[c].MOTA, 100, 1e-12);
        CHECK_NEAR(b[c].MOTP, 100, 1e-12);
        CHECK_NEAR(b[c].IDF1, 100, 1e-12);
    }
    CHECK_NEAR(b[12].MOTA, 100, 1e-12);
}

static void test_rename_ids(void) {
    for (int bdd = 0; bdd < 2; bdd++) {
        merge_totals a, b;
        eval_set(0, bdd, 0, 60, &a);
        eval_set(2, bdd, 0, 60, &b);
        if (!bdd) {
            for (size_t c = 0; c < 2; c++) {
                merge_te_row ra, rb;
                merge_totals_te_row(&a, c, &ra);
                merge_totals_te_row(&b, c, &rb);
                CHECK(ra.CLR_TP > 0 && ra.IDSW > 0 && ra.CLR_FP > 0);
                same_te(&ra, &rb, 1e-12);
            }
        } else {
            merge_bdd_row ra[13], rb[13];
            merge_totals_bdd_rows(&a, ra);
            merge_totals_bdd_rows(&b, rb);
            CHECK(ra[12].IDSw > 0);
            for (int i = 0; i < 13; i++) same_bdd(&ra[i], &rb[i], 1e-9);
        }
    }
}

static void test_parts_combine(void) {
    for (int bdd = 0; bdd < 2; bdd++) {
        merge_totals whole, p1, p2;
        eval_set(0, bdd, 0, NV * 5, &whole);
        eval_set(0, bdd, 0, 13, &p1);
        eval_set(0, bdd, 13, NV * 5, &p2);
        merge_totals_combine(&p1, &p2);
        CHECK_EQ_INT(p1.videos, whole.videos);
        if (!bdd) {
            for (size_t c = 0; c < 2; c++) {
                merge_te_row a, b;
                merge_totals_te_row(&whole, c, &a);
                merge_totals_te_row(&p1, c, &b);
                same_te(&a, &b, 1e-12);
            }
            merge_te_row a, b;
            merge_totals_te_det_average(&whole, &a);
            merge_totals_te_det_average(&p1, &b);
            same_te(&a, &b, 1e-12);
        } else {
            merge_bdd_row a[13], b[13];
            merge_totals_bdd_rows(&whole, a);
            merge_totals_bdd_rows(&p1, b);
            for (int i = 0; i < 13; i++) same_bdd(&a[i], &b[i], 1e-9);
        }
    }
}

int main(void) {
    TEST_RUN(test_perfect);
    TEST_RUN(test_rename_ids);
    TEST_RUN(test_parts_combine);
    return test_finish();
}
