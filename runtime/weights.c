#include "runtime/weights.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    rt_weight_spec spec;
    size_t count; // elements
    void *data;   // float or int64_t, inside rt_weights.block
    bool used;
} entry;

struct rt_weights {
    char *path;
    char *name;
    char *config_text;
    char *source_sha256;
    char sha256[RT_SHA256_HEX_LEN + 1];
    int version;
    bool has_data; // false when opened with read_data = false
    rt_model_config config;
    int n;
    entry *entries; // sorted by key
    void *block;    // every tensor's data
};

const char *rt_dtype_name(rt_dtype t) { return t == RT_DTYPE_I64 ? "int64" : "float32"; }

const char *rt_weights_path(const rt_weights *w) { return w->path; }
const char *rt_weights_name(const rt_weights *w) { return w->name; }
const char *rt_weights_config_text(const rt_weights *w) { return w->config_text; }
const rt_model_config *rt_weights_config(const rt_weights *w) { return &w->config; }
const char *rt_weights_source_sha256(const rt_weights *w) { return w->source_sha256; }
const char *rt_weights_sha256(const rt_weights *w) { return w->sha256; }
int rt_weights_version(const rt_weights *w) { return w->version; }
int rt_weights_count(const rt_weights *w) { return w->n; }

const rt_weight_spec *rt_weights_spec(const rt_weights *w, int i) {
    RT_ASSERT(i >= 0 && i < w->n);
    return &w->entries[i].spec;
}

// "[9,256,1,1]"; "[]" for a scalar.
static const char *shape_str(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t len = 0;
    len += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

// ---- HDF5 helpers ---------------------------------------------------------------------------

typedef struct h5_walk {
    char text[512];
} h5_walk;

static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
    h5_walk *hw = data;
    // The innermost entry (n == 0) says what went wrong at the bottom; keep it.
    if (n == 0 && e->desc) snprintf(hw->text, sizeof hw->text, "%s", e->desc);
    return 0;
}

// The innermost message on the HDF5 error stack of this thread, or "".
static void h5_message(char *buf, size_t cap) {
    h5_walk hw = {{0}};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5_walk_cb, &hw);
    snprintf(buf, cap, "%s", hw.text[0] ? hw.text : "no detail from HDF5");
}

static rt_status __attribute__((format(printf, 3, 4)))
h5_error(rt_status s, const char *path, const char *fmt, ...) {
    char what[512], detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    h5_message(detail, sizeof detail);
    return rt_error_set(s, "%s: %s (HDF5: %s)", path, what, detail);
}

static void h5_close_type(hid_t t) {
    if (t >= 0) H5Tclose(t);
}
static void h5_close_space(hid_t s) {
    if (s >= 0) H5Sclose(s);
}

// A string attribute of the root group, variable- or fixed-length, scalar.
static rt_status read_str_attr(hid_t file, const char *path, const char *name, char **out) {
    rt_status st = RT_OK;
    hid_t attr = -1, type = -1, mem = -1, space = -1;
    char *fixed = NULL;
    *out = NULL;
    htri_t exists = H5Aexists(file, name);
    if (exists < 0) return h5_error(RT_ERR_HDF5, path, "cannot look up attribute '%s'", name);
    if (!exists)
        return rt_error_set(RT_ERR_FORMAT, "%s: missing root attribute '%s' (not a pcan weights "
                            "file?)", path, name);
    if ((attr = H5Aopen(file, name, H5P_DEFAULT)) < 0 || (type = H5Aget_type(attr)) < 0 ||
        (space = H5Aget_space(attr)) < 0) {
        st = h5_error(RT_ERR_FORMAT, path, "cannot open attribute '%s'", name);
        goto done;
    }
    if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_type(space) != H5S_SCALAR) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: root attribute '%s' is not a scalar string", path,
                          name);
        goto done;
    }
    htri_t var = H5Tis_variable_str(type);
    if (var > 0) {
        char *s = NULL;
        if ((mem = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mem, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mem, H5Tget_cset(type)) < 0 || H5Aread(attr, mem, &s) < 0) {
            st = h5_error(RT_ERR_FORMAT, path, "cannot read attribute '%s'", name);
            goto done;
        }
        *out = rt_strdup(s ? s : "");
        H5Dvlen_reclaim(mem, space, H5P_DEFAULT, &s);
    } else if (var == 0) {
        size_t size = H5Tget_size(type);
        fixed = rt_calloc(size + 1, 1);
        if (!fixed) {
            st = rt_error_set(RT_ERR_NOMEM, "%s: no memory for attribute '%s'", path, name);
            goto done;
        }
        if ((mem = H5Tcopy(type)) < 0 || H5Aread(attr, mem, fixed) < 0) {
            st = h5_error(RT_ERR_FORMAT, path, "cannot read attribute '%s'", name);
            goto done;
        }
        if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
            for (size_t i = size; i > 0 && fixed[i - 1] == ' '; i--) fixed[i - 1] = '\0';
        *out = rt_strdup(fixed);
    } else {
        st = h5_error(RT_ERR_FORMAT, path, "cannot inspect attribute '%s'", name);
        goto done;
    }
    if (!*out) st = rt_error_set(RT_ERR_NOMEM, "%s: no memory for attribute '%s'", path, name);
done:
    rt_free(fixed);
    h5_close_type(mem);
    h5_close_type(type);
    h5_close_space(space);
    if (attr >= 0) H5Aclose(attr);
    return st;
}

static rt_status read_version(hid_t file, const char *path, int *version) {
    rt_status st = RT_OK;
    hid_t attr = -1, type = -1, space = -1;
    htri_t exists = H5Aexists(file, "version");
    if (exists < 0) return h5_error(RT_ERR_HDF5, path, "cannot look up attribute 'version'");
    if (!exists) return rt_error_set(RT_ERR_FORMAT, "%s: missing root attribute 'version'", path);
    long long v = 0;
    if ((attr = H5Aopen(file, "version", H5P_DEFAULT)) < 0 || (type = H5Aget_type(attr)) < 0 ||
        (space = H5Aget_space(attr)) < 0) {
        st = h5_error(RT_ERR_FORMAT, path, "cannot open attribute 'version'");
        goto done;
    }
    if (H5Tget_class(type) != H5T_INTEGER || H5Sget_simple_extent_type(space) != H5S_SCALAR) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: root attribute 'version' is not a scalar integer",
                          path);
        goto done;
    }
    if (H5Aread(attr, H5T_NATIVE_LLONG, &v) < 0) {
        st = h5_error(RT_ERR_FORMAT, path, "cannot read attribute 'version'");
        goto done;
    }
    if (v != RT_WEIGHTS_VERSION) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: weights format version %lld is not supported "
                          "(this pcan reads version %d)", path, v, RT_WEIGHTS_VERSION);
        goto done;
    }
    *version = (int)v;
done:
    h5_close_type(type);
    h5_close_space(space);
    if (attr >= 0) H5Aclose(attr);
    return st;
}

// ---- tensors --------------------------------------------------------------------------------

typedef struct name_list {
    char **names;
    int n, cap;
    bool nomem;
} name_list;

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)g;
    (void)info;
    name_list *l = data;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 512;
        char **p = rt_realloc(l->names, (size_t)cap * sizeof *p);
        if (!p) {
            l->nomem = true;
            return 1;
        }
        l->names = p;
        l->cap = cap;
    }
    if (!(l->names[l->n] = rt_strdup(name))) {
        l->nomem = true;
        return 1;
    }
    l->n++;
    return 0;
}

static void describe_type(hid_t type, char *buf, size_t cap) {
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls == H5T_FLOAT)
        snprintf(buf, cap, "float%zu", 8 * size);
    else if (cls == H5T_INTEGER)
        snprintf(buf, cap, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", 8 * size);
    else if (cls == H5T_STRING)
        snprintf(buf, cap, "string");
    else
        snprintf(buf, cap, "an HDF5 type of class %d", (int)cls);
}

// Reads the shape and dtype of dataset `key` into e->spec (no data yet).
static rt_status inspect_tensor(hid_t file, const char *path, const char *key, entry *e) {
    rt_status st = RT_OK;
    hid_t obj = -1, type = -1, space = -1;
    if ((obj = H5Oopen(file, key, H5P_DEFAULT)) < 0)
        return h5_error(RT_ERR_FORMAT, path, "cannot open object '%s'", key);
    if (H5Iget_type(obj) != H5I_DATASET) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: '%s' at the root is not a dataset (every root object "
                          "must be a tensor)", path, key);
        goto done;
    }
    if ((type = H5Dget_type(obj)) < 0 || (space = H5Dget_space(obj)) < 0) {
        st = h5_error(RT_ERR_FORMAT, path, "cannot inspect tensor '%s'", key);
        goto done;
    }
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls == H5T_FLOAT && size == 4) {
        e->spec.dtype = RT_DTYPE_F32;
    } else if (cls == H5T_INTEGER && size == 8 && H5Tget_sign(type) == H5T_SGN_2) {
        e->spec.dtype = RT_DTYPE_I64;
    } else {
        char desc[64];
        describe_type(type, desc, sizeof desc);
        st = rt_error_set(RT_ERR_FORMAT, "%s: tensor '%s' is %s, expected float32 (int64 only for "
                          "num_batches_tracked)", path, key, desc);
        goto done;
    }
    H5S_class_t sc = H5Sget_simple_extent_type(space);
    int ndim = sc == H5S_SCALAR ? 0 : sc == H5S_SIMPLE ? H5Sget_simple_extent_ndims(space) : -1;
    if (ndim < 0 || ndim > RT_WEIGHTS_MAX_DIMS) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: tensor '%s' has %s (0 to %d dimensions allowed)",
                          path, key, ndim < 0 ? "no dataspace" : "too many dimensions",
                          RT_WEIGHTS_MAX_DIMS);
        goto done;
    }
    hsize_t dims[RT_WEIGHTS_MAX_DIMS] = {0};
    if (ndim > 0 && H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        st = h5_error(RT_ERR_FORMAT, path, "cannot read the shape of tensor '%s'", key);
        goto done;
    }
    snprintf(e->spec.key, sizeof e->spec.key, "%s", key);
    e->spec.ndim = ndim;
    e->count = 1;
    for (int i = 0; i < ndim; i++) {
        e->spec.shape[i] = (int64_t)dims[i];
        if (dims[i] > ((size_t)1 << 40) / (e->count ? e->count : 1)) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: tensor '%s' is implausibly large", path, key);
            goto done;
        }
        e->count *= (size_t)dims[i];
    }
done:
    h5_close_type(type);
    h5_close_space(space);
    H5Oclose(obj);
    return st;
}

static rt_status read_tensor(hid_t file, const char *path, entry *e) {
    hid_t d = H5Dopen2(file, e->spec.key, H5P_DEFAULT);
    if (d < 0) return h5_error(RT_ERR_FORMAT, path, "cannot open tensor '%s'", e->spec.key);
    hid_t mem = e->spec.dtype == RT_DTYPE_F32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64;
    herr_t r = e->count ? H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, e->data) : 0;
    H5Dclose(d);
    if (r < 0)
        return h5_error(RT_ERR_FORMAT, path, "cannot read tensor '%s' (truncated or damaged file?)",
                        e->spec.key);
    return RT_OK;
}

// Bytes a tensor takes in the block: its data rounded up to a multiple of 64.
static size_t slot_bytes(const entry *e) {
    size_t elem = e->spec.dtype == RT_DTYPE_I64 ? sizeof(int64_t) : sizeof(float);
    return (e->count * elem + 63) / 64 * 64;
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const entry *)a)->spec.key, ((const entry *)b)->spec.key);
}

static entry *find(const rt_weights *w, const char *key) {
    entry probe;
    snprintf(probe.spec.key, sizeof probe.spec.key, "%s", key);
    if (strlen(key) >= sizeof probe.spec.key) return NULL;
    return bsearch(&probe, w->entries, (size_t)w->n, sizeof *w->entries, entry_cmp);
}

static rt_status read_tensors(hid_t file, rt_weights *w, bool read_data) {
    rt_status st = RT_OK;
    name_list names = {0};
    hsize_t idx = 0;
    if (H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &names) < 0 &&
        !names.nomem) {
        st = h5_error(RT_ERR_FORMAT, w->path, "cannot list the root group");
        goto done;
    }
    if (names.nomem) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: no memory for the tensor list", w->path);
        goto done;
    }
    if (names.n == 0) {
        st = rt_error_set(RT_ERR_FORMAT, "%s: the file holds no tensors", w->path);
        goto done;
    }
    w->entries = rt_calloc((size_t)names.n, sizeof *w->entries);
    if (!w->entries) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: no memory for %d tensor entries", w->path, names.n);
        goto done;
    }
    w->n = names.n;
    size_t total = 0;
    for (int i = 0; i < names.n; i++) {
        if (strlen(names.names[i]) >= RT_WEIGHTS_KEY_MAX) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: tensor name '%.60s...' is longer than %d bytes",
                              w->path, names.names[i], RT_WEIGHTS_KEY_MAX - 1);
            goto done;
        }
        if ((st = inspect_tensor(file, w->path, names.names[i], &w->entries[i])) != RT_OK)
            goto done;
        // 64-byte aligned slots so that SIMD loads of any tensor start on a cache line.
        total += slot_bytes(&w->entries[i]);
    }
    qsort(w->entries, (size_t)w->n, sizeof *w->entries, entry_cmp);
    if (!read_data) goto done;
    w->block = rt_malloc(total + 64);
    if (!w->block) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: no memory for %zu bytes of tensors", w->path, total);
        goto done;
    }
    size_t off = (64 - (uintptr_t)w->block % 64) % 64;
    for (int i = 0; i < w->n; i++) {
        entry *e = &w->entries[i];
        e->data = (char *)w->block + off;
        off += slot_bytes(e);
        if ((st = read_tensor(file, w->path, e)) != RT_OK) goto done;
    }
done:
    for (int i = 0; i < names.n; i++) rt_free(names.names[i]);
    rt_free(names.names);
    return st;
}

// ---- open / close ---------------------------------------------------------------------------

static bool is_lower_hex64(const char *s) {
    if (strlen(s) != RT_SHA256_HEX_LEN) return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return false;
    return true;
}

rt_weights_params rt_weights_default_params(void) {
    rt_weights_params p = {.read_data = true, .hash = true};
    return p;
}

rt_status rt_weights_open(const char *path, rt_weights **out) {
    rt_weights_params p = rt_weights_default_params();
    return rt_weights_open_with(path, &p, out);
}

rt_status rt_weights_open_with(const char *path, const rt_weights_params *params,
                               rt_weights **out) {
    rt_status st = RT_OK;
    hid_t file = -1;
    char *fmt = NULL;
    *out = NULL;
    rt_weights *w = rt_calloc(1, sizeof *w);
    if (!w || !(w->path = rt_strdup(path))) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: no memory to open the weights", path);
        goto fail;
    }
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        st = rt_error_set(RT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    fclose(probe);
    H5E_BEGIN_TRY {
        htri_t h5 = H5Fis_hdf5(path);
        if (h5 == 0)
            st = rt_error_set(RT_ERR_FORMAT, "%s: not an HDF5 file (a pcan weights file is HDF5; "
                              "convert PyTorch checkpoints with tools/pth2h5.py)", path);
        else if (h5 < 0 || (file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
            st = h5_error(RT_ERR_FORMAT, path, "cannot open as HDF5 (truncated or damaged file?)");
        if (st == RT_OK) st = read_str_attr(file, path, "format", &fmt);
        if (st == RT_OK && strcmp(fmt, RT_WEIGHTS_FORMAT) != 0)
            st = rt_error_set(RT_ERR_FORMAT, "%s: format is '%s', expected '%s'", path, fmt,
                              RT_WEIGHTS_FORMAT);
        if (st == RT_OK) st = read_version(file, path, &w->version);
        if (st == RT_OK) st = read_str_attr(file, path, "name", &w->name);
        if (st == RT_OK) st = read_str_attr(file, path, "config", &w->config_text);
        if (st == RT_OK) st = read_str_attr(file, path, "source_sha256", &w->source_sha256);
        if (st == RT_OK && !is_lower_hex64(w->source_sha256))
            st = rt_error_set(RT_ERR_FORMAT, "%s: source_sha256 '%.80s' is not 64 lowercase hex "
                              "digits", path, w->source_sha256);
        if (st == RT_OK) st = read_tensors(file, w, params->read_data);
        if (file >= 0 && H5Fclose(file) < 0 && st == RT_OK)
            st = h5_error(RT_ERR_HDF5, path, "cannot close the file");
    }
    H5E_END_TRY;
    if (st != RT_OK) goto fail;
    char source[4200];
    snprintf(source, sizeof source, "%s:config", path);
    if ((st = rt_model_config_parse(w->config_text, strlen(w->config_text), source,
                                    &w->config)) != RT_OK)
        goto fail;
    if (params->hash && (st = rt_sha256_file_hex(path, w->sha256)) != RT_OK) goto fail;
    w->has_data = params->read_data;
    rt_free(fmt);
    *out = w;
    return RT_OK;
fail:
    rt_free(fmt);
    rt_weights_close(&w);
    return st;
}

void rt_weights_close(rt_weights **pw) {
    if (!pw || !*pw) return;
    rt_weights *w = *pw;
    rt_free(w->path);
    rt_free(w->name);
    rt_free(w->config_text);
    rt_free(w->source_sha256);
    rt_free(w->entries);
    rt_free(w->block);
    rt_free(w);
    *pw = NULL;
}

// ---- access ---------------------------------------------------------------------------------

static rt_status lookup(const rt_weights *w, const char *key, rt_dtype dtype, int ndim,
                        const int64_t *shape, entry **out) {
    char want[128], have[128];
    entry *e = find(w, key);
    *out = NULL;
    if (!e) return rt_error_set(RT_ERR_FORMAT, "%s: tensor '%s' is missing", w->path, key);
    if (e->spec.dtype != dtype)
        return rt_error_set(RT_ERR_FORMAT, "%s: tensor '%s' is %s in the file, expected %s",
                            w->path, key, rt_dtype_name(e->spec.dtype), rt_dtype_name(dtype));
    bool same = e->spec.ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = e->spec.shape[i] == shape[i];
    if (!same)
        return rt_error_set(RT_ERR_SHAPE, "%s: tensor '%s' is %s, file has %s", w->path, key,
                            shape_str(ndim, shape, want, sizeof want),
                            shape_str(e->spec.ndim, e->spec.shape, have, sizeof have));
    *out = e;
    return RT_OK;
}

rt_status rt_weights_get(rt_weights *w, const char *key, int ndim, const int64_t *shape,
                         const float **data) {
    RT_ASSERT(ndim >= 0 && ndim <= RT_WEIGHTS_MAX_DIMS && (ndim == 0 || shape));
    entry *e;
    *data = NULL;
    if (!w->has_data)
        return rt_error_set(RT_ERR_INVAL, "%s: opened without tensor data; cannot get '%s'",
                            w->path, key);
    rt_status st = lookup(w, key, RT_DTYPE_F32, ndim, shape, &e);
    if (st != RT_OK) return st;
    e->used = true;
    *data = e->data;
    return RT_OK;
}

rt_status rt_weights_skip(rt_weights *w, const char *key) {
    entry *e = find(w, key);
    if (!e) return rt_error_set(RT_ERR_FORMAT, "%s: tensor '%s' is missing", w->path, key);
    e->used = true;
    return RT_OK;
}

rt_status rt_weights_get_conv_bn(rt_weights *w, const char *conv, const char *bn, int out_c,
                                 int in_c, int kh, int kw, float *weight, float *bias) {
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    char key[2 * RT_WEIGHTS_KEY_MAX];
    const float *cw, *p[4];
    int64_t wshape[4] = {out_c, in_c, kh, kw}, vshape[1] = {out_c};
    rt_status st;
    snprintf(key, sizeof key, "%s.weight", conv);
    if ((st = rt_weights_get(w, key, 4, wshape, &cw)) != RT_OK) return st;
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "%s.%s", bn, parts[i]);
        if ((st = rt_weights_get(w, key, 1, vshape, &p[i])) != RT_OK) return st;
    }
    entry *e;
    snprintf(key, sizeof key, "%s.num_batches_tracked", bn);
    if ((st = lookup(w, key, RT_DTYPE_I64, 0, NULL, &e)) != RT_OK) return st;
    e->used = true;
    size_t per_out = (size_t)in_c * (size_t)kh * (size_t)kw;
    for (int o = 0; o < out_c; o++) {
        double s = (double)p[0][o] / sqrt((double)p[3][o] + RT_WEIGHTS_BN_EPS);
        for (size_t j = 0; j < per_out; j++)
            weight[o * per_out + j] = (float)((double)cw[o * per_out + j] * s);
        bias[o] = (float)((double)p[1][o] - (double)p[2][o] * s);
    }
    return RT_OK;
}

// Appends to a diagnostic; stops (with "...") once the error buffer would overflow.
typedef struct report {
    char text[900];
    size_t len;
    int items, shown;
} report;

static void __attribute__((format(printf, 2, 3))) report_add(report *r, const char *fmt, ...) {
    char item[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof item, fmt, ap);
    va_end(ap);
    r->items++;
    size_t n = strlen(item);
    if (r->len + n + 2 >= sizeof r->text - 32) return;
    r->len += (size_t)snprintf(r->text + r->len, sizeof r->text - r->len, "%s%s",
                               r->shown ? "; " : "", item);
    r->shown++;
}

static const char *report_tail(const report *r, char *buf, size_t cap) {
    if (r->shown < r->items)
        snprintf(buf, cap, "; ... (%d more)", r->items - r->shown);
    else
        buf[0] = '\0';
    return buf;
}

rt_status rt_weights_check_all_used(const rt_weights *w) {
    report r = {{0}, 0, 0, 0};
    for (int i = 0; i < w->n; i++)
        if (!w->entries[i].used) report_add(&r, "'%s'", w->entries[i].spec.key);
    if (!r.items) return RT_OK;
    char tail[64];
    return rt_error_set(RT_ERR_FORMAT, "%s: %d tensor%s not used by the model: %s%s", w->path,
                        r.items, r.items == 1 ? " is" : "s are", r.text,
                        report_tail(&r, tail, sizeof tail));
}

rt_status rt_weights_validate(const rt_weights *w) {
    rt_weight_spec *specs = NULL;
    int n = 0;
    rt_status st = rt_weights_expected(&w->config, &specs, &n);
    if (st != RT_OK) return rt_error_wrap(st, "%s", w->path);
    bool *matched = rt_calloc((size_t)w->n, sizeof *matched);
    if (!matched) {
        rt_free(specs);
        return rt_error_set(RT_ERR_NOMEM, "%s: no memory to validate", w->path);
    }
    report r = {{0}, 0, 0, 0};
    bool only_shapes = true;
    char a[128], b[128];
    for (int i = 0; i < n; i++) {
        const rt_weight_spec *s = &specs[i];
        entry *e = find(w, s->key);
        if (!e) {
            report_add(&r, "tensor '%s' is missing", s->key);
            only_shapes = false;
            continue;
        }
        matched[e - w->entries] = true;
        if (e->spec.dtype != s->dtype) {
            report_add(&r, "tensor '%s' is %s in the file, expected %s", s->key,
                       rt_dtype_name(e->spec.dtype), rt_dtype_name(s->dtype));
            only_shapes = false;
            continue;
        }
        bool same = e->spec.ndim == s->ndim;
        for (int d = 0; same && d < s->ndim; d++) same = e->spec.shape[d] == s->shape[d];
        if (!same)
            report_add(&r, "tensor '%s' is %s, file has %s", s->key,
                       shape_str(s->ndim, s->shape, a, sizeof a),
                       shape_str(e->spec.ndim, e->spec.shape, b, sizeof b));
    }
    for (int i = 0; i < w->n; i++)
        if (!matched[i]) {
            report_add(&r, "unexpected tensor '%s'", w->entries[i].spec.key);
            only_shapes = false;
        }
    rt_free(matched);
    rt_free(specs);
    if (!r.items) return RT_OK;
    char tail[64];
    return rt_error_set(only_shapes ? RT_ERR_SHAPE : RT_ERR_FORMAT,
                        "%s: %d problem%s against its config: %s%s", w->path, r.items,
                        r.items == 1 ? "" : "s", r.text, report_tail(&r, tail, sizeof tail));
}
