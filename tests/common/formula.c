#include "tests/common/formula.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/weights.h"

rt_model_config test_tiny_config(void) {
    rt_model_config c = rt_model_config_default();
    snprintf(c.name, sizeof c.name, "pcan-tiny-test");
    c.num_classes = 3;
    snprintf(c.classes[0], sizeof c.classes[0], "pedestrian");
    snprintf(c.classes[1], sizeof c.classes[1], "car");
    snprintf(c.classes[2], sizeof c.classes[2], "bicycle");
    c.input.scale[0] = 160;
    c.input.scale[1] = 96;
    for (int i = 0; i < 4; i++) c.backbone.stage_blocks[i] = 1;
    c.backbone.depth = 14;
    c.backbone.stem_channels = 8;
    c.backbone.base_channels = 8;
    for (int i = 0; i < 4; i++) c.fpn.in_channels[i] = 32 << i;
    c.fpn.out_channels = 32;
    c.rpn.feat_channels = 32;
    c.rpn.nms_pre = 50;
    c.rpn.max_per_img = 100;
    c.roi.bbox_fc_channels = 32;
    c.roi.mask_channels = 32;
    c.roi.track_channels = 32;
    c.roi.track_gn_groups = 8;
    c.roi.track_fc_channels = 32;
    c.roi.embed_channels = 32;
    c.pcam.prototypes = 8;
    c.refine.channels = 32;
    c.refine.pos_protos = 4;
    c.refine.neg_protos = 4;
    c.test.max_per_img = 20;
    c.tracker.memo_tracklet_frames = 3;
    return c;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

// (a, b) of the formula table in tools/README.md, with the output-layer gains.
static void params_for(const rt_weight_spec *sp, double *a, double *b) {
    const char *k = sp->key;
    const char *last = strrchr(k, '.') ? strrchr(k, '.') + 1 : k;
    int proto = (k[0] == 'm' && k[1] == 'u') || !strcmp(last, "pos_mu") || !strcmp(last, "neg_mu");
    int norm = has(k, ".bn") || has(k, ".downsample.1.") || has(k, ".gn.");
    *a = 0.0;
    if (proto) {
        *b = sqrt(3.0 / (double)sp->shape[1]);
    } else if (norm && !strcmp(last, "weight")) {
        if (has(k, ".bn3.")) *a = 0.25, *b = 0.05;
        else *a = 1.0, *b = 0.1;
    } else if (norm && (!strcmp(last, "bias") || !strcmp(last, "running_mean"))) {
        *b = 0.1;
    } else if (norm && !strcmp(last, "running_var")) {
        *a = 1.0, *b = 0.25;
    } else if (!strcmp(last, "weight")) {
        double fan = 1;
        if (has(k, "upsample")) fan = (double)sp->shape[0];
        else
            for (int i = 1; i < sp->ndim; i++) fan *= (double)sp->shape[i];
        *b = sqrt(3.0) * sqrt(2.0 / fan);
    } else {
        *b = 0.05;
    }
    static const struct {
        const char *key;
        double gain;
    } gains[] = {{"rpn_head.rpn_cls.weight", 0.25},
                 {"rpn_head.rpn_reg.weight", 0.05},
                 {"roi_head.bbox_head.fc_cls.weight", 0.25},
                 {"roi_head.bbox_head.fc_reg.weight", 0.1}};
    for (size_t i = 0; i < sizeof gains / sizeof gains[0]; i++)
        if (!strcmp(k, gains[i].key)) *b *= gains[i].gain;
}

static void die(const char *what) {
    fprintf(stderr, "formula weights: %s\n", what);
    exit(1);
}

static void attr_str(hid_t f, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, &value) < 0) die(name);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

void test_write_formula_weights(const char *path, const rt_model_config *cfg,
                                const test_override *ov, int nov) {
    rt_weight_spec *specs = NULL;
    int n = 0;
    if (rt_weights_expected(cfg, &specs, &n) != RT_OK) die(rt_error());
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) die(path);
    attr_str(f, "format", RT_WEIGHTS_FORMAT);
    {
        int v = RT_WEIGHTS_VERSION;
        hid_t s = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, "version", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT, &v);
        H5Aclose(a);
        H5Sclose(s);
    }
    attr_str(f, "name", cfg->name);
    size_t len = rt_model_config_to_yaml(cfg, NULL, 0);
    char *yaml = malloc(len + 1);
    rt_model_config_to_yaml(cfg, yaml, len + 1);
    attr_str(f, "config", yaml);
    free(yaml);
    attr_str(f, "source_sha256",
             "0000000000000000000000000000000000000000000000000000000000000000");
    for (int t = 0; t < n; t++) {
        const rt_weight_spec *sp = &specs[t];
        hsize_t dims[RT_WEIGHTS_MAX_DIMS];
        size_t count = 1;
        for (int i = 0; i < sp->ndim; i++) dims[i] = (hsize_t)sp->shape[i], count *= dims[i];
        hid_t space = sp->ndim ? H5Screate_simple(sp->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
        hid_t ds;
        if (sp->dtype == RT_DTYPE_I64) {
            long long zero = 0;
            ds = H5Dcreate2(f, sp->key, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &zero) < 0)
                die(sp->key);
        } else {
            float *v = malloc(count * sizeof *v);
            double a, b;
            params_for(sp, &a, &b);
            for (size_t i = 0; i < count; i++) {
                uint64_t h = splitmix64(((uint64_t)t << 32) | (uint64_t)i);
                double u = (double)(h >> 11) * 0x1.0p-53 * 2.0 - 1.0;
                v[i] = (float)(a + b * u);
            }
            for (int o = 0; o < nov; o++)
                if (!strcmp(ov[o].key, sp->key) && ov[o].element >= 0 && (size_t)ov[o].element < count)
                    v[ov[o].element] = ov[o].value;
            ds = H5Dcreate2(f, sp->key, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
                die(sp->key);
            free(v);
        }
        H5Dclose(ds);
        H5Sclose(space);
    }
    H5Fclose(f);
    rt_free(specs);
}
