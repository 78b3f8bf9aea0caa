// shard/spool: per-video result files — round trip, order, corruption detection, markers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/crc32c.h"
#include "shard/spool.h"
#include "tests/test.h"

static void fill_entry(shard_spool_entry *e, const char *id, int frames) {
    uint8_t hash[32];
    for (int i = 0; i < 32; i++) hash[i] = (uint8_t)(i * 7 + 1);
    CHECK_EQ_INT(shard_spool_entry_begin(e, id, "/data/videos/x.mp4", hash), RT_OK);
    e->meta.width = 8;
    e->meta.height = 6;
    e->meta.fps = 29.97;
    uint32_t counts[3][3] = {{5, 10, 33}, {0, 48, 0}, {47, 1, 0}};
    size_t nc[3] = {3, 2, 2};
    for (int f = 0; f < frames; f++) {
        rt_result r[3];
        memset(r, 0, sizeof r);
        int n = f % 4 == 3 ? 0 : 3;
        for (int i = 0; i < n; i++) {
            r[i].track_id = 3 - i + f; // descending: the entry must sort them
            r[i].label = (int16_t)i;
            r[i].score = 0.5f + 0.1f * (float)i;
            for (int k = 0; k < 4; k++) r[i].box[k] = (float)(f * 10 + i + k);
            r[i].mask.h = 6;
            r[i].mask.w = 8;
            r[i].mask.n = nc[i];
            r[i].mask.counts = counts[i];
        }
        CHECK_EQ_INT(shard_spool_entry_add(e, f, r, n), RT_OK);
    }
    e->meta.seconds = 1.25;
}

static void test_crc(void) {
    CHECK_EQ_INT(rt_crc32c(0, "123456789", 9), 0xe3069283u);
    uint32_t c = rt_crc32c(0, "1234", 4);
    CHECK_EQ_INT(rt_crc32c(c, "56789", 5), 0xe3069283u);
    CHECK_EQ_INT(rt_crc32c(0, "", 0), 0);
}

static void test_round_trip(void) {
    const char *dir = test_tmpdir();
    char spool[4200], path[4400];
    snprintf(spool, sizeof spool, "%s/a/b.spool", dir);
    CHECK_EQ_INT(shard_spool_mkdir(spool), RT_OK);
    shard_spool_entry e, r;
    shard_spool_entry_init(&e);
    shard_spool_entry_init(&r);
    fill_entry(&e, "0002", 10);
    CHECK_EQ_INT(e.meta.frames, 10);
    CHECK_EQ_INT(e.meta.n_rows, 24);
    uint32_t attempt = 0;
    CHECK_EQ_INT(shard_spool_attempt_begin(spool, "0002", &attempt), RT_OK);
    CHECK_EQ_INT(attempt, 1);
    CHECK_EQ_INT(shard_spool_attempt_begin(spool, "0002", &attempt), RT_OK);
    CHECK_EQ_INT(attempt, 2);
    CHECK_EQ_INT(shard_spool_commit(spool, &e, NULL), RT_OK);
    uint32_t count = 9;
    CHECK_EQ_INT(shard_spool_attempt_count(spool, "0002", &count), RT_OK);
    CHECK_EQ_INT(count, 0); // commit removes the markers
    CHECK_EQ_INT(shard_spool_path(spool, "0002", path, sizeof path), RT_OK);
    CHECK_MSG(shard_spool_read(path, &r, false) == RT_OK, "%s", rt_error());
    CHECK_EQ_STR(r.meta.id, "0002");
    CHECK_EQ_STR(r.meta.source, "/data/videos/x.mp4");
    CHECK_EQ_STR(r.meta.error, "");
    CHECK_EQ_INT(r.meta.frames, 10);
    CHECK_EQ_INT(r.meta.width, 8);
    CHECK_EQ_INT(r.meta.height, 6);
    CHECK_NEAR(r.meta.fps, 29.97, 0);
    CHECK_NEAR(r.meta.seconds, 1.25, 0);
    CHECK_EQ_INT(r.meta.status, SHARD_VIDEO_OK);
    CHECK(memcmp(r.meta.hash, e.meta.hash, 32) == 0);
    CHECK_EQ_INT(r.meta.n_rows, e.meta.n_rows);
    CHECK_EQ_INT(r.meta.n_rle, e.meta.n_rle);
    CHECK(memcmp(r.box, e.box, e.meta.n_rows * 16) == 0);
    CHECK(memcmp(r.rle, e.rle, e.meta.n_rle * 4) == 0);
    // Sorted by track id within each frame; masks follow their rows.
    CHECK_EQ_INT(r.frame[0], 0);
    CHECK_EQ_INT(r.track_id[0], 1);
    CHECK_EQ_INT(r.track_id[2], 3);
    CHECK_EQ_INT(r.label[0], 2);
    uint32_t n;
    const uint32_t *c = shard_spool_row_rle(&r, 0, &n);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(c[0], 47);
    c = shard_spool_row_rle(&r, 2, &n);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(c[2], 33);
    // Meta-only read.
    shard_spool_entry m;
    shard_spool_entry_init(&m);
    CHECK_EQ_INT(shard_spool_read(path, &m, true), RT_OK);
    CHECK_EQ_INT(m.meta.n_rows, 24);
    CHECK(m.frame == NULL);
    shard_spool_entry_free(&m);
    // A failed entry.
    fill_entry(&e, "bad video", 2);
    CHECK_EQ_INT(shard_spool_entry_fail(&e, "decode error at frame 2"), RT_OK);
    CHECK_EQ_INT(shard_spool_commit(spool, &e, NULL), RT_OK);
    CHECK_EQ_INT(shard_spool_path(spool, "bad video", path, sizeof path), RT_OK);
    CHECK_CONTAINS(path, "bad%20video.pcr");
    CHECK_EQ_INT(shard_spool_read(path, &r, false), RT_OK);
    CHECK_EQ_INT(r.meta.status, SHARD_VIDEO_FAILED);
    CHECK_EQ_STR(r.meta.error, "decode error at frame 2");
    shard_spool_entry_free(&e);
    shard_spool_entry_free(&r);
}

static void test_order_and_shape_errors(void) {
    shard_spool_entry e;
    shard_spool_entry_init(&e);
    fill_entry(&e, "v", 3);
    rt_result r;
    memset(&r, 0, sizeof r);
    r.track_id = 1;
    CHECK_EQ_INT(shard_spool_entry_add(&e, 1, &r, 1), RT_ERR_INVAL);
    CHECK_CONTAINS(rt_error(), "frame 1 after frame 2");
    uint32_t counts[1] = {20};
    r.mask.h = 4;
    r.mask.w = 5;
    r.mask.n = 1;
    r.mask.counts = counts;
    CHECK_EQ_INT(shard_spool_entry_add(&e, 5, &r, 1), RT_ERR_INVAL);
    CHECK_CONTAINS(rt_error(), "mask is 5x4, video is 8x6");
    shard_spool_entry_free(&e);
}

static void test_keys(void) {
    char k[SHARD_SPOOL_KEY_MAX];
    shard_spool_key("b1c66a42-6f7d68ca", k);
    CHECK_EQ_STR(k, "b1c66a42-6f7d68ca");
    shard_spool_key(".hidden/x y", k);
    CHECK_EQ_STR(k, "%2Ehidden%2Fx%20y");
    char long_id[600], k2[SHARD_SPOOL_KEY_MAX];
    memset(long_id, 'a', 599);
    long_id[599] = '\0';
    shard_spool_key(long_id, k);
    long_id[598] = 'b';
    shard_spool_key(long_id, k2);
    CHECK(strlen(k) < 200);
    CHECK(strcmp(k, k2) != 0);
}

static void corrupt_copy(const char *src, const char *dst, long at, int truncate_to) {
    FILE *f = fopen(src, "rb");
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (at >= 0) buf[at] ^= 0x40;
    if (truncate_to >= 0) n = (size_t)truncate_to;
    test_write_file(dst, buf, n);
}

static void test_corruption(void) {
    const char *dir = test_tmpdir();
    char spool[4200], path[4400], bad[4400];
    snprintf(spool, sizeof spool, "%s/c.spool", dir);
    CHECK_EQ_INT(shard_spool_mkdir(spool), RT_OK);
    shard_spool_entry e;
    shard_spool_entry_init(&e);
    fill_entry(&e, "v", 8);
    CHECK_EQ_INT(shard_spool_commit(spool, &e, NULL), RT_OK);
    CHECK_EQ_INT(shard_spool_path(spool, "v", path, sizeof path), RT_OK);
    struct stat sb;
    stat(path, &sb);
    snprintf(bad, sizeof bad, "%s/bad.pcr", spool);
    struct {
        long at;
        int trunc;
        rt_status st;
        const char *msg;
    } cases[] = {
        {-1, (int)sb.st_size - 1, RT_ERR_FORMAT, "truncated or padded"},
        {-1, 20, RT_ERR_FORMAT, "truncated (20 bytes)"},
        {-1, 0, RT_ERR_FORMAT, "truncated (0 bytes)"},
        {3, -1, RT_ERR_FORMAT, "bad magic"},
        {8, -1, RT_ERR_FORMAT, "spool version"},
        {40, -1, RT_ERR_FORMAT, "metadata checksum mismatch"},
        {(long)sb.st_size - 3, -1, RT_ERR_FORMAT, "result checksum mismatch"},
        {(long)sb.st_size - 200, -1, RT_ERR_FORMAT, "result checksum mismatch"},
    };
    for (size_t i = 0; i < RT_COUNTOF(cases); i++) {
        corrupt_copy(path, bad, cases[i].at, cases[i].trunc);
        rt_status st = shard_spool_read(bad, &e, false);
        CHECK_MSG(st == cases[i].st, "case %zu: status %d", i, st);
        CHECK_CONTAINS(rt_error(), cases[i].msg);
    }
    // The meta-only read still catches truncation.
    corrupt_copy(path, bad, -1, (int)sb.st_size - 1);
    CHECK_EQ_INT(shard_spool_read(bad, &e, true), RT_ERR_FORMAT);
    CHECK_EQ_INT(shard_spool_read("/nonexistent/x.pcr", &e, false), RT_ERR_IO);
    // Temp files left by a killed commit are removed.
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s/.v.pcr.tmp.123", spool);
    test_write_text(tmp, "partial");
    CHECK_EQ_INT(shard_spool_clean_temp(spool), RT_OK);
    CHECK(access(tmp, F_OK) != 0);
    CHECK(access(path, F_OK) == 0);
    shard_spool_entry_free(&e);
}

static void test_no_alloc_when_warm(void) {
    shard_spool_entry e;
    shard_spool_entry_init(&e);
    fill_entry(&e, "v", 20);
    uint64_t before = rt_alloc_count();
    fill_entry(&e, "w", 20); // same size again: only the id/source/error strings
    CHECK_EQ_INT(rt_alloc_count() - before, 3);
    shard_spool_entry_free(&e);
}

int main(void) {
    TEST_RUN(test_crc);
    TEST_RUN(test_round_trip);
    TEST_RUN(test_order_and_shape_errors);
    TEST_RUN(test_keys);
    TEST_RUN(test_corruption);
    TEST_RUN(test_no_alloc_when_warm);
    return test_finish();
}
