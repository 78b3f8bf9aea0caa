// test.h — the small test harness every tests/test_*.c program uses.
//
//     static void test_parse(void) { CHECK_EQ_INT(f(2), 4); }
//     int main(void) { TEST_RUN(test_parse); return test_finish(); }
//
// Each CHECK prints file:line and the values on failure and counts it; the program exits 1 when
// any check failed. test_skip("why") exits 77, which tests/run.sh reports as skipped.
#ifndef PCAN_TESTS_TEST_H
#define PCAN_TESTS_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_state {
    int checks;
    int failures;
    int tests;
    const char *current;
} test_state;

extern test_state test_g;

void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void test_skip(const char *why);
int test_finish(void);

// A fresh temporary directory for this test program (removed by tests/run.sh); path is static.
const char *test_tmpdir(void);
// Absolute path of the pcan binary under test (from $PCAN, else bin/pcan).
const char *test_pcan(void);
// Runs a shell command, captures stdout+stderr (up to cap-1 bytes) and returns the exit code
// (or 128+signal).
int test_run_cmd(const char *cmd, char *out, size_t cap);
// The same for a printf-formatted command run in folder dir (`cd 'dir' && ...`).
int test_run_in(const char *dir, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
// Writes `n` bytes to path (creating parent directories as needed); aborts the test on failure.
void test_write_file(const char *path, const void *data, size_t n);
void test_write_text(const char *path, const char *text);

#define TEST_RUN(fn)                                  \
    do {                                              \
        int before_ = test_g.failures;                \
        test_g.current = #fn;                         \
        test_g.tests++;                               \
        fn();                                         \
        printf("%s %s\n", test_g.failures == before_ ? "ok  " : "FAIL", #fn); \
        fflush(stdout);                               \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        test_g.checks++;                                                       \
        if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);        \
    } while (0)

#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        test_g.checks++;                                                       \
        if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__);               \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        test_g.checks++;                                                       \
        if (a_ != b_)                                                          \
            test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        test_g.checks++;                                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                 \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,  \
                      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                 \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                            \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        test_g.checks++;                                                       \
        if (!h_ || !strstr(h_, n_))                                            \
            test_fail(__FILE__, __LINE__, "%s contains \"%s\"; it is: \"%s\"", #hay, n_, \
                      h_ ? h_ : "(null)");                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);          \
        test_g.checks++;                                                       \
        if (!(fabs(a_ - b_) <= t_))                                            \
            test_fail(__FILE__, __LINE__, "%s ~ %s: %.17g vs %.17g (tol %g)", #a, #b, a_, b_, t_); \
    } while (0)

#endif
