// Status table, last error, counted allocation with fault injection, arena.
#include "runtime/core.h"
#include "tests/test.h"

static void test_status_names(void) {
    CHECK_EQ_STR(rt_status_name(RT_OK), "RT_OK");
    CHECK_EQ_STR(rt_status_name(RT_ERR_SHAPE), "RT_ERR_SHAPE");
    CHECK_EQ_STR(rt_status_text(RT_ERR_IO), "i/o error");
    CHECK_EQ_STR(rt_status_name((rt_status)-999), "RT_ERR_UNKNOWN");
}

static void test_error_wrap(void) {
    rt_error_clear();
    CHECK_EQ_STR(rt_error(), "");
    CHECK_EQ_INT(rt_error_set(RT_ERR_IO, "open %s", "x.h5"), RT_ERR_IO);
    CHECK_EQ_STR(rt_error(), "open x.h5");
    rt_error_wrap(RT_ERR_FORMAT, "weights '%s'", "w.h5");
    CHECK_EQ_STR(rt_error(), "weights 'w.h5': open x.h5");
    CHECK_EQ_INT(rt_error_status(), RT_ERR_FORMAT);
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rt_error_wrap(RT_ERR_IO, "%s", big); // truncated, not overflowed
    CHECK(strlen(rt_error()) < 1024);
}

static void test_alloc_counting(void) {
    uint64_t n0 = rt_alloc_count();
    void *p = rt_malloc(10), *q = rt_calloc(3, 4);
    CHECK(p && q);
    CHECK_EQ_INT(rt_alloc_count() - n0, 2);
    rt_free(p);
    rt_free(q);
    rt_alloc_fail_after(2);
    p = rt_malloc(1);
    q = rt_malloc(1);
    CHECK(p != NULL);
    CHECK(q == NULL);
    rt_free(p);
    p = rt_malloc(1); // injection is one-shot
    CHECK(p != NULL);
    rt_free(p);
}

static void test_arena(void) {
    rt_arena a;
    CHECK_EQ_INT(rt_arena_init(&a, 1000), RT_OK);
    uint64_t n0 = rt_alloc_count();
    char *x = rt_arena_alloc(&a, 100), *y = rt_arena_alloc(&a, 100);
    CHECK(x && y && y >= x + 100);
    CHECK_EQ_INT((uintptr_t)x % 64, 0);
    CHECK_EQ_INT((uintptr_t)y % 64, 0);
    CHECK(rt_arena_alloc(&a, 5000) == NULL);
    CHECK_EQ_INT(rt_error_status(), RT_ERR_NOMEM);
    rt_arena_reset(&a);
    CHECK(rt_arena_alloc(&a, 900) == x);
    CHECK_EQ_INT(rt_alloc_count(), n0); // the arena never touches the heap after init
    rt_arena_free(&a);
    rt_arena_free(&a); // idempotent
}

int main(void) {
    TEST_RUN(test_status_names);
    TEST_RUN(test_error_wrap);
    TEST_RUN(test_alloc_counting);
    TEST_RUN(test_arena);
    return test_finish();
}
