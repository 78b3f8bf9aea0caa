// hungarian — optimal linear assignment (rectangular, exact in double).
//
//     merge_hungarian h;
//     merge_hungarian_init(&h);
//     int32_t col[3];
//     if (merge_hungarian_solve(&h, cost, 3, 4, col) != RT_OK) ... // col[r] = column of row r
//     merge_hungarian_free(&h);
//
// Minimises Σ cost[r*nc + col[r]] over one-to-one assignments of min(nr, nc) pairs. When
// nr > nc some rows stay unassigned (col[r] = -1). The algorithm is the shortest augmenting path
// method of Jonker–Volgenant as described by Crouse (2016), the one scipy's
// linear_sum_assignment implements; we keep its arithmetic and its tie rule (among equally short
// paths prefer a free column, then the first found in its scan order) so that ties are broken
// as the reference evaluators (TrackEval, py-motmetrics) break them. Callers maximising a score
// pass its negation, as those evaluators do.
//
// The object only holds scratch buffers, grown on demand and reused, so repeated solves of
// similar sizes allocate nothing. Not thread-safe per object; use one per thread.
//
// Errors: RT_ERR_INVAL for NaN or -inf entries and for infeasible matrices (a row or column whose
// entries are all +inf, or no complete assignment of finite cost); RT_ERR_NOMEM.
#ifndef PCAN_MERGE_HUNGARIAN_H
#define PCAN_MERGE_HUNGARIAN_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"

typedef struct merge_hungarian {
    size_t cap_r, cap_c; // capacity of the row- and column-sized buffers
    double *u, *v, *spc, *tcost;
    size_t tcost_cap;
    int64_t *path, *col4row, *row4col, *remaining;
    uint8_t *sr, *sc;
} merge_hungarian;

void merge_hungarian_init(merge_hungarian *h);
// Releases the buffers; accepts NULL; leaves `h` as after init.
void merge_hungarian_free(merge_hungarian *h);
// cost is row-major [nr][nc]; col_of_row has nr entries. nr or nc may be 0 (all rows -1).
rt_status merge_hungarian_solve(merge_hungarian *h, const double *cost, size_t nr, size_t nc,
                                int32_t *col_of_row);

#endif
