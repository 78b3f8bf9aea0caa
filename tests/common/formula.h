// formula — test helpers around runtime/weights_formula.h: the tiny test configuration and a
// weight writer that aborts the test program on failure.
#ifndef PCAN_TESTS_FORMULA_H
#define PCAN_TESTS_FORMULA_H

#include "runtime/model_config.h"
#include "runtime/weights_formula.h"

typedef rt_weights_override test_override;

// The tiny test configuration (tools/ref/configs/tiny.yaml).
rt_model_config test_tiny_config(void);

// Writes a pcan-weights file for `cfg` (every tensor of rt_weights_expected) with the formula
// values, then the overrides. Aborts the test program on any error.
void test_write_formula_weights(const char *path, const rt_model_config *cfg,
                                const test_override *ov, int nov);

#endif
