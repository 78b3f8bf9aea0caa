#include "merge/hungarian.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

void merge_hungarian_init(merge_hungarian *h) { memset(h, 0, sizeof *h); }

void merge_hungarian_free(merge_hungarian *h) {
    if (!h) return;
    rt_free(h->u);
    rt_free(h->v);
    rt_free(h->spc);
    rt_free(h->tcost);
    rt_free(h->path);
    rt_free(h->col4row);
    rt_free(h->row4col);
    rt_free(h->remaining);
    rt_free(h->sr);
    rt_free(h->sc);
    memset(h, 0, sizeof *h);
}

static rt_status grow(void **p, size_t n, size_t elem) {
    void *q = rt_realloc(*p, (n ? n : 1) * elem);
    if (!q) return rt_error_set(RT_ERR_NOMEM, "assignment: %zu scratch entries", n);
    *p = q;
    return RT_OK;
}

static rt_status reserve(merge_hungarian *h, size_t nr, size_t nc, size_t ncost) {
    rt_status st = RT_OK;
    if (nr > h->cap_r) {
        if ((st = grow((void **)&h->u, nr, sizeof(double))) != RT_OK ||
            (st = grow((void **)&h->col4row, nr, sizeof(int64_t))) != RT_OK ||
            (st = grow((void **)&h->sr, nr, 1)) != RT_OK)
            return st;
        h->cap_r = nr;
    }
    if (nc > h->cap_c) {
        if ((st = grow((void **)&h->v, nc, sizeof(double))) != RT_OK ||
            (st = grow((void **)&h->spc, nc, sizeof(double))) != RT_OK ||
            (st = grow((void **)&h->path, nc, sizeof(int64_t))) != RT_OK ||
            (st = grow((void **)&h->row4col, nc, sizeof(int64_t))) != RT_OK ||
            (st = grow((void **)&h->remaining, nc, sizeof(int64_t))) != RT_OK ||
            (st = grow((void **)&h->sc, nc, 1)) != RT_OK)
            return st;
        h->cap_c = nc;
    }
    if (ncost > h->tcost_cap) {
        if ((st = grow((void **)&h->tcost, ncost, sizeof(double))) != RT_OK) return st;
        h->tcost_cap = ncost;
    }
    return st;
}

// One Dijkstra-like search from free row `start` over reduced costs; returns the free column
// that ends the shortest augmenting path, or -1 when none has finite cost.
static int64_t shortest_path(merge_hungarian *h, const double *cost, size_t nr, size_t nc,
                             int64_t start, double *min_out) {
    double min_val = 0;
    size_t n_left = nc;
    // The scan order (descending, remove by swapping in the last) decides ties; keep it.
    for (size_t k = 0; k < nc; k++) h->remaining[k] = (int64_t)(nc - k - 1);
    memset(h->sr, 0, nr);
    memset(h->sc, 0, nc);
    for (size_t j = 0; j < nc; j++) h->spc[j] = INFINITY;
    int64_t i = start, sink = -1;
    while (sink == -1) {
        h->sr[i] = 1;
        size_t best = SIZE_MAX;
        double lowest = INFINITY;
        const double *row = cost + (size_t)i * nc;
        for (size_t k = 0; k < n_left; k++) {
            int64_t j = h->remaining[k];
            double r = min_val + row[j] - h->u[i] - h->v[j];
            if (r < h->spc[j]) {
                h->path[j] = i;
                h->spc[j] = r;
            }
            if (h->spc[j] < lowest || (h->spc[j] == lowest && h->row4col[j] == -1)) {
                lowest = h->spc[j];
                best = k;
            }
        }
        min_val = lowest;
        if (min_val == INFINITY) return -1;
        int64_t j = h->remaining[best];
        if (h->row4col[j] == -1)
            sink = j;
        else
            i = h->row4col[j];
        h->sc[j] = 1;
        h->remaining[best] = h->remaining[--n_left];
    }
    *min_out = min_val;
    return sink;
}

rt_status merge_hungarian_solve(merge_hungarian *h, const double *cost, size_t nr, size_t nc,
                                int32_t *col_of_row) {
    for (size_t r = 0; r < nr; r++) col_of_row[r] = -1;
    if (nr == 0 || nc == 0) return RT_OK;
    for (size_t k = 0; k < nr * nc; k++)
        if (isnan(cost[k]) || cost[k] == -INFINITY)
            return rt_error_set(RT_ERR_INVAL, "assignment: cost matrix entry %zu is %g", k,
                                cost[k]);
    // Solve with rows <= columns; a tall matrix is solved transposed (as the reference does).
    bool transposed = nr > nc;
    size_t R = transposed ? nc : nr, C = transposed ? nr : nc;
    rt_status st = reserve(h, R, C, transposed ? nr * nc : 0);
    if (st != RT_OK) return st;
    const double *a = cost;
    if (transposed) {
        for (size_t r = 0; r < nr; r++)
            for (size_t c = 0; c < nc; c++) h->tcost[c * nr + r] = cost[r * nc + c];
        a = h->tcost;
    }
    for (size_t r = 0; r < R; r++) {
        h->u[r] = 0;
        h->col4row[r] = -1;
    }
    for (size_t c = 0; c < C; c++) {
        h->v[c] = 0;
        h->path[c] = -1;
        h->row4col[c] = -1;
    }
    for (size_t cur = 0; cur < R; cur++) {
        double min_val;
        int64_t sink = shortest_path(h, a, R, C, (int64_t)cur, &min_val);
        if (sink < 0) return rt_error_set(RT_ERR_INVAL, "assignment: cost matrix is infeasible");
        // Dual update, then flip the path.
        h->u[cur] += min_val;
        for (size_t i = 0; i < R; i++)
            if (h->sr[i] && i != cur) h->u[i] += min_val - h->spc[h->col4row[i]];
        for (size_t j = 0; j < C; j++)
            if (h->sc[j]) h->v[j] -= min_val - h->spc[j];
        int64_t j = sink;
        for (;;) {
            int64_t i = h->path[j];
            h->row4col[j] = i;
            int64_t prev = h->col4row[i];
            h->col4row[i] = j;
            j = prev;
            if (i == (int64_t)cur) break;
        }
    }
    if (transposed) {
        for (size_t c = 0; c < R; c++) col_of_row[h->col4row[c]] = (int32_t)c;
    } else {
        for (size_t r = 0; r < R; r++) col_of_row[r] = (int32_t)h->col4row[r];
    }
    return RT_OK;
}
