// archive_util — writes a pcan archive from rows given by a test or a bench (no model, no run):
// one spool entry per video, then merge_archive_write on MPI_COMM_WORLD (MPI is initialised on
// first use as a singleton and finalised at exit). Aborts the program on any error.
//
//     const char *classes[] = {"car", "pedestrian"};
//     test_archive *a = test_archive_begin("/tmp/x/run.h5", classes, 2);
//     test_archive_video(a, "0000", 6, 8, 4);                 // id, height, width, frames
//     test_archive_lines(a, "0 1 0 0.9 0240T1\n");            // frame track label score rle
//     test_archive_frame(a, 1, items, n);                     // or rt_result rows
//     test_archive_end(&a);                                   // writes run.h5
#ifndef PCAN_TESTS_ARCHIVE_UTIL_H
#define PCAN_TESTS_ARCHIVE_UTIL_H

#include <stddef.h>

#include "runtime/model.h"

typedef struct test_archive test_archive;

test_archive *test_archive_begin(const char *path, const char *const *classes, size_t n_classes);
// Starts the next video (commits the previous one). Ids must ascend (strcmp).
void test_archive_video(test_archive *a, const char *id, int height, int width, int frames);
// Lines "frame track_id label score rle" (COCO compressed RLE at the video's size), frames in
// increasing order; lines of one frame consecutive.
void test_archive_lines(test_archive *a, const char *lines);
void test_archive_frame(test_archive *a, int frame, const rt_result *items, int n);
// Commits the last video and writes the archive (the spool stays at <path>.spool).
void test_archive_end(test_archive **a);

// The COCO compressed RLE string of the rectangle rows y0..y1, columns x0..x1 (inclusive) of an
// h x w mask, into s (aborts when it does not fit).
void test_rect_rle(char *s, size_t cap, int h, int w, int y0, int y1, int x0, int x1);

#endif
