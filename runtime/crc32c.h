// crc32c — CRC-32C (Castagnoli), the checksum of spool entries.
//
//     uint32_t c = rt_crc32c(0, header, n1);
//     c = rt_crc32c(c, payload, n2);          // chains: same as one call over both buffers
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (several GB/s, so checking 100k spool
// entries at merge time costs no more than reading them) and a bitwise loop otherwise; both give
// the same values (check value of "123456789" is 0xe3069283). Pure function: thread-safe, holds
// no state and no tables.
#ifndef PCAN_RUNTIME_CRC32C_H
#define PCAN_RUNTIME_CRC32C_H

#include <stddef.h>
#include <stdint.h>

// Continues the CRC `crc` (0 to start) over n bytes.
uint32_t rt_crc32c(uint32_t crc, const void *data, size_t n);

#endif
