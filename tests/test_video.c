// shard/video: every container and image-folder kind decodes to the right size, count and
// pixels; every broken input fails with one message naming the file (and frame); memory stays
// flat over a long video. Inputs are made with the ffmpeg CLI at test time (small and short).
#include "shard/image.h"
#include "shard/video.h"
#include "tests/test.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

#define W 64
#define H 48

static char g_dir[1024];

static const char *tmp_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", g_dir, name);
    return buf;
}

// Runs ffmpeg in the scratch directory; fails the test (and returns 0) when it does.
static int ff(const char *args) {
    char cmd[8192], out[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && ffmpeg -hide_banner -nostdin -loglevel error -y %s",
             g_dir, args);
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "ffmpeg %s failed (%d): %s", args, rc, out);
    return rc == 0;
}

static void sh(const char *fmt, const char *arg) {
    char cmd[4096], full[6000], out[2048];
    snprintf(cmd, sizeof cmd, fmt, arg);
    snprintf(full, sizeof full, "cd '%s' && %s", g_dir, cmd);
    int rc = test_run_cmd(full, out, sizeof out);
    CHECK_MSG(rc == 0, "%s failed (%d): %s", cmd, rc, out);
}

// The reference picture for the gradient inputs: frame k of W×H.
static uint8_t grad_px(int k, int x, int y, int c) {
    return (uint8_t)(c == 0 ? x * 4 : c == 1 ? y * 5 : 10 * k + 5);
}

static void write_gradient_raw(const char *name, int frames) {
    static uint8_t buf[W * H * 3 * 16];
    RT_ASSERT(frames <= 16);
    for (int k = 0; k < frames; k++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < 3; c++) buf[((k * H + y) * W + x) * 3 + c] = grad_px(k, x, y, c);
    char p[4096];
    test_write_file(tmp_path(p, sizeof p, name), buf, (size_t)frames * W * H * 3);
}

typedef struct stats {
    int64_t frames;
    double max_diff, mean_diff; // against the expected colour or gradient, over all frames
    int bad_index, bad_size;
} stats;

// Decodes everything; `solid` != NULL compares against that colour, else against the gradient.
static rt_status decode_all(const char *path, const shard_video_params *p, const uint8_t *solid,
                            shard_video_info *info, stats *st) {
    memset(st, 0, sizeof *st);
    shard_video *v = NULL;
    rt_status s = shard_video_open(path, p, &v);
    if (s != RT_OK) return s;
    *info = *shard_video_info_get(v);
    CHECK_EQ_STR(info->path, path);
    info->path = NULL; // owned by the reader
    shard_frame f;
    double sum = 0;
    int64_t n = 0;
    while ((s = shard_video_read(v, &f)) == RT_OK) {
        if (f.index != st->frames) st->bad_index++;
        if (f.width != info->width || f.height != info->height) st->bad_size++;
        for (int y = 0; y < f.height; y++)
            for (int x = 0; x < f.width; x++)
                for (int c = 0; c < 3; c++) {
                    int want = solid ? solid[c] : grad_px((int)f.index, x, y, c);
                    double d = fabs((double)f.rgb[(y * f.width + x) * 3 + c] - want);
                    sum += d;
                    n++;
                    if (d > st->max_diff) st->max_diff = d;
                }
        st->frames++;
    }
    st->mean_diff = n ? sum / (double)n : 0;
    shard_video_close(&v);
    CHECK(v == NULL);
    return s == SHARD_VIDEO_END ? RT_OK : s;
}

static const uint8_t k_colour[3] = {0x30, 0x80, 0xC0};

typedef struct case_ {
    const char *file, *ffargs, *codec;
    int frames;
    shard_video_count source;
    double tol;
} case_;

static void test_containers(void) {
    // 10 frames at 10 fps of one colour, in each container/codec.
    const char *src = "-f lavfi -i color=c=0x3080C0:size=64x48:rate=10:duration=1";
    const case_ cases[] = {
        {"h264.mp4", "-c:v libx264 -pix_fmt yuv420p", "h264", 10, SHARD_VIDEO_COUNT_CONTAINER, 4},
        {"h264.mkv", "-c:v libx264 -pix_fmt yuv420p", "h264", 10, SHARD_VIDEO_COUNT_ESTIMATED, 4},
        {"mjpeg.avi", "-c:v mjpeg -q:v 2", "mjpeg", 10, SHARD_VIDEO_COUNT_CONTAINER, 4},
        {"vp9.webm", "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -crf 20 -b:v 0", "vp9", 10,
         SHARD_VIDEO_COUNT_ESTIMATED, 4},
        {"mpeg4.mp4", "-c:v mpeg4 -q:v 2", "mpeg4", 10, SHARD_VIDEO_COUNT_CONTAINER, 4},
        {"mpeg4.avi", "-c:v mpeg4 -q:v 2", "mpeg4", 10, SHARD_VIDEO_COUNT_CONTAINER, 4},
    };
    for (size_t i = 0; i < RT_COUNTOF(cases); i++) {
        const case_ *c = &cases[i];
        char args[1024], path[4096];
        snprintf(args, sizeof args, "%s %s %s", src, c->ffargs, c->file);
        if (!ff(args)) continue;
        shard_video_info info;
        stats st;
        rt_status s = decode_all(tmp_path(path, sizeof path, c->file), NULL, k_colour, &info, &st);
        CHECK_MSG(s == RT_OK, "%s: %s", c->file, rt_error());
        CHECK_EQ_INT(info.width, W);
        CHECK_EQ_INT(info.height, H);
        CHECK_EQ_STR(info.codec, c->codec);
        CHECK(!info.is_folder);
        CHECK_NEAR(info.fps, 10.0, 0.01);
        CHECK_EQ_INT(st.frames, c->frames);
        CHECK_MSG(info.frames_source == c->source, "%s: frames_source %d", c->file,
                  (int)info.frames_source);
        CHECK_MSG(llabs(info.frames - c->frames) <= 1, "%s: info.frames %lld", c->file,
                  (long long)info.frames);
        CHECK_EQ_INT(st.bad_index, 0);
        CHECK_EQ_INT(st.bad_size, 0);
        CHECK_MSG(st.max_diff <= c->tol, "%s: max diff %.0f from the solid colour", c->file,
                  st.max_diff);
    }
}

// A smooth gradient through H.264 (4:2:0) and MJPEG: catches flips, swapped channels, offsets.
static void test_gradient_pixels(void) {
    write_gradient_raw("grad.rgb", 4);
    const char *raw = "-f rawvideo -pix_fmt rgb24 -s 64x48 -r 10 -i grad.rgb";
    char args[512], path[4096];
    snprintf(args, sizeof args, "%s -c:v libx264 -crf 8 -pix_fmt yuv420p grad.mp4", raw);
    ff(args);
    snprintf(args, sizeof args, "%s -c:v mjpeg -q:v 1 -pix_fmt yuvj444p grad.avi", raw);
    ff(args);
    const char *files[] = {"grad.mp4", "grad.avi"};
    for (int i = 0; i < 2; i++) {
        shard_video_info info;
        stats st;
        rt_status s = decode_all(tmp_path(path, sizeof path, files[i]), NULL, NULL, &info, &st);
        CHECK_MSG(s == RT_OK, "%s", rt_error());
        CHECK_EQ_INT(st.frames, 4);
        CHECK_MSG(st.mean_diff < 2.0 && st.max_diff <= 24, "%s: gradient mean %.2f max %.0f",
                  files[i], st.mean_diff, st.max_diff);
    }
    // Decoder threads do not change the pixels.
    shard_video_params p = shard_video_default_params();
    p.threads = 2;
    shard_video *a = NULL, *b = NULL;
    tmp_path(path, sizeof path, "grad.mp4");
    CHECK(shard_video_open(path, NULL, &a) == RT_OK);
    CHECK(shard_video_open(path, &p, &b) == RT_OK);
    if (a && b) {
        shard_frame fa, fb;
        int same = 1, n = 0;
        while (shard_video_read(a, &fa) == RT_OK) {
            if (shard_video_read(b, &fb) != RT_OK || memcmp(fa.rgb, fb.rgb, W * H * 3)) same = 0;
            n++;
        }
        CHECK(same);
        CHECK_EQ_INT(n, 4);
        CHECK(shard_video_read(b, &fb) == SHARD_VIDEO_END);
    }
    shard_video_close(&a);
    shard_video_close(&b);
    shard_video_close(&b); // twice is fine
}

// PNG frames named frame1..frame12 (lexical order would put frame10 second), plus entries that
// must be ignored; pixels must be exact.
static void test_png_folder(void) {
    sh("mkdir -p %s", "png");
    write_gradient_raw("png.rgb", 12);
    ff("-f rawvideo -pix_fmt rgb24 -s 64x48 -i png.rgb -start_number 1 png/frame%d.png");
    sh("echo notes > %s/notes.txt && mkdir png/sub.png && cp png/frame3.png png/.hidden.png",
       "png");
    char path[4096];
    shard_video_params p = shard_video_default_params();
    p.folder_fps = 5;
    shard_video *v = NULL;
    rt_status s = shard_video_open(tmp_path(path, sizeof path, "png"), &p, &v);
    CHECK_MSG(s == RT_OK, "%s", rt_error());
    if (!v) return;
    const shard_video_info *info = shard_video_info_get(v);
    CHECK(info->is_folder);
    CHECK_EQ_INT(info->frames, 12);
    CHECK(info->frames_source == SHARD_VIDEO_COUNT_EXACT);
    CHECK_EQ_STR(info->codec, "png");
    CHECK_NEAR(info->fps, 5.0, 0);
    shard_frame f;
    int k = 0, exact = 1;
    while ((s = shard_video_read(v, &f)) == RT_OK) {
        char want[32];
        snprintf(want, sizeof want, "frame%d.png", k + 1);
        CHECK_EQ_STR(f.name, want);
        CHECK_EQ_INT(f.index, k);
        CHECK_NEAR(f.seconds, k / 5.0, 1e-9);
        for (int i = 0; i < W * H * 3; i++)
            if (f.rgb[i] != grad_px(k, (i / 3) % W, i / 3 / W, i % 3)) exact = 0;
        k++;
    }
    CHECK(s == SHARD_VIDEO_END);
    CHECK(shard_video_read(v, &f) == SHARD_VIDEO_END);
    CHECK_EQ_INT(k, 12);
    CHECK(exact);
    shard_video_close(&v);
}

static void test_jpeg_folder(void) {
    sh("mkdir -p %s", "jpg");
    ff("-f lavfi -i color=c=0x3080C0:size=64x48:rate=10:duration=0.5 -q:v 2 -start_number 0 "
       "jpg/%06d.jpg");
    char path[4096];
    shard_video_info info;
    stats st;
    rt_status s = decode_all(tmp_path(path, sizeof path, "jpg"), NULL, k_colour, &info, &st);
    CHECK_MSG(s == RT_OK, "%s", rt_error());
    CHECK_EQ_INT(st.frames, 5);
    CHECK_EQ_INT(info.frames, 5);
    CHECK_EQ_STR(info.codec, "mjpeg");
    CHECK_NEAR(info.fps, 0, 0);
    CHECK_MSG(st.max_diff <= 4, "jpeg folder max diff %.0f", st.max_diff);
}

static void test_natural_order(void) {
    // Names only (the PNG test checks the pixels): mixed padding, prefixes and case.
    sh("mkdir -p %s", "nat");
    ff("-f lavfi -i color=c=red:size=16x16 -frames:v 1 nat/a.png");
    sh("cd nat && for n in b10.png b9.png b010x.png b2.png B1.png a2.png a10.png x.jpeg; do "
       "cp a.png $n; done && rm a.png && mv x.jpeg a1.PNG%s", "");
    const char *want[] = {"B1.png", "a1.PNG", "a2.png", "a10.png", "b2.png", "b9.png",
                          "b10.png", "b010x.png"};
    char path[4096];
    shard_video *v = NULL;
    rt_status s = shard_video_open(tmp_path(path, sizeof path, "nat"), NULL, &v);
    CHECK_MSG(s == RT_OK, "%s", rt_error());
    if (!v) return;
    shard_frame f;
    size_t k = 0;
    while (shard_video_read(v, &f) == RT_OK && k < RT_COUNTOF(want)) CHECK_EQ_STR(f.name, want[k++]);
    CHECK_EQ_INT(k, RT_COUNTOF(want));
    shard_video_close(&v);
}

// Reads frame 0 of `path` into `dst` (cap bytes); returns its pixel count or 0.
static size_t first_frame(const char *path, uint8_t *dst, size_t cap, int *w, int *h) {
    shard_video *v = NULL;
    shard_frame f;
    size_t n = 0;
    if (shard_video_open(path, NULL, &v) == RT_OK && shard_video_read(v, &f) == RT_OK) {
        n = (size_t)f.width * (size_t)f.height;
        *w = f.width;
        *h = f.height;
        if (n * 3 <= cap) memcpy(dst, f.rgb, n * 3);
        else n = 0;
    }
    CHECK_MSG(n > 0, "%s: %s", path, rt_error());
    shard_video_close(&v);
    return n;
}

// A 4:2:0 JPEG written by OpenCV against OpenCV's own decode (tools/make_video_fixture.py):
// libjpeg's chroma upsampling is reproduced, so only IDCT/colour rounding is left.
static void test_opencv_parity(void) {
    static uint8_t ours[66 * 48 * 3], ref[66 * 48 * 3];
    int w = 0, h = 0, rw = 0, rh = 0;
    const char *jpg = "tests/data/video/cv2_420.jpg";
    size_t n = first_frame(jpg, ours, sizeof ours, &w, &h);
    size_t m = first_frame("tests/data/video/cv2_420.decoded.png", ref, sizeof ref, &rw, &rh);
    CHECK_EQ_INT(w, 66);
    CHECK_EQ_INT(h, 48);
    if (!n || n != m) return;
    int maxd = 0;
    double sum = 0;
    for (size_t i = 0; i < 3 * n; i++) {
        int d = abs((int)ours[i] - (int)ref[i]);
        maxd = d > maxd ? d : maxd;
        sum += d;
    }
    printf("  OpenCV parity (4:2:0 JPEG 66x48): max %d, mean %.3f levels\n", maxd,
           sum / (3.0 * (double)n));
    CHECK(maxd <= 3);
    CHECK(sum / (3.0 * (double)n) < 0.25);
    // The same file as a one-frame folder decodes identically.
    char p[4096];
    static uint8_t again[66 * 48 * 3];
    char abs_jpg[2048], cwd[1024];
    snprintf(abs_jpg, sizeof abs_jpg, "%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", jpg);
    sh("mkdir -p one && cp '%s' one/", abs_jpg);
    CHECK(first_frame(tmp_path(p, sizeof p, "one"), again, sizeof again, &w, &h) == n);
    CHECK(memcmp(again, ours, 3 * n) == 0);
}

// 16-bit and other PNG layouts in a folder give exactly what shard_png_read (RGB mode, which
// matches cv2.imread) gives.
static void test_png_layouts(void) {
    const char *fmts[] = {"rgb48be", "gray16be", "rgba64be", "ya16be", "pal8", "ya8", "monob"};
    for (size_t i = 0; i < RT_COUNTOF(fmts); i++) {
        char args[512], dir[64], p[4096], png[4096];
        snprintf(dir, sizeof dir, "lay_%s", fmts[i]);
        sh("mkdir -p %s", dir);
        snprintf(args, sizeof args, "-f lavfi -i testsrc2=size=64x32,scale=33:17,noise=alls=20:allf=t "
                 "-frames:v 1 -pix_fmt %s %s/1.png", fmts[i], dir);
        if (!ff(args)) continue;
        shard_image ref = {0};
        snprintf(png, sizeof png, "%s/%s/1.png", g_dir, dir);
        CHECK_EQ_INT(shard_png_read(png, SHARD_PNG_RGB, &ref), RT_OK);
        uint8_t got[33 * 17 * 3];
        int w = 0, h = 0;
        size_t n = first_frame(tmp_path(p, sizeof p, dir), got, sizeof got, &w, &h);
        CHECK_MSG(n == 33 * 17 && ref.data && ref.stride == 33 * 3 &&
                      memcmp(got, ref.data, sizeof got) == 0,
                  "%s: folder decode differs from libpng", fmts[i]);
        shard_image_free(&ref);
    }
}

// Opens and reads to the end; returns the first failure and how many frames came before it.
static rt_status open_and_read(const char *path, const shard_video_params *p, int64_t *good) {
    shard_video *v = NULL;
    *good = 0;
    rt_status s = shard_video_open(path, p, &v);
    if (s != RT_OK) return s;
    shard_frame f;
    while ((s = shard_video_read(v, &f)) == RT_OK) (*good)++;
    if (s != SHARD_VIDEO_END) {
        char first[1024];
        snprintf(first, sizeof first, "%s", rt_error());
        CHECK(shard_video_read(v, &f) == s); // sticky, same message
        CHECK_EQ_STR(rt_error(), first);
    }
    shard_video_close(&v);
    return s == SHARD_VIDEO_END ? RT_OK : s;
}

static void expect_error(const char *what, const char *path, const shard_video_params *p,
                         rt_status want, const char *name_in_msg, const char *frame_in_msg,
                         int64_t good_frames) {
    int64_t good = -1;
    rt_error_clear();
    rt_status s = open_and_read(path, p, &good);
    printf("  %-22s -> %s: %s\n", what, rt_status_name(s), rt_error());
    CHECK_MSG(s == want, "%s: got %s, want %s (%s)", what, rt_status_name(s),
              rt_status_name(want), rt_error());
    CHECK_CONTAINS(rt_error(), name_in_msg);
    if (frame_in_msg) CHECK_CONTAINS(rt_error(), frame_in_msg);
    if (good_frames >= 0) CHECK_EQ_INT(good, good_frames);
}

static void test_broken_inputs(void) {
    char p[4096], q[4096];
    shard_video_params small;
    const char *src = "-f lavfi -i testsrc=size=64x48:rate=10:duration=2";
    char args[1024];
    snprintf(args, sizeof args, "%s -c:v libx264 -pix_fmt yuv420p ok.mp4", src);
    ff(args);
    snprintf(args, sizeof args, "%s -c:v libx264 -pix_fmt yuv420p -movflags +faststart fs.mp4",
             src);
    ff(args);
    // Truncations: moov at the end (lost), moov first (data cut mid-stream), header only.
    sh("head -c $(( $(stat -c %%s ok.mp4) / 2 )) ok.mp4 > trunc.mp4%s", "");
    sh("head -c $(( $(stat -c %%s fs.mp4) * 9 / 10 )) fs.mp4 > trunc_fs.mp4%s", "");
    sh("head -c 40 fs.mp4 > header.mp4%s", "");
    sh("head -c $(ffprobe -v error -show_entries packet=pos -of csv=p=0 fs.mp4 | tail -1) fs.mp4"
       " > cut_boundary.mp4%s", "");
    // An intact MP4 whose edit list hides leading samples (cut at a non-keyframe by copy).
    ff("-ss 1.05 -i fs.mp4 -c copy edited.mp4");
    sh("head -c 3000 /dev/urandom > garbage.mp4; : > empty.mp4%s", "");
    ff("-f lavfi -i sine=duration=0.2 audio.wav");
    // Resolution change mid-stream: two H.264 elementary streams of different sizes back to back.
    ff("-f lavfi -i testsrc=size=64x48:rate=10:duration=0.5 -c:v libx264 a.264");
    ff("-f lavfi -i testsrc=size=32x24:rate=10:duration=0.5 -c:v libx264 b.264");
    sh("cat a.264 b.264 > ab.264%s", "");
    sh("mkdir -p cj mix big%s", "");
    // Folders: a corrupt JPEG (frame 3), a zero-byte one, mixed sizes, empty, no images.
    ff("-f lavfi -i testsrc=size=64x48:rate=10:duration=0.6 -q:v 3 -start_number 1 "
       "cj/f%d.jpg");
    sh("head -c 2000 /dev/urandom > cj/f4.jpg%s", "");
    sh("mkdir -p zj && cp cj/f1.jpg cj/f2.jpg zj/ && : > zj/f3.jpg%s", "");
    ff("-f lavfi -i testsrc=size=64x48:rate=10:duration=0.3 -start_number 1 mix/f%d.png");
    ff("-f lavfi -i testsrc=size=48x64 -frames:v 1 mix/f4.png");
    sh("mkdir -p empty_dir noimg/sub.jpg && echo x > noimg/readme.txt && echo y > "
       "noimg/list.csv%s", "");
    // Absurd size: a valid 16400×2 PNG as a folder frame and as a single-image file.
    ff("-f lavfi -i color=c=blue:size=16400x2 -frames:v 1 big/f1.png");

    expect_error("nonexistent path", tmp_path(p, sizeof p, "nope.mp4"), NULL, RT_ERR_IO,
                 "nope.mp4", "No such file", -1);
    expect_error("zero-byte file", tmp_path(p, sizeof p, "empty.mp4"), NULL, RT_ERR_FORMAT,
                 "empty.mp4", "empty", -1);
    expect_error("garbage .mp4", tmp_path(p, sizeof p, "garbage.mp4"), NULL, RT_ERR_FORMAT,
                 "garbage.mp4", NULL, -1);
    expect_error("truncated mp4", tmp_path(p, sizeof p, "trunc.mp4"), NULL, RT_ERR_FORMAT,
                 "trunc.mp4", NULL, -1);
    expect_error("truncated faststart", tmp_path(p, sizeof p, "trunc_fs.mp4"), NULL,
                 RT_ERR_DECODE, "trunc_fs.mp4", "frame ", -1);
    expect_error("cut at packet boundary", tmp_path(p, sizeof p, "cut_boundary.mp4"), NULL,
                 RT_ERR_DECODE, "cut_boundary.mp4", "the file ends after 19 of the 20 packets",
                 -1);
    expect_error("header-only mp4", tmp_path(p, sizeof p, "header.mp4"), NULL, RT_ERR_FORMAT,
                 "header.mp4", NULL, -1);
    expect_error("audio only", tmp_path(p, sizeof p, "audio.wav"), NULL, RT_ERR_FORMAT,
                 "audio.wav", "no video stream", -1);
    expect_error("resolution change", tmp_path(p, sizeof p, "ab.264"), NULL, RT_ERR_FORMAT,
                 "ab.264", "frame 5 is 32x24", 5);
    snprintf(q, sizeof q, "%s/cj/f4.jpg", g_dir);
    expect_error("corrupt jpeg in folder", tmp_path(p, sizeof p, "cj"), NULL, RT_ERR_DECODE, q,
                 "frame 3", 3);
    snprintf(q, sizeof q, "%s/zj/f3.jpg", g_dir);
    expect_error("zero-byte jpeg", tmp_path(p, sizeof p, "zj"), NULL, RT_ERR_DECODE, q,
                 "frame 2", 2);
    snprintf(q, sizeof q, "%s/mix/f4.png", g_dir);
    expect_error("mixed sizes folder", tmp_path(p, sizeof p, "mix"), NULL, RT_ERR_FORMAT, q,
                 "frame 3 is 48x64 but frame 0 is 64x48", 3);
    expect_error("empty folder", tmp_path(p, sizeof p, "empty_dir"), NULL, RT_ERR_FORMAT,
                 "empty_dir", "empty", -1);
    expect_error("folder of non-images", tmp_path(p, sizeof p, "noimg"), NULL, RT_ERR_FORMAT,
                 "noimg", "3 other entries ignored", -1);
    snprintf(q, sizeof q, "%s/big/f1.png", g_dir);
    expect_error("absurd size (folder)", tmp_path(p, sizeof p, "big"), NULL, RT_ERR_FORMAT, q,
                 "16400x2, larger than allowed", -1);
    // The JPEG header is read before decoding too.
    small = shard_video_default_params();
    small.max_side = 60;
    snprintf(q, sizeof q, "%s/cj/f1.jpg", g_dir);
    expect_error("over max_side (jpeg)", tmp_path(p, sizeof p, "cj"), &small, RT_ERR_FORMAT, q,
                 "frame 0: the image is 64x48", -1);
    expect_error("absurd size (file)", tmp_path(p, sizeof p, "big/f1.png"), NULL, RT_ERR_FORMAT,
                 "f1.png", "16400x2", -1);
    small = shard_video_default_params();
    small.max_pixels = 1000;
    expect_error("over max_pixels", tmp_path(p, sizeof p, "ok.mp4"), &small, RT_ERR_FORMAT,
                 "ok.mp4", "64x48", -1);
    // The intact files still work.
    int64_t good = 0;
    CHECK(open_and_read(tmp_path(p, sizeof p, "fs.mp4"), NULL, &good) == RT_OK);
    CHECK_EQ_INT(good, 20);

    shard_video_info info;
    stats st;
    CHECK_EQ_INT(decode_all(tmp_path(p, sizeof p, "edited.mp4"), NULL, NULL, &info, &st), RT_OK);
    CHECK(st.frames > 0 && st.frames < info.frames);
    printf("  edited.mp4: %lld frames read, container lists %lld\n", (long long)st.frames,
           (long long)info.frames);

    shard_video *v = (shard_video *)&good;
    CHECK(shard_video_open(tmp_path(p, sizeof p, "ok.mp4"), NULL, &v) == RT_OK);
    shard_video_close(&v);
    CHECK(shard_video_open("", NULL, &v) == RT_ERR_INVAL);
    CHECK(v == NULL);
    small = shard_video_default_params();
    small.threads = -1;
    CHECK(shard_video_open(p, &small, &v) == RT_ERR_INVAL);
    CHECK(shard_video_read(NULL, NULL) == RT_ERR_INVAL);
    CHECK(shard_video_info_get(NULL) == NULL);
}

// Damage the decoder repairs: strict by default (an error naming file and frame), accepted with
// params.accept_concealed. Which bytes make H.264 conceal depends on the encoder, so several
// places are tried and at least one must be caught; none may crash or lose frames when lenient.
static void test_concealed_damage(void) {
    ff("-f lavfi -i testsrc=size=64x48:rate=10:duration=3 -c:v libx264 -pix_fmt yuv420p -g 10 "
       "-threads 1 base.mp4");
    char p[4096], q[4096];
    FILE *f = fopen(tmp_path(p, sizeof p, "base.mp4"), "rb");
    static uint8_t buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n > 4000 && n < sizeof buf);
    size_t mdat = 0;
    for (size_t i = 0; i + 4 < n && !mdat; i++)
        if (!memcmp(buf + i, "mdat", 4)) mdat = i;
    CHECK(mdat > 0);
    static const uint8_t junk[6] = {229, 25, 242, 130, 92, 71};
    shard_video_params lenient = shard_video_default_params();
    lenient.accept_concealed = 1;
    int caught = 0;
    for (size_t off = 1000; off <= 3000 && mdat && n > mdat + off + 6; off += 500) {
        static uint8_t bad[1 << 16];
        memcpy(bad, buf, n);
        memcpy(bad + mdat + off, junk, sizeof junk);
        test_write_file(tmp_path(p, sizeof p, "damaged.mp4"), bad, n);
        int64_t good = 0;
        rt_status s = open_and_read(p, NULL, &good);
        CHECK_MSG(s == RT_OK || s == RT_ERR_DECODE, "offset %zu: %s", off, rt_error());
        if (s == RT_ERR_DECODE && strstr(rt_error(), "conceal")) {
            caught++;
            CHECK_CONTAINS(rt_error(), "damaged.mp4: frame ");
        }
        s = open_and_read(p, &lenient, &good);
        CHECK_MSG(s == RT_OK && good == 30, "offset %zu lenient: %lld frames, %s", off,
                  (long long)good, rt_error());
    }
    CHECK_MSG(caught > 0, "no concealed H.264 frame was reported");
    printf("  concealed H.264 damage caught at %d of 5 places\n", caught);

    // A JPEG cut short (no end marker) in a folder.
    sh("mkdir -p %s", "tj");
    ff("-f lavfi -i testsrc=size=64x48:rate=10:duration=0.4 -q:v 3 -start_number 1 tj/f%d.jpg");
    sh("head -c $(( $(stat -c %%s tj/f2.jpg) * 7 / 10 )) tj/f2.jpg > tj/f3.jpg%s", "");
    int64_t good = 0;
    snprintf(q, sizeof q, "%s/tj/f3.jpg", g_dir);
    tmp_path(p, sizeof p, "tj");
    CHECK_EQ_INT(open_and_read(p, NULL, &good), RT_ERR_DECODE);
    CHECK_CONTAINS(rt_error(), q);
    CHECK_CONTAINS(rt_error(), "frame 2");
    CHECK_EQ_INT(good, 2);
    CHECK_EQ_INT(open_and_read(p, &lenient, &good), RT_OK);
    CHECK_EQ_INT(good, 4);
}

static long peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = ru.ru_maxrss;
    }
    return kb;
}

// 2000 frames: our allocations stay at zero per frame and the peak RSS does not move.
static void test_flat_memory(void) {
    if (!ff("-f lavfi -i testsrc=size=64x48:rate=100:duration=20 -c:v libx264 -preset "
            "ultrafast -pix_fmt yuv420p long.mp4"))
        return;
    char p[4096];
    shard_video *v = NULL;
    CHECK(shard_video_open(tmp_path(p, sizeof p, "long.mp4"), NULL, &v) == RT_OK);
    if (!v) return;
    shard_frame f;
    long rss100 = 0;
    uint64_t allocs100 = 0;
    int64_t n = 0;
    rt_status s;
    while ((s = shard_video_read(v, &f)) == RT_OK) {
        n++;
        if (n == 100) {
            rss100 = peak_rss_kb();
            allocs100 = rt_alloc_count();
        }
    }
    long rss2000 = peak_rss_kb();
    CHECK(s == SHARD_VIDEO_END);
    CHECK_EQ_INT(n, 2000);
    CHECK_EQ_INT(rt_alloc_count() - allocs100, 0);
    printf("  flat memory: VmHWM %ld kB after frame 100, %ld kB after frame 2000 (+%ld kB)\n",
           rss100, rss2000, rss2000 - rss100);
#ifndef __SANITIZE_ADDRESS__
    // (ASan's quarantine holds freed blocks, so only the plain build checks RSS.)
    CHECK_MSG(rss2000 - rss100 < 1024, "peak RSS grew by %ld kB", rss2000 - rss100);
#endif
    shard_video_close(&v);
}

int main(void) {
    char out[256];
    if (test_run_cmd("ffmpeg -hide_banner -version", out, sizeof out) != 0)
        test_skip("no ffmpeg CLI to make the test inputs");
    av_log_set_level(AV_LOG_QUIET); // the broken inputs make libav log; our messages are checked
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    TEST_RUN(test_containers);
    TEST_RUN(test_gradient_pixels);
    TEST_RUN(test_png_folder);
    TEST_RUN(test_jpeg_folder);
    TEST_RUN(test_natural_order);
    TEST_RUN(test_opencv_parity);
    TEST_RUN(test_png_layouts);
    TEST_RUN(test_broken_inputs);
    TEST_RUN(test_concealed_damage);
    TEST_RUN(test_flat_memory);
    return test_finish();
}
