// formula — synthetic pcan weights for tests, from the counter-based formula of tools/README.md
// ("R50 weights formula"), which tools/ref/init.py implements in Python: the same config gives
// the same float bits in both languages, so fixtures need only inputs and outputs.
#ifndef PCAN_TESTS_FORMULA_H
#define PCAN_TESTS_FORMULA_H

#include "runtime/model_config.h"

typedef struct test_override {
    const char *key;
    long element;
    float value; // replaces the formula's value
} test_override;

// The tiny test configuration (tools/ref/configs/tiny.yaml).
rt_model_config test_tiny_config(void);

// Writes a pcan-weights file for `cfg` (every tensor of rt_weights_expected) with the formula
// values, then the overrides. Aborts the test program on any error.
void test_write_formula_weights(const char *path, const rt_model_config *cfg,
                                const test_override *ov, int nov);

#endif
