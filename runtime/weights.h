// weights — the pcan weight file (HDF5, format "pcan-weights", version 1) and its tensors.
//
//     rt_weights *w = NULL;
//     if (rt_weights_open("pcan-r50.weights.h5", &w) != RT_OK) goto fail;   // reads everything
//     const rt_model_config *cfg = rt_weights_config(w);
//     const float *mu0;
//     int64_t shape[3] = {1, cfg->fpn.out_channels, cfg->pcam.prototypes};
//     if (rt_weights_get(w, "mu0", 3, shape, &mu0) != RT_OK) goto fail;
//     ...                                   // every tensor the network needs
//     if (rt_weights_check_all_used(w) != RT_OK) goto fail;   // names every tensor left over
//     rt_weights_close(&w);                 // frees every tensor; copy what you keep
//
// The file format ("pcan-weights", version 1; written by tools/pth2h5.py and tools/ref, this
// comment is the reference):
//   - one dataset per PyTorch state_dict key, at the root, named exactly by the key
//     ("backbone.layer1.0.conv1.weight", "roi_head.refine_head.pos_mu", "mu0"), with the tensor's
//     shape; float32 little-endian, except the BatchNorm `num_batches_tracked` buffers, which are
//     int64 scalars (HDF5 scalar dataspace); contiguous, uncompressed, no object timestamps;
//   - root attributes: `format` = "pcan-weights"; `version` = 1 (int32 scalar); `name`; `config`
//     (the model configuration as YAML, every key present: runtime/model_config.h);
//     `source_sha256` (64 lowercase hex digits: sha256 of the source checkpoint, or of the
//     recipe/seed text for generated weights). Strings are variable-length UTF-8 as h5py writes
//     them; fixed-length strings are accepted too.
// The key set of a config is rt_weights_expected(); for the official config it is the 397 keys
// of tests/data/pcan-r50-bdd100k-mots.keys.tsv.
//
// rt_weights_open reads the attributes, parses the config strictly, reads every tensor into one
// block of memory (float32 or int64, converted to native byte order; ~250 MB for R50) and hashes
// the file. Tensors are owned by the rt_weights object and stay valid until rt_weights_close, so
// a model that keeps weights copies (or folds) them and then closes the file. Versions other than
// 1 are refused.
//
// Thread safety: the HDF5 library is not thread-safe, so open/close must not run while another
// thread makes HDF5 calls. rt_weights_get and friends mark tensors as used and so must be called
// from one thread at a time; the returned data is read-only and may be shared between threads.
//
// Errors (message always names the file and, where it applies, the tensor or attribute):
//   RT_ERR_IO      the file cannot be opened or read;
//   RT_ERR_FORMAT  not HDF5, damaged or truncated, wrong/missing attribute, unsupported version,
//                  missing or extra tensor, wrong dtype;
//   RT_ERR_SHAPE   a tensor's shape differs from the one requested;
//   RT_ERR_CONFIG  the config attribute is not a valid model config;
//   RT_ERR_HDF5    an HDF5 call failed on a file that otherwise looked valid;
//   RT_ERR_NOMEM.
#ifndef PCAN_RUNTIME_WEIGHTS_H
#define PCAN_RUNTIME_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/core.h"
#include "runtime/model_config.h"
#include "runtime/sha256.h"

#define RT_WEIGHTS_FORMAT "pcan-weights"
#define RT_WEIGHTS_VERSION 1
#define RT_WEIGHTS_KEY_MAX 128 // bytes of a tensor name, including the NUL
#define RT_WEIGHTS_MAX_DIMS 4
// BatchNorm epsilon used by rt_weights_get_conv_bn (mmcv's default for every BN in PCAN).
#define RT_WEIGHTS_BN_EPS 1e-5

typedef enum rt_dtype { RT_DTYPE_F32, RT_DTYPE_I64 } rt_dtype;

// "float32" / "int64".
const char *rt_dtype_name(rt_dtype t);

// One expected tensor: the key, its shape (ndim 0 = scalar) and dtype.
typedef struct rt_weight_spec {
    char key[RT_WEIGHTS_KEY_MAX];
    int ndim;
    int64_t shape[RT_WEIGHTS_MAX_DIMS];
    rt_dtype dtype;
} rt_weight_spec;

typedef struct rt_weights rt_weights;

typedef struct rt_weights_params {
    bool read_data; // read every tensor (else names, shapes and dtypes only: for info/check)
    bool hash;      // compute the sha256 of the file (else rt_weights_sha256 is "")
} rt_weights_params;

// Both true.
rt_weights_params rt_weights_default_params(void);

// Opens and fully reads `path` (default params). On success *out owns everything; on failure
// *out is NULL.
rt_status rt_weights_open(const char *path, rt_weights **out);
// The same with params. Without read_data, rt_weights_get/get_conv_bn fail with RT_ERR_INVAL;
// validate, spec and the attribute accessors work.
rt_status rt_weights_open_with(const char *path, const rt_weights_params *params,
                               rt_weights **out);
// Frees everything; accepts NULL and *w == NULL; sets *w to NULL.
void rt_weights_close(rt_weights **w);

// Borrowed views, valid until rt_weights_close.
const char *rt_weights_path(const rt_weights *w);
const char *rt_weights_name(const rt_weights *w);          // the `name` attribute
const char *rt_weights_config_text(const rt_weights *w);   // the `config` attribute (YAML)
const rt_model_config *rt_weights_config(const rt_weights *w);
const char *rt_weights_source_sha256(const rt_weights *w); // the `source_sha256` attribute
const char *rt_weights_sha256(const rt_weights *w);        // sha256 of the file's bytes
int rt_weights_version(const rt_weights *w);
int rt_weights_count(const rt_weights *w); // number of tensors in the file
// The i-th tensor in key (strcmp) order, 0 <= i < count; for listings.
const rt_weight_spec *rt_weights_spec(const rt_weights *w, int i);

// The tensors a model with config `cfg` has, in PyTorch state_dict order (for the official
// config exactly the 397 keys of tests/data/pcan-r50-bdd100k-mots.keys.tsv). *specs is
// allocated with rt_malloc and owned by the caller (rt_free). RT_ERR_CONFIG if `cfg` is invalid.
rt_status rt_weights_expected(const rt_model_config *cfg, rt_weight_spec **specs, int *n);

// Compares the file's tensors with rt_weights_expected(config) and reports every missing,
// extra, wrong-dtype and wrong-shape tensor in one message (RT_ERR_FORMAT, or RT_ERR_SHAPE when
// only shapes differ). Does not mark anything used.
rt_status rt_weights_validate(const rt_weights *w);

// A float32 tensor of exactly `ndim` dims and `shape` (ndim 0: a scalar, shape may be NULL).
// *data points into memory owned by `w`. Marks the tensor used.
//   RT_ERR_FORMAT  "tensor 'k' is missing" / "tensor 'k' is int64 in the file, expected float32";
//   RT_ERR_SHAPE   "tensor 'k' is [8,256,1,1], file has [9,256,1,1]".
rt_status rt_weights_get(rt_weights *w, const char *key, int ndim, const int64_t *shape,
                         const float **data);
// Marks a tensor that the network deliberately ignores (e.g. mu2..mu4) as used; RT_ERR_FORMAT if
// it is missing.
rt_status rt_weights_skip(rt_weights *w, const char *key);

// A convolution followed by an eval-mode BatchNorm, folded into one convolution:
//   s = gamma / sqrt(running_var + 1e-5);  weight' = weight * s (per output channel);
//   bias' = beta - running_mean * s,
// computed in double and rounded once to float. Reads `<conv>.weight` [out_c,in_c,kh,kw] (no
// bias) and `<bn>.weight|bias|running_mean|running_var` [out_c] plus the int64 scalar
// `<bn>.num_batches_tracked`, and marks all six used. Writes out_c*in_c*kh*kw floats to `weight`
// and out_c to `bias` (caller-owned). Folding changes float32 rounding relative to conv-then-BN;
// parity tests must allow for it. Errors as rt_weights_get.
rt_status rt_weights_get_conv_bn(rt_weights *w, const char *conv, const char *bn, int out_c,
                                 int in_c, int kh, int kw, float *weight, float *bias);

// RT_ERR_FORMAT naming every tensor that was neither got nor skipped.
rt_status rt_weights_check_all_used(const rt_weights *w);

#endif
