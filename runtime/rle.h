// rle — COCO run-length encoded binary masks, bit-compatible with pycocotools' maskApi.
//
//     rt_rle r;
//     rt_rle_init(&r);
//     if (rt_rle_from_string(&r, 6, 8, "0240T1", 6) != RT_OK) fprintf(stderr, "%s\n", rt_error());
//     uint64_t a = rt_rle_area(&r);                 // 4
//     char s[64];
//     rt_rle_to_string(&r, s, sizeof s);            // "0240T1" again
//     rt_rle_free(&r);
//
// Layout. A mask of h rows and w columns is flattened in COLUMN-MAJOR order: pixel (row y,
// column x) has linear index x*h + y. `counts` holds the lengths of alternating runs, always
// starting with a run of 0s (which is 0 long when pixel (0,0) is set); the counts add up to
// h*w. Our images are row-major, so rt_rle_encode/rt_rle_decode transpose: they take and give
// uint8 masks of h*w bytes laid out row by row (mask[y*w + x]).
//
// The encoder and every function producing an RLE here write canonical runs (no zero-length
// run except possibly the first). Parsed or hand-built RLEs may contain zero-length runs; every
// function accepts them and gives the pycocotools result.
//
// Ownership. An rt_rle owns its `counts` array (capacity `cap`). Functions that write an RLE
// reuse the existing capacity and grow it with rt_realloc only when needed, so a caller that
// keeps its rt_rle objects alive allocates nothing once they are large enough. Outputs must not
// alias inputs. No function keeps pointers to its arguments. All functions are thread-safe on
// distinct objects.
//
// Errors. Functions returning rt_status set the calling thread's last error (rt_error_set):
// RT_ERR_NOMEM when growing fails, RT_ERR_FORMAT for malformed strings or counts, RT_ERR_SHAPE for
// size mismatches where the caller asked for an exact operation.
#ifndef PCAN_RUNTIME_RLE_H
#define PCAN_RUNTIME_RLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"

typedef struct rt_rle {
    uint32_t h, w;    // size [h, w] as in COCO's `size`
    size_t n;         // number of runs in counts
    size_t cap;       // allocated length of counts
    uint32_t *counts; // owned; runs alternate 0s,1s,0s,... in column-major order
} rt_rle;

// An empty 0×0 RLE with no counts (pycocotools' result of merging nothing). Never allocates.
void rt_rle_init(rt_rle *r);
// Releases the counts and leaves `r` as after rt_rle_init. Accepts NULL.
void rt_rle_free(rt_rle *r);
// Makes room for at least n counts (keeps the current ones).
rt_status rt_rle_reserve(rt_rle *r, size_t n);

// Sets `r` to h×w with the given counts, checking that they add up to h*w (RT_ERR_FORMAT
// otherwise). Counts are copied as given (zero-length runs are kept).
rt_status rt_rle_set_counts(rt_rle *r, uint32_t h, uint32_t w, const uint32_t *counts, size_t n);
rt_status rt_rle_copy(rt_rle *dst, const rt_rle *src);
// True when both have the same size and the same decoded pixels.
bool rt_rle_equal(const rt_rle *a, const rt_rle *b);

// Encodes a row-major uint8 mask (mask[y*w + x], any non-zero value = set). h*w must fit in
// uint32 (RT_ERR_SHAPE). An all-zero mask gives counts [h*w]; a 0×0 mask gives [0].
rt_status rt_rle_encode(rt_rle *r, const uint8_t *mask, uint32_t h, uint32_t w);
// Decodes into a row-major mask of h*w bytes (0 or 1).
void rt_rle_decode(const rt_rle *r, uint8_t *mask);

// Number of set pixels (the sum of the counts at odd positions).
uint64_t rt_rle_area(const rt_rle *r);
// pycocotools toBbox: [x, y, width, height] with width = xmax-xmin+1. A run of 1s crossing a
// column boundary makes the y range the full height (exact for such masks). Empty → [0,0,0,0].
void rt_rle_bbox(const rt_rle *r, double bbox[4]);
// Number of pixels set in both. Sizes must match (asserted: compare sizes first).
uint64_t rt_rle_intersection(const rt_rle *a, const rt_rle *b);

// pycocotools iou(dt, gt, iscrowd): out[d*n_gt + g] for every detection d and ground truth g.
// Pairs whose bounding boxes do not overlap are 0; otherwise pairs of different size are -1,
// pairs with no common pixel are 0, else |d∩g|/|d∪g|, or |d∩g|/|d| when iscrowd[g] is non-zero
// (intersection over the detection's area, "IoA"). iscrowd may be NULL (no crowd).
// Allocates bbox scratch: RT_ERR_NOMEM.
rt_status rt_rle_iou(const rt_rle *dt, size_t n_dt, const rt_rle *gt, size_t n_gt,
                     const uint8_t *iscrowd, double *out);
// The same for one pair (no allocation).
double rt_rle_iou_pair(const rt_rle *dt, const rt_rle *gt, bool crowd);

// pycocotools merge: the union (or intersection) of n masks into `out`. n == 0 gives an empty
// 0×0 RLE; masks of different sizes also give 0×0 (pycocotools semantics, not an error); n == 1
// copies the counts as they are. `out` must not be one of the inputs.
rt_status rt_rle_merge(rt_rle *out, const rt_rle *in, size_t n, bool intersect);
// out = a AND NOT b (pixels of a not in b). Sizes must match (RT_ERR_SHAPE).
rt_status rt_rle_subtract(rt_rle *out, const rt_rle *a, const rt_rle *b);

// Compressed string form (pycocotools rleToString): writes at most cap bytes including the NUL
// and returns the length of the full string (excluding the NUL), like snprintf; call with
// cap == 0 to size the buffer. The string uses ASCII 48..111 (it may contain '\\' and '`').
size_t rt_rle_to_string(const rt_rle *r, char *buf, size_t cap);
// Parses len bytes of the compressed form (pycocotools rleFrString) as an h×w mask. Rejects,
// with RT_ERR_FORMAT and the offset in the message: characters outside 48..111, a string that
// ends inside a value, counts that are negative or exceed uint32, and counts that do not add up
// to h*w. On failure `r` is left empty (0×0), still owning its capacity.
rt_status rt_rle_from_string(rt_rle *r, uint32_t h, uint32_t w, const char *s, size_t len);

#endif
