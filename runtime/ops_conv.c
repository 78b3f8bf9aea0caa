// ops_conv — oneDNN convolution/deconvolution layers with a small primitive cache (ops_conv.h).
#include "runtime/ops_conv.h"

#include <stdio.h>
#include <string.h>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

// Entries per layer: the RPN's shared conv runs on every pyramid level (up to 6 sizes), and RoI
// layers with batch_chunk need the chunk primitive and the batch-1 one.
#define CONV_CACHE 8

typedef struct conv_entry {
    int valid;
    int n, h, w, threads; // oneDNN fixes its thread split when the primitive is created
    rt_layout in_layout;
    uint64_t last_use;
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst, wts, bias, scratch;
    void *scratch_raw; // rt_malloc'd, 64-byte aligned view in scratch
    void *wraw;        // own weights when this primitive wants another layout than the layer's
    char impl[64];
} conv_entry;

struct rt_conv {
    rt_conv_params p;
    char name[96];
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    // Weights in the layout of the most recent primitive (plain until the first prepare).
    dnnl_memory_desc_t wmd;
    void *wraw;  // rt_malloc'd block holding the weights, aligned view in wbuf
    float *wbuf;
    float *bias; // [out] or NULL
    dnnl_memory_desc_t bmd;
    conv_entry cache[CONV_CACHE];
    uint64_t clock;
    const char *last_impl;
};

static rt_status dnnl_fail(const rt_conv *c, dnnl_status_t st, const char *what) {
    return rt_error_set(RT_ERR_CONFIG, "conv '%s': oneDNN %s failed: %s", c->name, what,
                        dnnl_status2str(st));
}

#define DNNL_TRY(c, call, what)                                  \
    do {                                                         \
        dnnl_status_t st_ = (call);                              \
        if (st_ != dnnl_success) return dnnl_fail((c), st_, (what)); \
    } while (0)

rt_conv_params rt_conv_default_params(void) {
    rt_conv_params p;
    memset(&p, 0, sizeof p);
    p.kernel_h = p.kernel_w = 1;
    p.stride = 1;
    p.dilation = 1;
    p.groups = 1;
    p.out_layout = RT_LAYOUT_NCHW8C;
    return p;
}

const rt_conv_params *rt_conv_get_params(const rt_conv *conv) { return &conv->p; }

const char *rt_conv_impl(const rt_conv *conv) { return conv->last_impl ? conv->last_impl : ""; }

void rt_conv_out_size(const rt_conv *conv, int h, int w, int *oh, int *ow) {
    const rt_conv_params *p = &conv->p;
    int ekh = p->dilation * (p->kernel_h - 1) + 1, ekw = p->dilation * (p->kernel_w - 1) + 1;
    if (p->transposed) {
        *oh = h > 0 ? (h - 1) * p->stride - 2 * p->pad + ekh : 0;
        *ow = w > 0 ? (w - 1) * p->stride - 2 * p->pad + ekw : 0;
    } else {
        *oh = h + 2 * p->pad >= ekh ? (h + 2 * p->pad - ekh) / p->stride + 1 : 0;
        *ow = w + 2 * p->pad >= ekw ? (w + 2 * p->pad - ekw) / p->stride + 1 : 0;
    }
    if (*oh < 0) *oh = 0;
    if (*ow < 0) *ow = 0;
}

static void *aligned_alloc64(size_t n, void **raw) {
    *raw = rt_malloc(n + 64);
    if (!*raw) return NULL;
    return (void *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
}

static void entry_clear(conv_entry *e) {
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->src) dnnl_memory_destroy(e->src);
    if (e->dst) dnnl_memory_destroy(e->dst);
    if (e->wts) dnnl_memory_destroy(e->wts);
    if (e->bias) dnnl_memory_destroy(e->bias);
    if (e->scratch) dnnl_memory_destroy(e->scratch);
    rt_free(e->scratch_raw);
    rt_free(e->wraw);
    memset(e, 0, sizeof *e);
}

static rt_status check_params(const rt_conv_params *p, const char *name) {
    if (p->in_channels <= 0 || p->out_channels <= 0 || p->kernel_h <= 0 || p->kernel_w <= 0 ||
        p->stride <= 0 || p->pad < 0 || p->dilation <= 0)
        return rt_error_set(RT_ERR_CONFIG,
                            "conv '%s': invalid parameters (in %d, out %d, kernel %dx%d, "
                            "stride %d, pad %d, dilation %d)",
                            name, p->in_channels, p->out_channels, p->kernel_h, p->kernel_w,
                            p->stride, p->pad, p->dilation);
    if (p->groups != 1)
        return rt_error_set(RT_ERR_CONFIG, "conv '%s': groups %d not supported (only 1)", name,
                            p->groups);
    if (p->batch_chunk < 0)
        return rt_error_set(RT_ERR_CONFIG, "conv '%s': batch_chunk %d < 0", name,
                            p->batch_chunk);
    if (p->out_layout != RT_LAYOUT_NCHW && p->out_layout != RT_LAYOUT_NCHW8C)
        return rt_error_set(RT_ERR_CONFIG, "conv '%s': unknown output layout %d", name,
                            (int)p->out_layout);
    return RT_OK;
}

rt_status rt_conv_init(rt_conv **out, const rt_conv_params *p, const float *weights,
                       const float *bias) {
    RT_ASSERT(out && p && weights);
    *out = NULL;
    const char *name = p->name ? p->name : "(unnamed)";
    rt_status st = check_params(p, name);
    if (st != RT_OK) return st;
    rt_conv *c = rt_calloc(1, sizeof *c);
    if (!c) return rt_error_set(RT_ERR_NOMEM, "conv '%s': out of memory", name);
    c->p = *p;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->p.name = c->name;
    dnnl_status_t ds = dnnl_engine_create(&c->engine, dnnl_cpu, 0);
    if (ds != dnnl_success) {
        st = dnnl_fail(c, ds, "engine_create");
        goto fail;
    }
    ds = dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags);
    if (ds != dnnl_success) {
        st = dnnl_fail(c, ds, "stream_create");
        goto fail;
    }
    // Plain weights until the first primitive tells us its preferred layout. oneDNN's weight
    // dims are {OC, IC, KH, KW} for both kinds; PyTorch's transposed layout is [IC,OC,kh,kw].
    dnnl_dims_t wd = {p->out_channels, p->in_channels, p->kernel_h, p->kernel_w};
    ds = dnnl_memory_desc_init_by_tag(&c->wmd, 4, wd, dnnl_f32,
                                      p->transposed ? dnnl_iohw : dnnl_oihw);
    if (ds != dnnl_success) {
        st = dnnl_fail(c, ds, "weights md");
        goto fail;
    }
    size_t wbytes = dnnl_memory_desc_get_size(&c->wmd);
    c->wbuf = aligned_alloc64(wbytes, &c->wraw);
    if (!c->wbuf) {
        st = rt_error_set(RT_ERR_NOMEM, "conv '%s': cannot allocate %zu bytes of weights",
                          c->name, wbytes);
        goto fail;
    }
    memcpy(c->wbuf, weights, wbytes);
    if (bias) {
        c->bias = rt_malloc(sizeof(float) * (size_t)p->out_channels);
        if (!c->bias) {
            st = rt_error_set(RT_ERR_NOMEM, "conv '%s': out of memory", c->name);
            goto fail;
        }
        memcpy(c->bias, bias, sizeof(float) * (size_t)p->out_channels);
        dnnl_dims_t bd = {p->out_channels};
        ds = dnnl_memory_desc_init_by_tag(&c->bmd, 1, bd, dnnl_f32, dnnl_a);
        if (ds != dnnl_success) {
            st = dnnl_fail(c, ds, "bias md");
            goto fail;
        }
    }
    *out = c;
    return RT_OK;
fail:
    rt_conv_free(&c);
    return st;
}

void rt_conv_free(rt_conv **conv) {
    if (!conv || !*conv) return;
    rt_conv *c = *conv;
    for (int i = 0; i < CONV_CACHE; i++) entry_clear(&c->cache[i]);
    if (c->stream) dnnl_stream_destroy(c->stream);
    if (c->engine) dnnl_engine_destroy(c->engine);
    rt_free(c->wraw);
    rt_free(c->bias);
    rt_free(c);
    *conv = NULL;
}

static dnnl_format_tag_t layout_tag(rt_layout l) {
    return l == RT_LAYOUT_NCHW8C ? dnnl_nChw8c : dnnl_nchw;
}

// Copies the layer's weights into the layout `want` (a oneDNN reorder; allocates): into a new
// block returned in *raw_out/*buf_out, or, when raw_out is NULL, replacing the layer's own.
static rt_status weights_reorder(rt_conv *c, const dnnl_memory_desc_t *want, void **raw_out,
                                 float **buf_out) {
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t rp = NULL;
    dnnl_memory_t from = NULL, to = NULL;
    void *raw = NULL;
    float *buf = aligned_alloc64(dnnl_memory_desc_get_size(want), &raw);
    rt_status st = RT_OK;
    dnnl_status_t ds;
    if (!buf) {
        st = rt_error_set(RT_ERR_NOMEM, "conv '%s': cannot allocate weights", c->name);
        goto fail;
    }
    if ((ds = dnnl_reorder_primitive_desc_create(&rpd, &c->wmd, c->engine, want, c->engine,
                                                 NULL)) != dnnl_success ||
        (ds = dnnl_primitive_create(&rp, rpd)) != dnnl_success ||
        (ds = dnnl_memory_create(&from, &c->wmd, c->engine, c->wbuf)) != dnnl_success ||
        (ds = dnnl_memory_create(&to, want, c->engine, buf)) != dnnl_success) {
        st = dnnl_fail(c, ds, "weights reorder setup");
        goto fail;
    }
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    if ((ds = dnnl_primitive_execute(rp, c->stream, 2, args)) != dnnl_success ||
        (ds = dnnl_stream_wait(c->stream)) != dnnl_success) {
        st = dnnl_fail(c, ds, "weights reorder");
        goto fail;
    }
    if (raw_out) {
        *raw_out = raw;
        *buf_out = buf;
    } else {
        rt_free(c->wraw);
        c->wraw = raw;
        c->wbuf = buf;
        c->wmd = *want;
    }
    raw = NULL;
fail:
    if (from) dnnl_memory_destroy(from);
    if (to) dnnl_memory_destroy(to);
    if (rp) dnnl_primitive_destroy(rp);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    rt_free(raw);
    return st;
}

static rt_status entry_create(rt_conv *c, conv_entry *e, int n, int h, int w, rt_layout lin) {
    const rt_conv_params *p = &c->p;
    int oh, ow;
    rt_conv_out_size(c, h, w, &oh, &ow);
    dnnl_memory_desc_t smd, dmd, wany;
    dnnl_dims_t sd = {n, p->in_channels, h, w}, dd = {n, p->out_channels, oh, ow};
    dnnl_dims_t wd = {p->out_channels, p->in_channels, p->kernel_h, p->kernel_w};
    dnnl_dims_t strides = {p->stride, p->stride}, dil = {p->dilation - 1, p->dilation - 1};
    dnnl_dims_t pad = {p->pad, p->pad};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    rt_status st = RT_OK;
    dnnl_status_t ds;
    union {
        dnnl_convolution_desc_t conv;
        dnnl_deconvolution_desc_t deconv;
    } od;
    memset(e, 0, sizeof *e);
    if ((ds = dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, layout_tag(lin))) ||
        (ds = dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, layout_tag(p->out_layout))) ||
        (ds = dnnl_memory_desc_init_by_tag(&wany, 4, wd, dnnl_f32, dnnl_format_tag_any))) {
        st = dnnl_fail(c, ds, "memory desc");
        goto fail;
    }
    const dnnl_memory_desc_t *bmd = c->bias ? &c->bmd : NULL;
    if (p->transposed)
        ds = dnnl_dilated_deconvolution_forward_desc_init(
            &od.deconv, dnnl_forward_inference, dnnl_deconvolution_direct, &smd, &wany, bmd,
            &dmd, strides, dil, pad, pad);
    else
        ds = dnnl_dilated_convolution_forward_desc_init(
            &od.conv, dnnl_forward_inference, dnnl_convolution_direct, &smd, &wany, bmd, &dmd,
            strides, dil, pad, pad);
    if (ds) {
        st = dnnl_fail(c, ds, "op desc");
        goto fail;
    }
    if ((ds = dnnl_primitive_attr_create(&attr)) ||
        (ds = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) ||
        (ds = dnnl_post_ops_create(&po)) ||
        (p->residual && (ds = dnnl_post_ops_append_sum(po, 1.0f))) ||
        (p->relu && (ds = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.f, 0.f))) ||
        (ds = dnnl_primitive_attr_set_post_ops(attr, po))) {
        st = dnnl_fail(c, ds, "attributes");
        goto fail;
    }
    if ((ds = dnnl_primitive_desc_create(&pd, &od, attr, c->engine, NULL))) {
        st = dnnl_fail(c, ds, "primitive_desc_create");
        goto fail;
    }
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    float *wbuf = c->wbuf;
    if (!dnnl_memory_desc_equal(wmd, &c->wmd)) {
        int others = 0;
        for (int i = 0; i < CONV_CACHE; i++) others += &c->cache[i] != e && c->cache[i].valid;
        // Other cached primitives use the layer's layout: this one gets its own copy.
        if ((st = weights_reorder(c, wmd, others ? &e->wraw : NULL, others ? &wbuf : NULL)) != RT_OK)
            goto fail;
        if (!others) wbuf = c->wbuf;
    }
    const dnnl_memory_desc_t *scmd =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t scbytes = scmd ? dnnl_memory_desc_get_size(scmd) : 0;
    void *scbuf = NULL;
    if (scbytes) {
        scbuf = aligned_alloc64(scbytes, &e->scratch_raw);
        if (!scbuf) {
            st = rt_error_set(RT_ERR_NOMEM, "conv '%s': cannot allocate scratchpad", c->name);
            goto fail;
        }
    }
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(e->impl, sizeof e->impl, "%s", impl ? impl : "?");
    if ((ds = dnnl_primitive_create(&e->prim, pd)) ||
        (ds = dnnl_memory_create(&e->src, &smd, c->engine, DNNL_MEMORY_NONE)) ||
        (ds = dnnl_memory_create(&e->dst, &dmd, c->engine, DNNL_MEMORY_NONE)) ||
        (ds = dnnl_memory_create(&e->wts, wmd, c->engine, wbuf)) ||
        (c->bias && (ds = dnnl_memory_create(&e->bias, &c->bmd, c->engine, c->bias))) ||
        (scbytes && (ds = dnnl_memory_create(&e->scratch, scmd, c->engine, scbuf)))) {
        st = dnnl_fail(c, ds, "primitive/memory create");
        goto fail;
    }
    e->valid = 1;
    e->n = n;
    e->h = h;
    e->w = w;
    e->in_layout = lin;
    e->threads = omp_get_max_threads();
fail:
    if (st != RT_OK) entry_clear(e);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static rt_status entry_get(rt_conv *c, int n, int h, int w, rt_layout lin, conv_entry **out) {
    conv_entry *victim = &c->cache[0];
    int threads = omp_get_max_threads();
    c->clock++;
    for (int i = 0; i < CONV_CACHE; i++) {
        conv_entry *e = &c->cache[i];
        if (e->valid && e->n == n && e->h == h && e->w == w && e->in_layout == lin &&
            e->threads == threads) {
            e->last_use = c->clock;
            c->last_impl = e->impl;
            *out = e;
            return RT_OK;
        }
        if (!e->valid || (victim->valid && e->last_use < victim->last_use)) victim = e;
    }
    entry_clear(victim);
    rt_status st = entry_create(c, victim, n, h, w, lin);
    if (st != RT_OK) return st;
    victim->last_use = c->clock;
    c->last_impl = victim->impl;
    *out = victim;
    return RT_OK;
}

static rt_status check_input(const rt_conv *c, const rt_tensor *x) {
    int oh, ow;
    rt_conv_out_size(c, x->h, x->w, &oh, &ow);
    if (x->c != c->p.in_channels || x->n < 0 || oh <= 0 || ow <= 0)
        return rt_error_set(RT_ERR_SHAPE,
                            "conv '%s': input [%d,%d,%d,%d] does not fit (in_channels %d, "
                            "kernel %dx%d, stride %d, pad %d)",
                            c->name, x->n, x->c, x->h, x->w, c->p.in_channels, c->p.kernel_h,
                            c->p.kernel_w, c->p.stride, c->p.pad);
    return RT_OK;
}

// Batch sizes the forward of n images uses: the chunk (or n) and the batch-1 tail.
static void batch_plan(const rt_conv *c, int n, int *main_n, int *main_count, int *tail) {
    int chunk = c->p.batch_chunk > 0 ? c->p.batch_chunk : n;
    *main_n = chunk;
    *main_count = chunk > 0 ? n / chunk : 0;
    *tail = chunk > 0 ? n % chunk : 0;
}

rt_status rt_conv_prepare(rt_conv *c, const rt_tensor *x) {
    rt_status st = check_input(c, x);
    if (st != RT_OK) return st;
    int mn, mc, tail;
    batch_plan(c, x->n, &mn, &mc, &tail);
    conv_entry *e;
    if (mc > 0 && (st = entry_get(c, mn, x->h, x->w, x->layout, &e)) != RT_OK) return st;
    if (tail > 0 && (st = entry_get(c, 1, x->h, x->w, x->layout, &e)) != RT_OK) return st;
    return RT_OK;
}

static rt_status entry_run(rt_conv *c, conv_entry *e, float *src, float *dst) {
    dnnl_status_t ds;
    if ((ds = dnnl_memory_set_data_handle_v2(e->src, src, c->stream)) ||
        (ds = dnnl_memory_set_data_handle_v2(e->dst, dst, c->stream)))
        return dnnl_fail(c, ds, "set_data_handle");
    dnnl_exec_arg_t args[5];
    int na = 0;
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, e->src};
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, e->wts};
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_DST, e->dst};
    if (e->bias) args[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, e->bias};
    if (e->scratch) args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, e->scratch};
    if ((ds = dnnl_primitive_execute(e->prim, c->stream, na, args)) ||
        (ds = dnnl_stream_wait(c->stream)))
        return dnnl_fail(c, ds, "execute");
    return RT_OK;
}

rt_status rt_conv_forward(rt_conv *c, const rt_tensor *x, const rt_tensor *residual,
                          rt_tensor *y) {
    rt_status st = check_input(c, x);
    if (st != RT_OK) return st;
    int oh, ow;
    rt_conv_out_size(c, x->h, x->w, &oh, &ow);
    if (y->n != x->n || y->c != c->p.out_channels || y->h != oh || y->w != ow ||
        y->layout != c->p.out_layout)
        return rt_error_set(RT_ERR_SHAPE,
                            "conv '%s': output [%d,%d,%d,%d] layout %d, expected "
                            "[%d,%d,%d,%d] layout %d",
                            c->name, y->n, y->c, y->h, y->w, (int)y->layout, x->n,
                            c->p.out_channels, oh, ow, (int)c->p.out_layout);
    if (!c->p.residual != !residual)
        return rt_error_set(RT_ERR_INVAL, "conv '%s': residual %s but the layer %s one",
                            c->name, residual ? "given" : "missing",
                            c->p.residual ? "needs" : "has no");
    if (residual && !rt_tensor_same_shape(residual, y))
        return rt_error_set(RT_ERR_SHAPE, "conv '%s': residual [%d,%d,%d,%d] differs from output",
                            c->name, residual->n, residual->c, residual->h, residual->w);
    if (x->n == 0) return RT_OK;
    if (residual && residual->data != y->data) memcpy(y->data, residual->data, rt_tensor_bytes(y));
    int mn, mc, tail;
    batch_plan(c, x->n, &mn, &mc, &tail);
    size_t xs = rt_tensor_image_size(x), ys = rt_tensor_image_size(y);
    conv_entry *e;
    if (mc > 0) {
        if ((st = entry_get(c, mn, x->h, x->w, x->layout, &e)) != RT_OK) return st;
        for (int i = 0; i < mc; i++) {
            size_t img = (size_t)i * (size_t)mn;
            st = entry_run(c, e, x->data + img * xs, y->data + img * ys);
            if (st != RT_OK) return st;
        }
    }
    if (tail > 0) {
        if ((st = entry_get(c, 1, x->h, x->w, x->layout, &e)) != RT_OK) return st;
        for (int i = x->n - tail; i < x->n; i++) {
            st = entry_run(c, e, x->data + (size_t)i * xs, y->data + (size_t)i * ys);
            if (st != RT_OK) return st;
        }
    }
    return RT_OK;
}
