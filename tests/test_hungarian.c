// Optimal assignment against brute force on random small matrices, with ties, rectangles and
// forbidden (+inf) entries.
#include "merge/hungarian.h"
#include "tests/test.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint32_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

// Best total over all one-to-one assignments of min(nr, nc) pairs (recursive over rows).
static double brute(const double *c, size_t nr, size_t nc, size_t r, uint32_t used, size_t left) {
    if (left == 0) return 0;
    if (r == nr) return INFINITY;
    double best = INFINITY;
    if (nr - r > left) best = brute(c, nr, nc, r + 1, used, left); // row r unassigned
    for (size_t j = 0; j < nc; j++) {
        if (used & (1u << j)) continue;
        double v = c[r * nc + j] + brute(c, nr, nc, r + 1, used | (1u << j), left - 1);
        if (v < best) best = v;
    }
    return best;
}

static void check_solution(const double *c, size_t nr, size_t nc, const int32_t *col, double want) {
    size_t k = nr < nc ? nr : nc, n = 0;
    uint32_t used = 0;
    double total = 0;
    for (size_t r = 0; r < nr; r++) {
        if (col[r] < 0) continue;
        CHECK(col[r] < (int32_t)nc);
        CHECK(!(used & (1u << col[r])));
        used |= 1u << col[r];
        total += c[r * nc + (size_t)col[r]];
        n++;
    }
    CHECK_EQ_INT(n, k);
    CHECK_MSG(fabs(total - want) <= 1e-9 * (1 + fabs(want)), "total %.17g, brute force %.17g (%zux%zu)",
              total, want, nr, nc);
}

static void test_random(void) {
    merge_hungarian h;
    merge_hungarian_init(&h);
    double c[49];
    int32_t col[7];
    for (int it = 0; it < 3000; it++) {
        size_t nr = 1 + rng() % 7, nc = 1 + rng() % 7;
        int kind = it % 4;
        for (size_t k = 0; k < nr * nc; k++) {
            if (kind == 0) c[k] = (double)(rng() % 1000000) / 1e6;       // continuous
            else if (kind == 1) c[k] = (double)(rng() % 3);              // many ties
            else if (kind == 2) c[k] = -(double)(rng() % 2) * 1000 - (double)(rng() % 5) / 4;
            else c[k] = rng() % 4 == 0 ? INFINITY : (double)(rng() % 10); // forbidden pairs
        }
        double want = brute(c, nr, nc, 0, 0, nr < nc ? nr : nc);
        rt_status st = merge_hungarian_solve(&h, c, nr, nc, col);
        if (want == INFINITY) {
            CHECK_EQ_INT(st, RT_ERR_INVAL);
            continue;
        }
        CHECK_EQ_INT(st, RT_OK);
        if (st == RT_OK) check_solution(c, nr, nc, col, want);
    }
    merge_hungarian_free(&h);
    merge_hungarian_free(&h);
}

static void test_edges(void) {
    merge_hungarian h;
    merge_hungarian_init(&h);
    int32_t col[3] = {5, 5, 5};
    CHECK_EQ_INT(merge_hungarian_solve(&h, NULL, 3, 0, col), RT_OK);
    CHECK(col[0] == -1 && col[1] == -1 && col[2] == -1);
    double nanm[2] = {1, NAN};
    CHECK_EQ_INT(merge_hungarian_solve(&h, nanm, 1, 2, col), RT_ERR_INVAL);
    double ninf[2] = {1, -INFINITY};
    CHECK_EQ_INT(merge_hungarian_solve(&h, ninf, 2, 1, col), RT_ERR_INVAL);
    // Ties: scipy's rule gives the identity on an all-zero square matrix.
    double z[9] = {0};
    CHECK_EQ_INT(merge_hungarian_solve(&h, z, 3, 3, col), RT_OK);
    CHECK(col[0] == 0 && col[1] == 1 && col[2] == 2);
    // Tall matrix: solved transposed; the best column per row wins.
    double t[6] = {5, 1, 0, 9, 3, 3}; // 3x2
    CHECK_EQ_INT(merge_hungarian_solve(&h, t, 3, 2, col), RT_OK);
    CHECK(col[0] == 1 && col[1] == 0 && col[2] == -1);
    double tot = 0;
    for (int r = 0; r < 3; r++) if (col[r] >= 0) tot += t[r * 2 + col[r]];
    CHECK(tot == 1.0);
    // Reuse: no allocation for a smaller problem.
    uint64_t n0 = rt_alloc_count();
    CHECK_EQ_INT(merge_hungarian_solve(&h, z, 2, 2, col), RT_OK);
    CHECK_EQ_INT(rt_alloc_count(), n0);
    merge_hungarian_free(&h);
}

int main(void) {
    TEST_RUN(test_random);
    TEST_RUN(test_edges);
    return test_finish();
}
