// Synthetic weights from the counter-based formula of tools/README.md ("R50 weights formula"),
// implemented identically in tools/ref/init.py.
#include "runtime/weights_formula.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/weights.h"

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
        if (has(k, ".bn3."))
            *a = 0.25, *b = 0.05;
        else
            *a = 1.0, *b = 0.1;
    } else if (norm && (!strcmp(last, "bias") || !strcmp(last, "running_mean"))) {
        *b = 0.1;
    } else if (norm && !strcmp(last, "running_var")) {
        *a = 1.0, *b = 0.25;
    } else if (!strcmp(last, "weight")) {
        double fan = 1;
        if (has(k, "upsample"))
            fan = (double)sp->shape[0];
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
                 {"roi_head.bbox_head.fc_reg.weight", 0.1},
                 {"roi_head.track_head.fc_embed.weight", 0.25}};
    for (size_t i = 0; i < sizeof gains / sizeof gains[0]; i++)
        if (!strcmp(k, gains[i].key)) *b *= gains[i].gain;
}

static int attr_str(hid_t f, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, t, &value) >= 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return ok;
}

rt_status rt_weights_formula_write(const char *path, const rt_model_config *cfg,
                                   const rt_weights_override *ov, int nov) {
    rt_weight_spec *specs = NULL;
    float *v = NULL;
    char *yaml = NULL;
    int n = 0;
    rt_status st = rt_weights_expected(cfg, &specs, &n);
    if (st != RT_OK) return st;
    // Written under a temp name and renamed: a reader never sees a partial weight file.
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        rt_free(specs);
        return rt_error_set(RT_ERR_IO, "%s: cannot create", path);
    }
    size_t maxcount = 1;
    for (int t = 0; t < n; t++) {
        size_t c = 1;
        for (int i = 0; i < specs[t].ndim; i++) c *= (size_t)specs[t].shape[i];
        maxcount = RT_MAX(maxcount, c);
    }
    size_t len = rt_model_config_to_yaml(cfg, NULL, 0);
    v = rt_malloc(maxcount * sizeof *v);
    yaml = rt_malloc(len + 1);
    if (!v || !yaml) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    rt_model_config_to_yaml(cfg, yaml, len + 1);
    int ok = attr_str(f, "format", RT_WEIGHTS_FORMAT);
    {
        int ver = RT_WEIGHTS_VERSION;
        hid_t s = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, "version", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
        ok = ok && a >= 0 && H5Awrite(a, H5T_NATIVE_INT, &ver) >= 0;
        if (a >= 0) H5Aclose(a);
        H5Sclose(s);
    }
    ok = ok && attr_str(f, "name", cfg->name) && attr_str(f, "config", yaml) &&
         attr_str(f, "source_sha256", RT_WEIGHTS_FORMULA_SHA256);
    if (!ok) {
        st = rt_error_set(RT_ERR_HDF5, "%s: cannot write the attributes", path);
        goto fail;
    }
    for (int t = 0; t < n; t++) {
        const rt_weight_spec *sp = &specs[t];
        hsize_t dims[RT_WEIGHTS_MAX_DIMS];
        size_t count = 1;
        for (int i = 0; i < sp->ndim; i++) dims[i] = (hsize_t)sp->shape[i], count *= dims[i];
        hid_t space = sp->ndim ? H5Screate_simple(sp->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
        hid_t ds;
        if (sp->dtype == RT_DTYPE_I64) {
            long long zero = 0;
            ds =
                H5Dcreate2(f, sp->key, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            ok = ds >= 0 &&
                 H5Dwrite(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &zero) >= 0;
        } else {
            double a, b;
            params_for(sp, &a, &b);
            for (size_t i = 0; i < count; i++) {
                uint64_t h = splitmix64(((uint64_t)t << 32) | (uint64_t)i);
                double u = (double)(h >> 11) * 0x1.0p-53 * 2.0 - 1.0;
                v[i] = (float)(a + b * u);
            }
            for (int o = 0; ov && o < nov; o++)
                if (!strcmp(ov[o].key, sp->key) && ov[o].element >= 0 &&
                    (size_t)ov[o].element < count)
                    v[ov[o].element] = ov[o].value;
            ds = H5Dcreate2(f, sp->key, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
            ok = ds >= 0 && H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
        }
        if (ds >= 0) H5Dclose(ds);
        H5Sclose(space);
        if (!ok) {
            st = rt_error_set(RT_ERR_HDF5, "%s: cannot write tensor '%s'", path, sp->key);
            goto fail;
        }
    }
    if (H5Fclose(f) < 0) {
        f = -1;
        st = rt_error_set(RT_ERR_HDF5, "%s: cannot close", path);
        goto fail;
    }
    f = -1;
    if (rename(tmp, path) != 0) st = rt_error_set(RT_ERR_IO, "%s: rename failed", path);
fail:
    if (f >= 0) H5Fclose(f);
    if (st != RT_OK) remove(tmp);
    rt_free(v);
    rt_free(yaml);
    rt_free(specs);
    return st;
}
