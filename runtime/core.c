#include "runtime/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RT_ERROR_MAX 1024

// Per-thread diagnostics: the last error and the allocation counters.
static _Thread_local char tl_error[RT_ERROR_MAX];
static _Thread_local rt_status tl_status;
static _Thread_local uint64_t tl_alloc_count;
static _Thread_local uint64_t tl_alloc_fail_at;

// Written once at start-up, before any thread exists.
static rt_abort_hook g_abort_hook;

const char *rt_status_name(rt_status s) {
    switch (s) {
#define RT_X_NAME(name, value, text)                                                               \
    case name: return #name;
        RT_STATUS_LIST(RT_X_NAME)
#undef RT_X_NAME
    }
    return "RT_ERR_UNKNOWN";
}

const char *rt_status_text(rt_status s) {
    switch (s) {
#define RT_X_TEXT(name, value, text)                                                               \
    case name: return text;
        RT_STATUS_LIST(RT_X_TEXT)
#undef RT_X_TEXT
    }
    return "unknown error";
}

rt_status rt_error_setv(rt_status s, const char *fmt, va_list ap) {
    vsnprintf(tl_error, sizeof tl_error, fmt, ap);
    tl_status = s;
    return s;
}

rt_status rt_error_set(rt_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rt_error_setv(s, fmt, ap);
    va_end(ap);
    return s;
}

rt_status rt_error_wrap(rt_status s, const char *fmt, ...) {
    char prefix[RT_ERROR_MAX], old[RT_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tl_error, sizeof old);
    // Truncation is fine for a diagnostic; build the message piecewise to say so.
    size_t n = strlen(prefix);
    if (n >= sizeof tl_error) n = sizeof tl_error - 1;
    memcpy(tl_error, prefix, n);
    if (old[0] && n + 2 < sizeof tl_error) {
        memcpy(tl_error + n, ": ", 2);
        n += 2;
        size_t m = strlen(old);
        if (m > sizeof tl_error - 1 - n) m = sizeof tl_error - 1 - n;
        memcpy(tl_error + n, old, m);
        n += m;
    }
    tl_error[n] = '\0';
    tl_status = s;
    return s;
}

const char *rt_error(void) { return tl_error; }
rt_status rt_error_status(void) { return tl_status; }

void rt_error_clear(void) {
    tl_error[0] = '\0';
    tl_status = RT_OK;
}

void rt_set_abort_hook(rt_abort_hook hook) { g_abort_hook = hook; }

_Noreturn void rt_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "pcan: %s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    if (g_abort_hook) g_abort_hook();
    abort();
}

static int alloc_should_fail(void) {
    if (tl_alloc_fail_at == 0) return 0;
    if (--tl_alloc_fail_at == 0) return 1;
    return 0;
}

void *rt_malloc(size_t n) {
    if (alloc_should_fail()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) tl_alloc_count++;
    return p;
}

void *rt_calloc(size_t count, size_t size) {
    if (alloc_should_fail()) return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p) tl_alloc_count++;
    return p;
}

void *rt_realloc(void *p, size_t n) {
    if (alloc_should_fail()) return NULL;
    void *q = realloc(p, n ? n : 1);
    if (q) tl_alloc_count++;
    return q;
}

void rt_free(void *p) { free(p); }

char *rt_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = rt_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

uint64_t rt_alloc_count(void) { return tl_alloc_count; }
void rt_alloc_fail_after(uint64_t n) { tl_alloc_fail_at = n; }

#define RT_ARENA_ALIGN 64

rt_status rt_arena_init(rt_arena *a, size_t size) {
    memset(a, 0, sizeof *a);
    if (size == 0) return RT_OK;
    a->base = rt_malloc(size + RT_ARENA_ALIGN);
    if (!a->base) return rt_error_set(RT_ERR_NOMEM, "arena: cannot reserve %zu bytes", size);
    a->size = size + RT_ARENA_ALIGN;
    return RT_OK;
}

void rt_arena_free(rt_arena *a) {
    if (!a) return;
    rt_free(a->base);
    memset(a, 0, sizeof *a);
}

void *rt_arena_alloc(rt_arena *a, size_t n) {
    uintptr_t start = (uintptr_t)a->base + a->used;
    uintptr_t aligned = (start + RT_ARENA_ALIGN - 1) & ~(uintptr_t)(RT_ARENA_ALIGN - 1);
    size_t need = (size_t)(aligned - start) + n;
    if (!a->base || need > a->size - a->used) {
        rt_error_set(RT_ERR_NOMEM, "arena exhausted: %zu of %zu bytes used, %zu more requested",
                     a->used, a->size, n);
        return NULL;
    }
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return (void *)aligned;
}

void rt_arena_reset(rt_arena *a) { a->used = 0; }

double rt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
