// sha256 — SHA-256 (FIPS 180-4) of memory and of files, as lowercase hex.
//
//     rt_sha256 s;
//     rt_sha256_init(&s);
//     rt_sha256_update(&s, data, n);            // any number of times
//     uint8_t digest[32];
//     rt_sha256_final(&s, digest);
//     char hex[RT_SHA256_HEX_LEN + 1];
//     rt_sha256_hex(digest, hex);
//
// Used for the weights file identity, the archive's model hash and the resume hash. The state is
// a plain value that holds no resources (no free needed); one state must not be shared between
// threads, distinct states are independent.
#ifndef PCAN_RUNTIME_SHA256_H
#define PCAN_RUNTIME_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/core.h"

#define RT_SHA256_LEN 32
#define RT_SHA256_HEX_LEN 64

typedef struct rt_sha256 {
    uint32_t h[8];
    uint64_t total; // bytes hashed so far
    uint8_t block[64];
    size_t fill; // bytes waiting in block
} rt_sha256;

void rt_sha256_init(rt_sha256 *s);
void rt_sha256_update(rt_sha256 *s, const void *data, size_t n);
// Writes the digest; `s` must be re-initialised before it is used again.
void rt_sha256_final(rt_sha256 *s, uint8_t digest[RT_SHA256_LEN]);
// 64 lowercase hex digits and a terminating NUL.
void rt_sha256_hex(const uint8_t digest[RT_SHA256_LEN], char hex[RT_SHA256_HEX_LEN + 1]);
// One-shot digest of a buffer, as hex.
void rt_sha256_buffer_hex(const void *data, size_t n, char hex[RT_SHA256_HEX_LEN + 1]);
// Hex digest of a whole file. RT_ERR_IO (naming the path) when it cannot be opened or read,
// RT_ERR_NOMEM when the read buffer cannot be allocated.
rt_status rt_sha256_file_hex(const char *path, char hex[RT_SHA256_HEX_LEN + 1]);

#endif
