#include "runtime/h5util.h"

#include <stdio.h>
#include <string.h>

void rt_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

int rt_h5_attr_exists(hid_t obj, const char *name) { return H5Aexists(obj, name) > 0; }

rt_status rt_h5_attr_string_alloc(hid_t obj, const char *name, char **out) {
    hid_t a = -1, t = -1, mt = -1;
    rt_status st = RT_OK;
    *out = NULL;
    if (H5Aexists(obj, name) <= 0)
        return rt_error_set(RT_ERR_FORMAT, "attribute '%s' is missing", name);
    if ((a = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (t = H5Aget_type(a)) < 0) {
        st = rt_error_set(RT_ERR_HDF5, "cannot open attribute '%s'", name);
        goto fail;
    }
    if (H5Tget_class(t) != H5T_STRING) {
        st = rt_error_set(RT_ERR_FORMAT, "attribute '%s' is not a string", name);
        goto fail;
    }
    hid_t space = H5Aget_space(a);
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    if (npoints != 1) {
        st = rt_error_set(RT_ERR_FORMAT, "attribute '%s' is not a single string", name);
        goto fail;
    }
    if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (H5Aread(a, mt, &v) < 0 || !v) {
            st = rt_error_set(RT_ERR_HDF5, "cannot read attribute '%s'", name);
            goto fail;
        }
        *out = rt_strdup(v);
        H5free_memory(v);
    } else {
        size_t n = H5Tget_size(t);
        char *v = rt_calloc(n + 1, 1);
        if (!v) {
            st = rt_error_set(RT_ERR_NOMEM, "out of memory");
            goto fail;
        }
        mt = H5Tcopy(t);
        if (H5Aread(a, mt, v) < 0) {
            rt_free(v);
            st = rt_error_set(RT_ERR_HDF5, "cannot read attribute '%s'", name);
            goto fail;
        }
        v[n] = '\0';
        *out = v;
    }
    if (!*out) st = rt_error_set(RT_ERR_NOMEM, "out of memory");
fail:
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return st;
}

rt_status rt_h5_attr_string(hid_t obj, const char *name, char *buf, size_t cap) {
    char *s;
    rt_status st = rt_h5_attr_string_alloc(obj, name, &s);
    if (st != RT_OK) return st;
    snprintf(buf, cap, "%s", s);
    rt_free(s);
    return RT_OK;
}

rt_status rt_h5_attr_int(hid_t obj, const char *name, long long *out) {
    if (H5Aexists(obj, name) <= 0)
        return rt_error_set(RT_ERR_FORMAT, "attribute '%s' is missing", name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return rt_error_set(RT_ERR_HDF5, "cannot open attribute '%s'", name);
    hid_t t = H5Aget_type(a), space = H5Aget_space(a);
    rt_status st = RT_OK;
    if (H5Tget_class(t) != H5T_INTEGER || H5Sget_simple_extent_npoints(space) != 1)
        st = rt_error_set(RT_ERR_FORMAT, "attribute '%s' is not an integer", name);
    else if (H5Aread(a, H5T_NATIVE_LLONG, out) < 0)
        st = rt_error_set(RT_ERR_HDF5, "cannot read attribute '%s'", name);
    H5Sclose(space);
    H5Tclose(t);
    H5Aclose(a);
    return st;
}
