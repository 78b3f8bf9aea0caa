#include "tests/common/archive_util.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge/archive.h"
#include "runtime/rle.h"
#include "shard/plan.h"
#include "shard/spool.h"

#define SHA "0000000000000000000000000000000000000000000000000000000000000000"
#define CONFIG "test_archive"

struct test_archive {
    char path[4096], spool[4200];
    const char *const *classes;
    size_t n_classes;
    shard_spool_entry e;
    int open, frames;
};

static void die(const char *what) {
    fprintf(stderr, "test_archive: %s: %s\n", what, rt_error());
    abort();
}

void test_rect_rle(char *s, size_t cap, int h, int w, int y0, int y1, int x0, int x1) {
    uint8_t *m = calloc((size_t)h * (size_t)w, 1);
    if (!m) abort();
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) m[y * w + x] = 1;
    rt_rle r;
    rt_rle_init(&r);
    if (rt_rle_encode(&r, m, h, w) != RT_OK) die("rle");
    if (rt_rle_to_string(&r, s, cap) >= cap) abort();
    rt_rle_free(&r);
    free(m);
}

static void finalize(void) {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
}

test_archive *test_archive_begin(const char *path, const char *const *classes, size_t n_classes) {
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
            fprintf(stderr, "test_archive: MPI_Init failed\n");
            abort();
        }
        atexit(finalize);
    }
    test_archive *a = calloc(1, sizeof *a);
    if (!a) abort();
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->spool, sizeof a->spool, "%s.spool", path);
    a->classes = classes;
    a->n_classes = n_classes;
    shard_spool_entry_init(&a->e);
    if (shard_spool_mkdir(a->spool) != RT_OK) die("spool");
    return a;
}

static void commit(test_archive *a) {
    if (!a->open) return;
    if (a->e.meta.frames < a->frames) a->e.meta.frames = a->frames;
    shard_spool_params sp = shard_spool_default_params();
    sp.durable = false;
    if (shard_spool_commit(a->spool, &a->e, &sp) != RT_OK) die("commit");
    a->open = 0;
}

void test_archive_video(test_archive *a, const char *id, int height, int width, int frames) {
    commit(a);
    uint8_t h[SHARD_SPOOL_HASH_LEN];
    shard_resume_hash(SHA, CONFIG, id, h);
    if (shard_spool_entry_begin(&a->e, id, "test", h) != RT_OK) die(id);
    a->e.meta.height = height;
    a->e.meta.width = width;
    a->e.meta.fps = 10;
    a->frames = frames;
    a->open = 1;
}

void test_archive_frame(test_archive *a, int frame, const rt_result *items, int n) {
    if (shard_spool_entry_add(&a->e, frame, items, n) != RT_OK) die("frame");
}

void test_archive_lines(test_archive *a, const char *lines) {
    enum { MAXR = 256 };
    rt_result r[MAXR];
    int n = 0, frame = -1;
    char line[4096];
    while (*lines) {
        size_t len = strcspn(lines, "\n");
        if (len >= sizeof line) abort();
        memcpy(line, lines, len);
        line[len] = 0;
        lines += len + (lines[len] == '\n');
        int f, tid, label;
        float score;
        char rle[4000];
        if (sscanf(line, "%d %d %d %f %3999s", &f, &tid, &label, &score, rle) != 5) continue;
        if (f != frame && n > 0) {
            test_archive_frame(a, frame, r, n);
            for (int i = 0; i < n; i++) rt_rle_free(&r[i].mask);
            n = 0;
        }
        frame = f;
        if (n == MAXR) abort();
        memset(&r[n], 0, sizeof r[n]);
        rt_rle_init(&r[n].mask);
        if (rt_rle_from_string(&r[n].mask, (uint32_t)a->e.meta.height, (uint32_t)a->e.meta.width,
                               rle, strlen(rle)) != RT_OK)
            die(line);
        r[n].track_id = tid;
        r[n].label = (int16_t)label;
        r[n].score = score;
        n++;
    }
    if (n > 0) test_archive_frame(a, frame, r, n);
    for (int i = 0; i < n; i++) rt_rle_free(&r[i].mask);
}

void test_archive_end(test_archive **pa) {
    test_archive *a = *pa;
    commit(a);
    shard_spool_entry_free(&a->e);
    merge_archive_params mp = merge_archive_default_params();
    mp.spool = a->spool;
    mp.path = a->path;
    mp.all_in_spool = true;
    mp.weights_sha256 = SHA;
    mp.config = CONFIG;
    mp.software = "test";
    mp.model_name = "test";
    mp.job_text = "";
    mp.prototype_memory = "video";
    mp.classes = a->classes;
    mp.n_classes = a->n_classes;
    merge_archive_stats st;
    if (merge_archive_write(&mp, MPI_COMM_WORLD, &st) != RT_OK) die(a->path);
    free(a);
    *pa = NULL;
}
