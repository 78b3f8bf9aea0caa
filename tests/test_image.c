// shard/image: PNG round trips in every supported layout, the RGB and RAW reading modes, atomic
// writes, and broken files (each one error naming the file, no crash).
#include "runtime/fsutil.h"
#include "shard/image.h"
#include "shard/video.h"
#include "tests/test.h"

#include <dirent.h>

static char g_dir[1024];

static const char *tmp_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", g_dir, name);
    return buf;
}

static uint8_t px8(int x, int y, int c) { return (uint8_t)(x * 7 + y * 13 + c * 50); }

// Writes a w×h image with `channels` 8-bit samples from px8, rows `pad` bytes longer than needed.
static rt_status write8(const char *path, int w, int h, int channels, size_t pad) {
    size_t stride = (size_t)w * (size_t)channels + pad;
    uint8_t *buf = rt_malloc(stride * (size_t)h);
    RT_ASSERT(buf);
    memset(buf, 0xEE, stride * (size_t)h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < channels; c++) buf[y * stride + x * channels + c] = px8(x, y, c);
    shard_image img = {buf, w, h, channels, 8, stride};
    rt_status s = shard_png_write(path, &img);
    rt_free(buf);
    return s;
}

static void test_rgb_round_trip(void) {
    char p[2048];
    tmp_path(p, sizeof p, "rgb.png");
    CHECK_EQ_INT(write8(p, 37, 21, 3, 5), RT_OK);
    shard_image img = {0};
    for (int mode = 0; mode < 2; mode++) {
        CHECK_EQ_INT(shard_png_read(p, (shard_png_mode)mode, &img), RT_OK);
        CHECK_EQ_INT(img.width, 37);
        CHECK_EQ_INT(img.height, 21);
        CHECK_EQ_INT(img.channels, 3);
        CHECK_EQ_INT(img.depth, 8);
        CHECK_EQ_INT(img.stride, 37 * 3);
        int bad = 0;
        for (int y = 0; y < 21; y++)
            for (int x = 0; x < 37; x++)
                for (int c = 0; c < 3; c++)
                    bad += img.data[y * img.stride + x * 3 + c] != px8(x, y, c);
        CHECK_EQ_INT(bad, 0);
        shard_image_free(&img);
        CHECK(img.data == NULL);
    }
    shard_image_free(&img); // twice is fine
    shard_image_free(NULL);
    // The video reader (libavcodec) sees the same pixels.
    shard_video *v = NULL;
    shard_frame f;
    CHECK(shard_video_open(p, NULL, &v) == RT_OK);
    if (v && shard_video_read(v, &f) == RT_OK) {
        int bad = 0;
        for (int i = 0; i < 37 * 21 * 3; i++) bad += f.rgb[i] != px8(i / 3 % 37, i / 3 / 37, i % 3);
        CHECK_EQ_INT(bad, 0);
    }
    shard_video_close(&v);
}

static void test_grey_rgba_and_16bit(void) {
    char p[2048];
    shard_image img = {0};
    // RGBA: RAW keeps alpha, RGB drops it.
    tmp_path(p, sizeof p, "rgba.png");
    CHECK_EQ_INT(write8(p, 9, 4, 4, 0), RT_OK);
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RAW, &img), RT_OK);
    CHECK_EQ_INT(img.channels, 4);
    CHECK_EQ_INT(img.data[(2 * 9 + 5) * 4 + 3], px8(5, 2, 3));
    shard_image_free(&img);
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RGB, &img), RT_OK);
    CHECK_EQ_INT(img.channels, 3);
    CHECK_EQ_INT(img.data[(2 * 9 + 5) * 3 + 2], px8(5, 2, 2));
    shard_image_free(&img);
    // Grey: RAW one channel, RGB replicated.
    tmp_path(p, sizeof p, "grey.png");
    CHECK_EQ_INT(write8(p, 9, 4, 1, 3), RT_OK);
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RAW, &img), RT_OK);
    CHECK_EQ_INT(img.channels, 1);
    CHECK_EQ_INT(img.data[3 * 9 + 8], px8(8, 3, 0));
    shard_image_free(&img);
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RGB, &img), RT_OK);
    CHECK_EQ_INT(img.channels, 3);
    CHECK(img.data[(3 * 9 + 8) * 3 + 1] == px8(8, 3, 0) && img.data[(3 * 9 + 8) * 3] ==
          px8(8, 3, 0));
    shard_image_free(&img);
    // 16-bit grey (KITTI-MOTS instance maps): RAW exact host-order values; RGB the high byte.
    uint16_t map[6 * 5];
    for (int i = 0; i < 30; i++) map[i] = (uint16_t)(i * 2221 + 1000);
    shard_image m = {(uint8_t *)map, 6, 5, 1, 16, 12};
    tmp_path(p, sizeof p, "map16.png");
    CHECK_EQ_INT(shard_png_write(p, &m), RT_OK);
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RAW, &img), RT_OK);
    CHECK_EQ_INT(img.depth, 16);
    CHECK_EQ_INT(img.channels, 1);
    CHECK_EQ_INT(img.stride, 12);
    CHECK(img.data && memcmp(img.data, map, sizeof map) == 0);
    shard_image_free(&img);
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RGB, &img), RT_OK);
    CHECK_EQ_INT(img.depth, 8);
    CHECK_EQ_INT(img.data[29 * 3], map[29] >> 8);
    shard_image_free(&img);
}

// A palette PNG (made by ffmpeg): RAW gives indices, RGB the palette colours, the same colours
// the video reader gives.
static void test_palette(void) {
    char cmd[4096], out[1024], p[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && ffmpeg -hide_banner -nostdin -loglevel error -y -f lavfi -i "
             "testsrc=size=32x16 -frames:v 1 -pix_fmt pal8 pal.png",
             g_dir);
    if (test_run_cmd(cmd, out, sizeof out) != 0) {
        printf("  (no ffmpeg: palette case skipped) %s\n", out);
        return;
    }
    tmp_path(p, sizeof p, "pal.png");
    shard_image raw = {0}, rgb = {0};
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RAW, &raw), RT_OK);
    CHECK_EQ_INT(raw.channels, 1);
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RGB, &rgb), RT_OK);
    CHECK_EQ_INT(rgb.channels, 3);
    shard_video *v = NULL;
    shard_frame f;
    CHECK(shard_video_open(p, NULL, &v) == RT_OK);
    if (v && shard_video_read(v, &f) == RT_OK && rgb.data)
        CHECK(memcmp(f.rgb, rgb.data, 32 * 16 * 3) == 0);
    // Equal indices mean equal colours.
    int consistent = 1;
    for (int i = 0; raw.data && rgb.data && i < 32 * 16; i++)
        for (int j = 0; j < i; j++)
            if (raw.data[i] == raw.data[j] && memcmp(rgb.data + 3 * i, rgb.data + 3 * j, 3))
                consistent = 0;
    CHECK(consistent);
    shard_video_close(&v);
    shard_image_free(&raw);
    shard_image_free(&rgb);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void test_atomic_write(void) {
    char p[2048], d[2048];
    snprintf(d, sizeof d, "%s/atomic", g_dir);
    CHECK_EQ_INT(rt_mkdir_p(d), RT_OK);
    tmp_path(p, sizeof p, "atomic/out.png");
    CHECK_EQ_INT(write8(p, 8, 8, 3, 0), RT_OK);
    CHECK_EQ_INT(write8(p, 16, 4, 1, 0), RT_OK); // replaces the first
    shard_image img = {0};
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RAW, &img), RT_OK);
    CHECK_EQ_INT(img.width, 16);
    CHECK_EQ_INT(img.channels, 1);
    shard_image_free(&img);
    CHECK_EQ_INT(count_entries(d), 1); // no temp files left
    // A missing folder: an error naming the file and nothing written.
    tmp_path(p, sizeof p, "missing/out.png");
    CHECK_EQ_INT(write8(p, 8, 8, 3, 0), RT_ERR_IO);
    CHECK_CONTAINS(rt_error(), "missing");
    // Bad descriptions.
    uint8_t px[64] = {0};
    shard_image bad[] = {
        {px, 4, 4, 2, 8, 8},  {px, 4, 4, 3, 16, 24}, {px, 0, 4, 1, 8, 4},
        {px, 4, 4, 3, 8, 11}, {NULL, 4, 4, 1, 8, 4}, {px, 20000, 1, 1, 8, 20000},
    };
    for (size_t i = 0; i < RT_COUNTOF(bad); i++)
        CHECK_MSG(shard_png_write(p, &bad[i]) == RT_ERR_INVAL, "case %zu", i);
    CHECK(shard_png_read(NULL, SHARD_PNG_RGB, &img) == RT_ERR_INVAL);
}

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void expect_read_error(const char *name, rt_status want, const char *detail) {
    char p[2048];
    shard_image img = {0};
    tmp_path(p, sizeof p, name);
    rt_status s = shard_png_read(p, SHARD_PNG_RGB, &img);
    printf("  %-14s -> %s: %s\n", name, rt_status_name(s), rt_error());
    CHECK_MSG(s == want, "%s: %s", name, rt_error());
    CHECK_CONTAINS(rt_error(), p);
    if (detail) CHECK_CONTAINS(rt_error(), detail);
    CHECK(img.data == NULL);
}

static void test_broken_files(void) {
    char p[2048];
    tmp_path(p, sizeof p, "good.png");
    CHECK_EQ_INT(write8(p, 64, 48, 3, 0), RT_OK);
    FILE *f = fopen(p, "rb");
    static uint8_t buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n > 100);
    test_write_file(tmp_path(p, sizeof p, "trunc.png"), buf, n / 2);
    test_write_file(tmp_path(p, sizeof p, "sig_only.png"), buf, 8);
    test_write_text(tmp_path(p, sizeof p, "text.png"), "hello, not a png\n");
    test_write_file(tmp_path(p, sizeof p, "empty.png"), "", 0);
    static uint8_t crc[1 << 16];
    memcpy(crc, buf, n);
    crc[n - 20] ^= 0x55; // inside the last IDAT: its CRC no longer matches
    test_write_file(tmp_path(p, sizeof p, "crc.png"), crc, n);
    // A well-formed header claiming 20000×10 (CRC recomputed), then the original chunks.
    static uint8_t big[1 << 16];
    memcpy(big, buf, n);
    put32(big + 16, 20000);
    put32(big + 20, 10);
    put32(big + 29, crc32_of(big + 12, 17));
    test_write_file(tmp_path(p, sizeof p, "big.png"), big, n);

    expect_read_error("nope.png", RT_ERR_IO, "No such file");
    expect_read_error("empty.png", RT_ERR_FORMAT, "not a PNG");
    expect_read_error("text.png", RT_ERR_FORMAT, "not a PNG");
    expect_read_error("sig_only.png", RT_ERR_DECODE, NULL);
    expect_read_error("trunc.png", RT_ERR_DECODE, "truncated");
    expect_read_error("crc.png", RT_ERR_DECODE, NULL);
    expect_read_error("big.png", RT_ERR_FORMAT, "20000x10");
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    TEST_RUN(test_rgb_round_trip);
    TEST_RUN(test_grey_rgba_and_16bit);
    TEST_RUN(test_palette);
    TEST_RUN(test_atomic_write);
    TEST_RUN(test_broken_files);
    return test_finish();
}
