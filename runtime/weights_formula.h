// weights_formula — synthetic pcan weights for benchmarks and tests: every tensor of a model
// configuration filled from the counter-based formula of tools/README.md ("R50 weights
// formula"), which tools/ref/init.py implements in Python. The same configuration gives the
// same float bits in both languages, so fixtures need only inputs and outputs, and `pcan bench`
// can build a full R50 model without downloading anything. The weights track nothing.
//
//     rt_model_config cfg = rt_model_config_default();     // official R50
//     rt_weights_formula_write("/tmp/r50.h5", &cfg, NULL, 0);
#ifndef PCAN_RUNTIME_WEIGHTS_FORMULA_H
#define PCAN_RUNTIME_WEIGHTS_FORMULA_H

#include "runtime/core.h"
#include "runtime/model_config.h"

// The `source_sha256` attribute of formula weights (there is no source file).
#define RT_WEIGHTS_FORMULA_SHA256 "0000000000000000000000000000000000000000000000000000000000000000"

// One element replaced after the formula (e.g. class-score biases; tools/make_fixtures.py).
typedef struct rt_weights_override {
    const char *key;
    long element;
    float value;
} rt_weights_override;

// Writes a pcan-weights file for `cfg` (the tensors of rt_weights_expected, in state_dict
// order = formula tensor index), atomically. RT_ERR_IO / RT_ERR_HDF5 naming the file,
// RT_ERR_CONFIG for an invalid config, RT_ERR_NOMEM.
rt_status rt_weights_formula_write(const char *path, const rt_model_config *cfg,
                                   const rt_weights_override *ov, int nov);

#endif
