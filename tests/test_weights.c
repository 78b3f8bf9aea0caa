// The weight file loader: files are built here with the HDF5 C API (no Python), then loaded;
// the R50 key list equals the committed TSV; malformed files fail with precise messages;
// BatchNorm folding matches a naive conv + BN.
#include <hdf5.h>

#include "runtime/weights.h"
#include "tests/test.h"

#define TSV_PATH "tests/data/pcan-r50-bdd100k-mots.keys.tsv"

static rt_model_config tiny_config(void) {
    rt_model_config c = rt_model_config_default();
    snprintf(c.name, sizeof c.name, "pcan-tiny");
    c.num_classes = 3;
    snprintf(c.classes[0], RT_MODEL_NAME_MAX, "pedestrian");
    snprintf(c.classes[1], RT_MODEL_NAME_MAX, "car");
    snprintf(c.classes[2], RT_MODEL_NAME_MAX, "bicycle");
    c.input.scale[0] = 160;
    c.input.scale[1] = 96;
    for (int i = 0; i < 4; i++) {
        c.backbone.stage_blocks[i] = i == 2 ? 2 : 1;
        c.fpn.in_channels[i] = 32 << i;
    }
    c.backbone.depth = 17;
    c.backbone.stem_channels = c.backbone.base_channels = 8;
    c.fpn.out_channels = 32;
    c.rpn.feat_channels = 32;
    c.roi.bbox_fc_channels = 64;
    c.roi.mask_channels = 32;
    c.roi.track_channels = 32;
    c.roi.track_gn_groups = 8;
    c.roi.track_fc_channels = 64;
    c.roi.embed_channels = 32;
    c.pcam.prototypes = 8;
    c.refine.channels = 32;
    c.refine.pos_protos = c.refine.neg_protos = 4;
    return c;
}

// Deterministic test values: tensor t, element i.
static float value_of(int t, size_t i) {
    uint64_t x = (uint64_t)t * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull + 1;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 29;
    return (float)((double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

// What the test files hold: value_of, made positive for BatchNorm variances.
static float test_value(const char *key, int t, size_t i) {
    float v = value_of(t, i);
    return strstr(key, "running_var") ? fabsf(v) + 0.1f : v;
}

// How to spoil a file.
typedef struct wopts {
    const char *format;    // NULL: attribute omitted
    long long version;
    const char *name;
    const char *config;    // NULL: the YAML of tiny_config()
    const char *sha;
    bool fixed_strings;
    const char *drop_key;    // tensor left out
    const char *extra_key;   // an extra float tensor [2]
    const char *reshape_key; // first dimension + 1
    const char *f64_key;     // written as float64
    const char *i64_key;     // a float tensor written as int64
    const char *group_key;   // a group at the root
} wopts;

static wopts wopts_default(void) {
    wopts o = {0};
    o.format = "pcan-weights";
    o.version = 1;
    o.name = "pcan-tiny";
    o.sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    return o;
}

static void put_str_attr(hid_t f, const char *name, const char *value, bool fixed) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (fixed) {
        H5Tset_size(t, strlen(value) ? strlen(value) : 1);
        H5Tset_strpad(t, H5T_STR_NULLPAD);
    } else {
        H5Tset_size(t, H5T_VARIABLE);
    }
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = fixed ? H5Awrite(a, t, value) : H5Awrite(a, t, &value);
    if (a < 0 || r < 0) test_fail(__FILE__, __LINE__, "writing attribute %s", name);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

static void put_tensor(hid_t f, const char *key, int ndim, const hsize_t *dims, hid_t file_type,
                       hid_t mem_type, const void *data) {
    hid_t s = ndim ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, key, file_type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        test_fail(__FILE__, __LINE__, "writing tensor %s", key);
    H5Dclose(d);
    H5Sclose(s);
}

// Writes a weights file for config `c` spoiled per `o`; returns the path (static buffer).
static const char *write_weights(const char *file, const rt_model_config *c, const wopts *o) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), file);
    char yaml[8192];
    rt_model_config_to_yaml(c, yaml, sizeof yaml);
    rt_weight_spec *specs;
    int n;
    if (rt_weights_expected(c, &specs, &n) != RT_OK) {
        test_fail(__FILE__, __LINE__, "expected: %s", rt_error());
        return path;
    }
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (o->format) put_str_attr(f, "format", o->format, o->fixed_strings);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "version", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_LLONG, &o->version);
    H5Aclose(a);
    H5Sclose(s);
    put_str_attr(f, "name", o->name, o->fixed_strings);
    put_str_attr(f, "config", o->config ? o->config : yaml, o->fixed_strings);
    put_str_attr(f, "source_sha256", o->sha, o->fixed_strings);
    for (int t = 0; t < n; t++) {
        const rt_weight_spec *sp = &specs[t];
        if (o->drop_key && !strcmp(sp->key, o->drop_key)) continue;
        hsize_t dims[RT_WEIGHTS_MAX_DIMS];
        size_t count = 1;
        for (int d = 0; d < sp->ndim; d++) {
            dims[d] = (hsize_t)sp->shape[d];
            if (d == 0 && o->reshape_key && !strcmp(sp->key, o->reshape_key)) dims[d]++;
            count *= dims[d];
        }
        if (sp->dtype == RT_DTYPE_I64) {
            long long v = 1000 + t;
            put_tensor(f, sp->key, 0, dims, H5T_STD_I64LE, H5T_NATIVE_LLONG, &v);
            continue;
        }
        double *buf = malloc(count * sizeof *buf);
        for (size_t i = 0; i < count; i++) buf[i] = test_value(sp->key, t, i);
        hid_t ft = H5T_IEEE_F32LE;
        if (o->f64_key && !strcmp(sp->key, o->f64_key)) ft = H5T_IEEE_F64LE;
        if (o->i64_key && !strcmp(sp->key, o->i64_key)) ft = H5T_STD_I64LE;
        put_tensor(f, sp->key, sp->ndim, dims, ft, H5T_NATIVE_DOUBLE, buf);
        free(buf);
    }
    if (o->extra_key) {
        float v[2] = {1, 2};
        hsize_t d2 = 2;
        put_tensor(f, o->extra_key, 1, &d2, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, v);
    }
    if (o->group_key) H5Gclose(H5Gcreate2(f, o->group_key, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);
    rt_free(specs);
    return path;
}

static void test_valid_tiny_file_loads(void) {
    rt_model_config c = tiny_config();
    for (int fixed = 0; fixed < 2; fixed++) {
        wopts o = wopts_default();
        o.fixed_strings = fixed;
        const char *path = write_weights("tiny.h5", &c, &o);
        rt_weights *w = NULL;
        if (rt_weights_open(path, &w) != RT_OK) {
            test_fail(__FILE__, __LINE__, "open: %s", rt_error());
            continue;
        }
        CHECK_EQ_STR(rt_weights_name(w), "pcan-tiny");
        CHECK_EQ_INT(rt_weights_version(w), 1);
        CHECK_EQ_STR(rt_weights_source_sha256(w), o.sha);
        CHECK(rt_model_config_equal(rt_weights_config(w), &c));
        CHECK_CONTAINS(rt_weights_config_text(w), "classes: [pedestrian, car, bicycle]");
        char hex[RT_SHA256_HEX_LEN + 1];
        CHECK_EQ_INT(rt_sha256_file_hex(path, hex), RT_OK);
        CHECK_EQ_STR(rt_weights_sha256(w), hex);
        CHECK_EQ_INT(rt_weights_validate(w), RT_OK);

        rt_weight_spec *specs;
        int n;
        CHECK_EQ_INT(rt_weights_expected(&c, &specs, &n), RT_OK);
        CHECK_EQ_INT(rt_weights_count(w), n);
        int bad_values = 0;
        for (int t = 0; t < n; t++) {
            if (specs[t].dtype == RT_DTYPE_I64) {
                CHECK_EQ_INT(rt_weights_skip(w, specs[t].key), RT_OK);
                continue;
            }
            const float *data;
            if (rt_weights_get(w, specs[t].key, specs[t].ndim, specs[t].shape, &data) != RT_OK) {
                test_fail(__FILE__, __LINE__, "get: %s", rt_error());
                continue;
            }
            CHECK_EQ_INT((uintptr_t)data % 64, 0);
            size_t count = 1;
            for (int d = 0; d < specs[t].ndim; d++) count *= (size_t)specs[t].shape[d];
            for (size_t i = 0; i < count; i++) bad_values += data[i] != test_value(specs[t].key, t, i);
        }
        CHECK_EQ_INT(bad_values, 0);
        CHECK_EQ_INT(rt_weights_check_all_used(w), RT_OK);
        for (int i = 1; i < rt_weights_count(w); i++)
            CHECK(strcmp(rt_weights_spec(w, i - 1)->key, rt_weights_spec(w, i)->key) < 0);
        rt_free(specs);
        rt_weights_close(&w);
        CHECK(w == NULL);
        rt_weights_close(&w);
        rt_weights_close(NULL);
    }
}

static void test_metadata_only(void) {
    rt_model_config c = tiny_config();
    wopts o = wopts_default();
    const char *path = write_weights("meta.h5", &c, &o);
    rt_weights_params p = rt_weights_default_params();
    CHECK(p.read_data && p.hash);
    p.read_data = false;
    p.hash = false;
    rt_weights *w = NULL;
    if (rt_weights_open_with(path, &p, &w) != RT_OK) {
        test_fail(__FILE__, __LINE__, "open: %s", rt_error());
        return;
    }
    CHECK_EQ_STR(rt_weights_sha256(w), "");
    CHECK_EQ_STR(rt_weights_name(w), "pcan-tiny");
    CHECK_EQ_INT(rt_weights_validate(w), RT_OK);
    const float *data;
    CHECK_EQ_INT(rt_weights_get(w, "mu0", 3, (int64_t[]){1, 32, 8}, &data), RT_ERR_INVAL);
    CHECK_CONTAINS(rt_error(), "opened without tensor data");
    CHECK_EQ_INT(rt_weights_spec(w, 0)->ndim >= 0, 1);
    rt_weights_close(&w);
}

static void test_r50_keys_equal_tsv(void) {
    FILE *f = fopen(TSV_PATH, "r");
    if (!f) {
        test_fail(__FILE__, __LINE__, "cannot open %s (run from the repository root)", TSV_PATH);
        return;
    }
    rt_model_config c = rt_model_config_default();
    rt_weight_spec *specs;
    int n;
    CHECK_EQ_INT(rt_weights_expected(&c, &specs, &n), RT_OK);
    char line[512];
    int row = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *key = line, *shape = strchr(key, '\t');
        char *dtype = shape ? strchr(shape + 1, '\t') : NULL;
        if (!dtype) {
            test_fail(__FILE__, __LINE__, "bad TSV row %d", row + 1);
            break;
        }
        *shape++ = '\0';
        *dtype++ = '\0';
        if (row >= n) {
            test_fail(__FILE__, __LINE__, "TSV row %d '%s' beyond the %d expected keys", row + 1,
                      key, n);
            row++;
            continue;
        }
        const rt_weight_spec *s = &specs[row];
        char mine[128] = "";
        for (int d = 0; d < s->ndim; d++)
            snprintf(mine + strlen(mine), sizeof mine - strlen(mine), "%s%lld", d ? "," : "",
                     (long long)s->shape[d]);
        CHECK_EQ_STR(s->key, key);
        CHECK_EQ_STR(mine, shape);
        CHECK_EQ_STR(rt_dtype_name(s->dtype), dtype);
        row++;
    }
    fclose(f);
    CHECK_EQ_INT(row, 397);
    CHECK_EQ_INT(n, 397);
    // Parameter count of PCAN-FACTS §6.2: learnable tensors (BN running stats excluded).
    long long params = 0;
    for (int i = 0; i < n; i++) {
        if (strstr(specs[i].key, "running_") || strstr(specs[i].key, "num_batches") ||
            strstr(specs[i].key, "_mu") || !strncmp(specs[i].key, "mu", 2))
            continue;
        long long k = 1;
        for (int d = 0; d < specs[i].ndim; d++) k *= specs[i].shape[d];
        params += k;
    }
    CHECK_EQ_INT(params, 62174337);
    rt_free(specs);
}

// Opens `path`, expects failure `st` with every needle in the message.
static void expect_open_error(const char *path, rt_status st, const char *n1, const char *n2) {
    rt_weights *w = (rt_weights *)1;
    rt_status got = rt_weights_open(path, &w);
    CHECK_MSG(got == st, "open %s: %s (%s), expected %s", path, rt_status_name(got), rt_error(),
              rt_status_name(st));
    CHECK(w == NULL);
    CHECK_CONTAINS(rt_error(), n1);
    if (n2) CHECK_CONTAINS(rt_error(), n2);
    rt_weights_close(&w);
}

static void test_malformed_files(void) {
    rt_model_config c = tiny_config();
    char path[4096];
    wopts o;

    snprintf(path, sizeof path, "%s/nothing.h5", test_tmpdir());
    expect_open_error(path, RT_ERR_IO, "nothing.h5", "No such file");

    snprintf(path, sizeof path, "%s/text.h5", test_tmpdir());
    test_write_text(path, "this is not HDF5\n");
    expect_open_error(path, RT_ERR_FORMAT, "text.h5: not an HDF5 file", NULL);

    o = wopts_default();
    o.format = NULL;
    expect_open_error(write_weights("noformat.h5", &c, &o), RT_ERR_FORMAT,
                      "missing root attribute 'format'", NULL);

    o = wopts_default();
    o.format = "pcan-archive";
    expect_open_error(write_weights("wrongformat.h5", &c, &o), RT_ERR_FORMAT,
                      "format is 'pcan-archive', expected 'pcan-weights'", NULL);

    o = wopts_default();
    o.version = 2;
    expect_open_error(write_weights("v2.h5", &c, &o), RT_ERR_FORMAT, "version 2 is not supported",
                      NULL);

    o = wopts_default();
    o.sha = "ABC";
    expect_open_error(write_weights("sha.h5", &c, &o), RT_ERR_FORMAT, "source_sha256 'ABC'", NULL);

    o = wopts_default();
    o.config = "name: x\nclasses: [a\n";
    expect_open_error(write_weights("badyaml.h5", &c, &o), RT_ERR_CONFIG, "badyaml.h5:config:",
                      "invalid YAML");

    char yaml[8192];
    rt_model_config_to_yaml(&c, yaml, sizeof yaml);
    char *at = strstr(yaml, "levels: 2}");
    RT_ASSERT(at);
    char edited[8300];
    snprintf(edited, sizeof edited, "%.*slevels: 2, window: 3}%s", (int)(at - yaml), yaml,
             at + strlen("levels: 2}"));
    o = wopts_default();
    o.config = edited;
    expect_open_error(write_weights("unknownkey.h5", &c, &o), RT_ERR_CONFIG,
                      "unknown key 'pcam.window'", "unknownkey.h5:config:");

    o = wopts_default();
    o.f64_key = "roi_head.mask_head.conv_logits.weight";
    expect_open_error(write_weights("f64.h5", &c, &o), RT_ERR_FORMAT,
                      "tensor 'roi_head.mask_head.conv_logits.weight' is float64", NULL);

    o = wopts_default();
    o.group_key = "backbone";
    expect_open_error(write_weights("group.h5", &c, &o), RT_ERR_FORMAT,
                      "'backbone' at the root is not a dataset", NULL);

    // Truncated: cut a valid file at several places.
    o = wopts_default();
    const char *valid = write_weights("whole.h5", &c, &o);
    FILE *f = fopen(valid, "rb");
    static char bytes[4 << 20];
    size_t size = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    CHECK(size > 10000 && size < sizeof bytes);
    const size_t cuts[] = {size - 1, size / 2, 4096, 100};
    for (size_t i = 0; i < RT_COUNTOF(cuts); i++) {
        snprintf(path, sizeof path, "%s/cut%zu.h5", test_tmpdir(), i);
        test_write_file(path, bytes, cuts[i]);
        rt_weights *w = NULL;
        rt_status st = rt_weights_open(path, &w);
        CHECK_MSG(st == RT_ERR_FORMAT, "cut at %zu: %s %s", cuts[i], rt_status_name(st),
                  rt_error());
        CHECK_CONTAINS(rt_error(), path);
        CHECK(w == NULL);
    }
}

// Files that open but do not fit the model: get, validate and check_all_used must say which
// tensor is wrong and how.
static void test_tensor_mismatches(void) {
    rt_model_config c = tiny_config();
    rt_weights *w = NULL;
    wopts o;
    const float *data;

    o = wopts_default();
    o.reshape_key = "roi_head.mask_head.conv_logits.weight";
    if (rt_weights_open(write_weights("shape.h5", &c, &o), &w) == RT_OK) {
        int64_t want[4] = {3, 32, 1, 1};
        CHECK_EQ_INT(rt_weights_get(w, "roi_head.mask_head.conv_logits.weight", 4, want, &data),
                     RT_ERR_SHAPE);
        CHECK_CONTAINS(rt_error(),
                       "tensor 'roi_head.mask_head.conv_logits.weight' is [3,32,1,1], file has "
                       "[4,32,1,1]");
        CHECK(data == NULL);
        CHECK_EQ_INT(rt_weights_get(w, "roi_head.mask_head.conv_logits.weight", 3, want, &data),
                     RT_ERR_SHAPE);
        CHECK_CONTAINS(rt_error(), "is [3,32,1], file has [4,32,1,1]");
        CHECK_EQ_INT(rt_weights_validate(w), RT_ERR_SHAPE);
        CHECK_CONTAINS(rt_error(), "1 problem against its config: tensor "
                                   "'roi_head.mask_head.conv_logits.weight' is [3,32,1,1], file "
                                   "has [4,32,1,1]");
        rt_weights_close(&w);
    } else {
        test_fail(__FILE__, __LINE__, "open: %s", rt_error());
    }

    o = wopts_default();
    o.drop_key = "roi_head.refine_head.pos_mu";
    o.extra_key = "roi_head.refine_head.pos_mu_old";
    if (rt_weights_open(write_weights("missing.h5", &c, &o), &w) == RT_OK) {
        int64_t want[3] = {1, 32, 4};
        CHECK_EQ_INT(rt_weights_get(w, "roi_head.refine_head.pos_mu", 3, want, &data),
                     RT_ERR_FORMAT);
        CHECK_CONTAINS(rt_error(), "missing.h5: tensor 'roi_head.refine_head.pos_mu' is missing");
        CHECK_EQ_INT(rt_weights_skip(w, "nope"), RT_ERR_FORMAT);
        CHECK_EQ_INT(rt_weights_validate(w), RT_ERR_FORMAT);
        CHECK_CONTAINS(rt_error(), "tensor 'roi_head.refine_head.pos_mu' is missing; unexpected "
                                   "tensor 'roi_head.refine_head.pos_mu_old'");
        CHECK_EQ_INT(rt_weights_get(w, "mu0", 3, (int64_t[]){1, 32, 8}, &data), RT_OK);
        CHECK_EQ_INT(rt_weights_check_all_used(w), RT_ERR_FORMAT);
        CHECK_CONTAINS(rt_error(), "tensors are not used by the model: '");
        CHECK_CONTAINS(rt_error(), "more)"); // a long list is cut, with a count
        CHECK(!strstr(rt_error(), "'mu0'"));
        rt_weight_spec *specs;
        int n;
        CHECK_EQ_INT(rt_weights_expected(&c, &specs, &n), RT_OK);
        for (int i = 0; i < n; i++) rt_weights_skip(w, specs[i].key);
        rt_free(specs);
        CHECK_EQ_INT(rt_weights_check_all_used(w), RT_ERR_FORMAT);
        CHECK_CONTAINS(rt_error(), "missing.h5: 1 tensor is not used by the model: "
                                   "'roi_head.refine_head.pos_mu_old'");
        rt_weights_close(&w);
    } else {
        test_fail(__FILE__, __LINE__, "open: %s", rt_error());
    }

    o = wopts_default();
    o.i64_key = "mu1";
    if (rt_weights_open(write_weights("dtype.h5", &c, &o), &w) == RT_OK) {
        CHECK_EQ_INT(rt_weights_get(w, "mu1", 3, (int64_t[]){1, 32, 8}, &data), RT_ERR_FORMAT);
        CHECK_CONTAINS(rt_error(), "tensor 'mu1' is int64 in the file, expected float32");
        CHECK_EQ_INT(rt_weights_validate(w), RT_ERR_FORMAT);
        CHECK_CONTAINS(rt_error(), "tensor 'mu1' is int64 in the file, expected float32");
        // Only the unused one is reported once everything else is taken.
        rt_weight_spec *specs;
        int n;
        CHECK_EQ_INT(rt_weights_expected(&c, &specs, &n), RT_OK);
        for (int i = 0; i < n; i++) rt_weights_skip(w, specs[i].key);
        rt_free(specs);
        CHECK_EQ_INT(rt_weights_check_all_used(w), RT_OK);
        rt_weights_close(&w);
    } else {
        test_fail(__FILE__, __LINE__, "open: %s", rt_error());
    }
}

// Folded conv vs conv then BatchNorm (eval), both in double, on random data.
static void test_bn_folding(void) {
    rt_model_config c = tiny_config();
    wopts o = wopts_default();
    rt_weights *w = NULL;
    if (rt_weights_open(write_weights("bn.h5", &c, &o), &w) != RT_OK) {
        test_fail(__FILE__, __LINE__, "open: %s", rt_error());
        return;
    }
    enum { OC = 8, IC = 8, K = 3, H = 6, W = 5 };
    static float fw[OC * IC * K * K], fb[OC];
    CHECK_EQ_INT(rt_weights_get_conv_bn(w, "backbone.layer1.0.conv2", "backbone.layer1.0.bn2", OC,
                                        IC, K, K, fw, fb),
                 RT_OK);
    const float *cw, *g, *beta, *mean, *var;
    int64_t ws[4] = {OC, IC, K, K}, vs[1] = {OC};
    CHECK_EQ_INT(rt_weights_get(w, "backbone.layer1.0.conv2.weight", 4, ws, &cw), RT_OK);
    CHECK_EQ_INT(rt_weights_get(w, "backbone.layer1.0.bn2.weight", 1, vs, &g), RT_OK);
    CHECK_EQ_INT(rt_weights_get(w, "backbone.layer1.0.bn2.bias", 1, vs, &beta), RT_OK);
    CHECK_EQ_INT(rt_weights_get(w, "backbone.layer1.0.bn2.running_mean", 1, vs, &mean), RT_OK);
    CHECK_EQ_INT(rt_weights_get(w, "backbone.layer1.0.bn2.running_var", 1, vs, &var), RT_OK);
    static double x[IC * H * W];
    for (int i = 0; i < IC * H * W; i++) x[i] = value_of(999, (size_t)i) * 3.0;
    double max_err = 0, max_ref = 0;
    for (int o2 = 0; o2 < OC; o2++) {
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++) {
                double conv = 0, folded = 0;
                for (int ci = 0; ci < IC; ci++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int iy = yy + ky - 1, ix = xx + kx - 1;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            double in = x[(ci * H + iy) * W + ix];
                            size_t wi = (((size_t)o2 * IC + ci) * K + ky) * K + kx;
                            conv += cw[wi] * in;
                            folded += fw[wi] * in;
                        }
                double ref = (conv - mean[o2]) / sqrt((double)var[o2] + 1e-5) * g[o2] + beta[o2];
                folded += fb[o2];
                max_err = fmax(max_err, fabs(folded - ref));
                max_ref = fmax(max_ref, fabs(ref));
            }
    }
    CHECK(max_ref > 0.1);
    CHECK_MSG(max_err <= 1e-6 * max_ref, "max error %g (max |ref| %g)", max_err, max_ref);
    // Folded values are the double computation rounded once.
    double s0 = g[0] / sqrt((double)var[0] + 1e-5);
    CHECK(fw[0] == (float)(cw[0] * s0));
    CHECK(fb[0] == (float)(beta[0] - mean[0] * s0));
    // A wrong shape is reported like rt_weights_get does.
    CHECK_EQ_INT(rt_weights_get_conv_bn(w, "backbone.layer1.0.conv2", "backbone.layer1.0.bn2", OC,
                                        IC, 1, 1, fw, fb),
                 RT_ERR_SHAPE);
    CHECK_CONTAINS(rt_error(), "'backbone.layer1.0.conv2.weight' is [8,8,1,1], file has [8,8,3,3]");
    rt_weights_close(&w);
}

// Every allocation failure during open is reported as NOMEM and leaks nothing (ASan checks).
static void test_open_alloc_failures(void) {
    rt_model_config c = tiny_config();
    wopts o = wopts_default();
    const char *path = write_weights("nomem.h5", &c, &o);
    int failures = 0;
    for (uint64_t k = 1; k < 1000; k++) {
        rt_weights *w = NULL;
        rt_alloc_fail_after(k);
        rt_status st = rt_weights_open(path, &w);
        rt_alloc_fail_after(0);
        if (st == RT_OK) {
            rt_weights_close(&w);
            break;
        }
        failures++;
        CHECK_MSG(st == RT_ERR_NOMEM, "allocation %llu: %s %s", (unsigned long long)k,
                  rt_status_name(st), rt_error());
        CHECK(w == NULL);
    }
    CHECK(failures > 5);
}

// Weight files committed by the Python tools (h5py-written) must load and match their config.
static void test_committed_weight_files(void) {
    const char *files[] = {"tests/fixtures/tiny.weights.h5", "models/tiny.weights.h5"};
    for (size_t i = 0; i < RT_COUNTOF(files); i++) {
        FILE *f = fopen(files[i], "rb");
        if (!f) {
            printf("note: %s not present, not checked\n", files[i]);
            continue;
        }
        fclose(f);
        rt_weights *w = NULL;
        if (rt_weights_open(files[i], &w) != RT_OK) {
            test_fail(__FILE__, __LINE__, "%s", rt_error());
            continue;
        }
        CHECK_MSG(rt_weights_validate(w) == RT_OK, "%s", rt_error());
        rt_weight_spec *specs;
        int n;
        CHECK_EQ_INT(rt_weights_expected(rt_weights_config(w), &specs, &n), RT_OK);
        for (int t = 0; t < n; t++) {
            const float *data;
            if (specs[t].dtype == RT_DTYPE_I64)
                CHECK_EQ_INT(rt_weights_skip(w, specs[t].key), RT_OK);
            else
                CHECK_EQ_INT(rt_weights_get(w, specs[t].key, specs[t].ndim, specs[t].shape, &data),
                             RT_OK);
        }
        CHECK_EQ_INT(rt_weights_check_all_used(w), RT_OK);
        rt_free(specs);
        rt_weights_close(&w);
    }
}

int main(void) {
    TEST_RUN(test_valid_tiny_file_loads);
    TEST_RUN(test_metadata_only);
    TEST_RUN(test_r50_keys_equal_tsv);
    TEST_RUN(test_malformed_files);
    TEST_RUN(test_tensor_mismatches);
    TEST_RUN(test_bn_folding);
    TEST_RUN(test_open_alloc_failures);
    TEST_RUN(test_committed_weight_files);
    return test_finish();
}
