// h5util — small helpers over the HDF5 C API shared by the weights loader, archives and info.
//
// HDF5 prints its error stack to stderr by default; rt_h5_quiet() turns that off for the
// calling thread's default stack so that our own messages are the only ones a user sees.
// Not collective: these helpers only read.
#ifndef PCAN_RUNTIME_H5UTIL_H
#define PCAN_RUNTIME_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>

#include "runtime/core.h"

void rt_h5_quiet(void);

// Reads string attribute `name` of object `obj` (variable- or fixed-length) into buf.
// RT_ERR_FORMAT when missing or not a string; truncates to cap-1 bytes.
rt_status rt_h5_attr_string(hid_t obj, const char *name, char *buf, size_t cap);
// The same, allocating the result with rt_malloc (for long texts such as configs).
rt_status rt_h5_attr_string_alloc(hid_t obj, const char *name, char **out);
// Reads an integer scalar attribute. RT_ERR_FORMAT when missing or not an integer.
rt_status rt_h5_attr_int(hid_t obj, const char *name, long long *out);
// 1 when the attribute exists, 0 when not.
int rt_h5_attr_exists(hid_t obj, const char *name);

#endif
