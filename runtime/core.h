// core — status codes, the per-thread last error, counted allocation and the arena.
//
// Every layer reports failures that input can cause with an `rt_status` and a message in the
// calling thread's last-error buffer:
//
//     if (rt_model_open(path, &params, &model) != RT_OK)
//         fprintf(stderr, "pcan: %s\n", rt_error());
//
// Foreign error styles (libyaml marks, AVERROR, herr_t, MPI classes) are translated where they
// are called. Asserts (RT_ASSERT) are for bugs only and are always on.
//
// All heap use goes through rt_malloc/rt_calloc/rt_realloc/rt_free, which count calls per thread
// so that tests can check the per-frame path allocates nothing and can make the Nth call fail.
#ifndef PCAN_RUNTIME_CORE_H
#define PCAN_RUNTIME_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

// X(name, value, text)
#define RT_STATUS_LIST(X)                                   \
    X(RT_OK, 0, "ok")                                       \
    X(RT_ERR_NOMEM, -1, "out of memory")                    \
    X(RT_ERR_IO, -2, "i/o error")                           \
    X(RT_ERR_FORMAT, -3, "bad file format")                 \
    X(RT_ERR_SHAPE, -4, "shape mismatch")                   \
    X(RT_ERR_CONFIG, -5, "invalid configuration")           \
    X(RT_ERR_DECODE, -6, "decode error")                    \
    X(RT_ERR_HDF5, -7, "hdf5 error")                        \
    X(RT_ERR_MPI, -8, "mpi error")                          \
    X(RT_ERR_INVAL, -9, "invalid argument")                 \
    X(RT_ERR_INTERRUPTED, -10, "interrupted")

typedef enum rt_status {
#define RT_X_ENUM(name, value, text) name = value,
    RT_STATUS_LIST(RT_X_ENUM)
#undef RT_X_ENUM
} rt_status;

// "RT_ERR_IO" etc.; never NULL.
const char *rt_status_name(rt_status s);
// "i/o error" etc.; never NULL.
const char *rt_status_text(rt_status s);

// Sets the calling thread's last error message (printf-style) and returns `s`, so that
// `return rt_error_set(RT_ERR_IO, "%s: %s", path, strerror(errno));` reads naturally.
rt_status rt_error_set(rt_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
rt_status rt_error_setv(rt_status s, const char *fmt, va_list ap);
// Prepends "prefix: " to the current message (to add context on the way up).
rt_status rt_error_wrap(rt_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// The calling thread's last message; "" when none. Valid until the next rt_error_* call.
const char *rt_error(void);
rt_status rt_error_status(void);
void rt_error_clear(void);

// Bugs only. Always on. Prints file:line and the expression, then aborts (in MPI programs the
// abort hook installed by cmd/ calls MPI_Abort).
#define RT_ASSERT(x)                                                   \
    do {                                                               \
        if (!(x)) rt_assert_fail(__FILE__, __LINE__, #x);              \
    } while (0)
_Noreturn void rt_assert_fail(const char *file, int line, const char *expr);
typedef void (*rt_abort_hook)(void);
// Installs the hook rt_assert_fail calls before abort(); not thread-safe, call once at start-up.
void rt_set_abort_hook(rt_abort_hook hook);

// Counted allocation. rt_malloc(0) returns a unique non-NULL pointer. All are thread-safe; the
// counters are per thread.
void *rt_malloc(size_t n);
void *rt_calloc(size_t count, size_t size);
void *rt_realloc(void *p, size_t n);
void rt_free(void *p);
char *rt_strdup(const char *s);
// Number of successful rt_malloc/rt_calloc/rt_realloc calls made by this thread.
uint64_t rt_alloc_count(void);
// Make this thread's Nth allocation from now fail (1 = the next one); 0 disables.
void rt_alloc_fail_after(uint64_t n);

// Arena: one block reserved up front; allocations are bumped and released together by
// rt_arena_reset. Used for per-frame activations so that the frame path never calls malloc.
typedef struct rt_arena {
    uint8_t *base;
    size_t size;
    size_t used;
    size_t peak;
} rt_arena;

rt_status rt_arena_init(rt_arena *a, size_t size);
void rt_arena_free(rt_arena *a);
// 64-byte aligned; NULL (with RT_ERR_NOMEM set) when the arena is exhausted, which is a sizing
// bug in the caller.
void *rt_arena_alloc(rt_arena *a, size_t n);
void rt_arena_reset(rt_arena *a);

// Monotonic clock in seconds, for timings and progress.
double rt_now(void);

#define RT_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
#define RT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RT_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
