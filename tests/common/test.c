#include "tests/test.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

test_state test_g;

void test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    test_g.failures++;
    fprintf(stderr, "%s:%d: [%s] ", file, line, test_g.current ? test_g.current : "-");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

_Noreturn void test_skip(const char *why) {
    printf("SKIP: %s\n", why);
    fflush(stdout);
    exit(77);
}

int test_finish(void) {
    printf("%d tests, %d checks, %d failures\n", test_g.tests, test_g.checks, test_g.failures);
    return test_g.failures ? 1 : 0;
}

const char *test_tmpdir(void) {
    static char dir[4096];
    if (dir[0]) return dir;
    const char *base = getenv("PCAN_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/t.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "test: mkdtemp %s: %s\n", dir, strerror(errno));
        exit(1);
    }
    return dir;
}

const char *test_pcan(void) {
    static char path[4096];
    if (path[0]) return path;
    const char *p = getenv("PCAN");
    if (p && *p)
        snprintf(path, sizeof path, "%s", p);
    else if (!realpath("bin/pcan", path))
        snprintf(path, sizeof path, "bin/pcan");
    return path;
}

int test_run_in(const char *dir, char *out, size_t cap, const char *fmt, ...) {
    char body[24576], cmd[32768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", dir, body);
    return test_run_cmd(cmd, out, cap);
}

int test_run_cmd(const char *cmd, char *out, size_t cap) {
    char full[32800];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *f = popen(full, "r");
    if (!f) return -1;
    size_t n = 0;
    if (out && cap) {
        size_t r;
        while (n + 1 < cap && (r = fread(out + n, 1, cap - 1 - n, f)) > 0) n += r;
        out[n] = '\0';
    }
    char sink[4096];
    while (fread(sink, 1, sizeof sink, f) > 0) {
    }
    int st = pclose(f);
    if (st == -1) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

static void mkdirs_for(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(buf, 0755);
        *p = '/';
    }
}

void test_write_file(const char *path, const void *data, size_t n) {
    mkdirs_for(path);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "test: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

void test_write_text(const char *path, const char *text) { test_write_file(path, text, strlen(text)); }
