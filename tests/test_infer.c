// pcan infer: mp4, mkv, webm and a JPEG folder made by ffmpeg; the one-video archive equals what
// `pcan run` writes for the same video; broken inputs exit 1 naming the file and leave no output;
// bad arguments exit 2.
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "merge/archive.h"
#include "runtime/h5util.h"
#include "tests/test.h"

static char g_dir[4096], g_weights[4200];

static int sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t cap, const char *fmt, ...) {
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char buf[8192];
    return test_run_cmd(cmd, out ? out : buf, out ? cap : sizeof buf);
}

static int infer(const char *input, const char *out_name, char *log, size_t cap) {
    return sh(log, cap, "cd '%s' && '%s' infer '%s' --weights '%s' --out '%s' --threads 1", g_dir,
              test_pcan(), input, g_weights, out_name);
}

static int exists(const char *name) {
    char p[8400];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return stat(p, &sb) == 0;
}

// Every row of video `id` in two archives is identical.
static void same_rows(const char *a_path, const char *b_path, const char *id) {
    merge_archive *a = NULL, *b = NULL;
    CHECK_EQ_INT(merge_archive_open(a_path, &a), RT_OK);
    CHECK_EQ_INT(merge_archive_open(b_path, &b), RT_OK);
    if (!a || !b) goto out;
    long ia = merge_archive_find(a, id), ib = merge_archive_find(b, id);
    CHECK(ia >= 0 && ib >= 0);
    if (ia < 0 || ib < 0) goto out;
    merge_archive_rows ra, rb;
    merge_archive_rows_init(&ra);
    merge_archive_rows_init(&rb);
    CHECK_EQ_INT(merge_archive_read_rows(a, (size_t)ia, &ra), RT_OK);
    CHECK_EQ_INT(merge_archive_read_rows(b, (size_t)ib, &rb), RT_OK);
    CHECK_EQ_INT(ra.n, rb.n);
    CHECK(ra.n > 0);
    if (ra.n == rb.n && ra.n) {
        CHECK(!memcmp(ra.frame, rb.frame, ra.n * sizeof *ra.frame));
        CHECK(!memcmp(ra.track_id, rb.track_id, ra.n * sizeof *ra.track_id));
        CHECK(!memcmp(ra.label, rb.label, ra.n * sizeof *ra.label));
        CHECK(!memcmp(ra.score, rb.score, ra.n * sizeof *ra.score));
        CHECK(!memcmp(ra.box, rb.box, ra.n * 4 * sizeof *ra.box));
        CHECK(!memcmp(ra.rle_start, rb.rle_start, (ra.n + 1) * sizeof *ra.rle_start));
        CHECK(!memcmp(ra.rle, rb.rle, ra.rle_start[ra.n] * sizeof *ra.rle));
    }
    CHECK_EQ_INT(merge_archive_video_at(a, (size_t)ia)->frames,
                 merge_archive_video_at(b, (size_t)ib)->frames);
    merge_archive_rows_free(&ra);
    merge_archive_rows_free(&rb);
out:
    merge_archive_close(&a);
    merge_archive_close(&b);
}

static void test_formats_and_equal_to_run(void) {
    char log[8192];
    int rc =
        sh(log, sizeof log,
           "cd '%s' && '%s' synth --out data --videos 1 --frames 5 --seed 4 --size 160x96 "
           "&& mkdir -p out other && printf 'dataset: {format: videos, root: data/videos}\\n"
           "model: {weights: %s}\\noutput: {archive: out/run.h5}\\nrun: {threads_per_rank: 1}\\n'"
           " > job.yaml && '%s' run job.yaml",
           g_dir, test_pcan(), g_weights, test_pcan());
    CHECK_MSG(rc == 0, "run: %s", log);
    rc = infer("data/videos/0000.mp4", "out/one.h5", log, sizeof log);
    CHECK_MSG(rc == 0, "infer: %s", log);
    CHECK_CONTAINS(log, "wrote out/one.h5");
    char a[8400], b[8400];
    snprintf(a, sizeof a, "%s/out/run.h5", g_dir);
    snprintf(b, sizeof b, "%s/out/one.h5", g_dir);
    same_rows(a, b, "0000");
    // the same video in other containers and as a JPEG folder
    rc = sh(log, sizeof log,
            "cd '%s' && ffmpeg -v error -i data/videos/0000.mp4 -c:v libx264 -crf 0 other/v.mkv && "
            "ffmpeg -v error -i data/videos/0000.mp4 -c:v libvpx-vp9 -lossless 1 other/v.webm && "
            "mkdir other/jpg && ffmpeg -v error -i data/videos/0000.mp4 -q:v 2 other/jpg/%%04d.jpg",
            g_dir);
    CHECK_MSG(rc == 0, "ffmpeg: %s", log);
    const char *inputs[] = {"other/v.mkv", "other/v.webm", "other/jpg"};
    for (int i = 0; i < 3; i++) {
        char outn[64];
        snprintf(outn, sizeof outn, "out/o%d.h5", i);
        rc = infer(inputs[i], outn, log, sizeof log);
        CHECK_MSG(rc == 0, "%s: %s", inputs[i], log);
        rc = sh(log, sizeof log, "cd '%s' && '%s' info %s", g_dir, test_pcan(), outn);
        CHECK_CONTAINS(log, "videos: 1 (1 ok, 0 failed)");
        CHECK_CONTAINS(log, "frames: 5");
    }
    // no temp folders left next to the outputs
    rc = sh(log, sizeof log, "ls -a '%s/out'", g_dir);
    CHECK(strstr(log, ".infer.") == NULL);
}

static void test_broken_inputs(void) {
    char log[8192];
    int rc =
        sh(log, sizeof log,
           "cd '%s' && mkdir -p bad && : > bad/zero.mp4 && head -c 5000 /dev/urandom > "
           "bad/garbage.mp4 && ffmpeg -v error -f lavfi -i testsrc=size=96x64:rate=10 -t 2 "
           "-c:v libx264 bad/full.mp4 && head -c 2000 bad/full.mp4 > bad/truncated.mp4 && "
           "head -c 48 bad/full.mp4 > bad/header.mp4 && echo hello > bad/text.mkv && "
           "mkdir bad/empty bad/notimages bad/corrupt bad/mixed && echo x > bad/notimages/a.txt"
           " && ffmpeg -v error -f lavfi -i testsrc=size=64x48 -frames:v 2 bad/corrupt/%%02d.jpg"
           " && head -c 300 bad/corrupt/01.jpg > bad/corrupt/03.jpg && "
           "ffmpeg -v error -f lavfi -i testsrc=size=64x48 -frames:v 1 bad/mixed/1.png && "
           "ffmpeg -v error -f lavfi -i testsrc=size=32x48 -frames:v 1 bad/mixed/2.png && "
           "ffmpeg -v error -f lavfi -i sine=frequency=440 -t 1 bad/audio.mp4",
           g_dir);
    CHECK_MSG(rc == 0, "making broken inputs: %s", log);
    const char *bad[] = {"bad/zero.mp4", "bad/garbage.mp4", "bad/truncated.mp4", "bad/header.mp4",
                         "bad/text.mkv", "bad/empty",       "bad/notimages",     "bad/corrupt",
                         "bad/mixed",    "bad/audio.mp4"};
    for (size_t i = 0; i < RT_COUNTOF(bad); i++) {
        rc = infer(bad[i], "out/bad.h5", log, sizeof log);
        CHECK_MSG(rc == 1, "%s: exit %d: %s", bad[i], rc, log);
        CHECK_MSG(strstr(log, bad[i]) != NULL, "%s: message does not name the input: %s", bad[i],
                  log);
        CHECK_MSG(!exists("out/bad.h5"), "%s left an output file", bad[i]);
    }
    rc = sh(log, sizeof log, "ls -a '%s/out'", g_dir);
    CHECK(strstr(log, ".infer.") == NULL);
}

static void test_usage(void) {
    char log[8192];
    CHECK_EQ_INT(infer("nope.mp4", "out/x.h5", log, sizeof log), 2);
    CHECK_CONTAINS(log, "nope.mp4");
    CHECK_EQ_INT(infer("data/videos/0000.mp4", "/nonexistent-dir/x.h5", log, sizeof log), 2);
    CHECK_CONTAINS(log, "not writable");
    CHECK_EQ_INT(sh(log, sizeof log,
                    "cd '%s' && '%s' infer data/videos/0000.mp4 --weights job.yaml "
                    "--out out/x.h5",
                    g_dir, test_pcan()),
                 2);
    CHECK_EQ_INT(sh(log, sizeof log, "cd '%s' && '%s' infer data/videos/0000.mp4 --out x.h5", g_dir,
                    test_pcan()),
                 2);
    CHECK_CONTAINS(log, "missing --weights");
    CHECK(!exists("out/x.h5"));
}

int main(void) {
    rt_h5_quiet();
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    snprintf(g_weights, sizeof g_weights, "%s/tests/fixtures/tiny.weights.h5", cwd);
    TEST_RUN(test_formats_and_equal_to_run);
    TEST_RUN(test_broken_inputs);
    TEST_RUN(test_usage);
    return test_finish();
}
