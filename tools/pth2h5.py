#!/usr/bin/python3
"""Convert a PCAN PyTorch checkpoint into a pcan-weights file (HDF5, format version 1).

    /usr/bin/python3 tools/pth2h5.py pcan_pretrained_model.pth models/pcan-r50.weights.h5 --verify
    /usr/bin/python3 tools/pth2h5.py pcan_pretrained_model.pth --list     # meta, variant, keys

Input: an mmcv checkpoint (a torch.save'd dict with `meta` (config text, CLASSES, ...),
`state_dict` and usually `optimizer`) or a plain state_dict. Output: one dataset per state_dict
key at the root (float32; int64 scalars for BatchNorm num_batches_tracked), contiguous,
uncompressed, without timestamps, and the root attributes format, version, name, config (YAML)
and source_sha256 (sha256 of the checkpoint file). The format is specified at the top of runtime/weights.h.

The model config is rebuilt from the tensor shapes (depth from the number of blocks, widths from
the shapes, class count from the class head); class names come from meta['CLASSES'] or
--classes; settings that shapes cannot tell (input, anchors, strides, test and tracker
thresholds, ...) are the official BDD100K values unless --set overrides them. The key set is then
checked against what that config implies: unknown, missing, wrongly shaped or typed tensors are
refused, and checkpoints of the non-PCAN variants (QDTrack, QDTrack-mots: PCAN-FACTS §0) are
recognised and named. The file is written under a temporary name, fsync'ed and renamed.
--verify reads it back and compares every tensor bit for bit.

Exit status: 0 ok, 2 the input cannot be converted (message on stderr), 1 unexpected failure.
"""
import argparse
import collections
import copy
import hashlib
import json
import math
import os
import pickle
import re
import sys
import types

FORMAT = 'pcan-weights'
VERSION = 1
FRAME_PROTO_BUFFERS = 5  # mu0..mu4, whatever pcam.levels says

BDD100K_CLASSES = ['pedestrian', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle']

# The official PCAN R50 BDD100K MOTS configuration (PCAN-FACTS §1), in contract order.
DEFAULT_CONFIG = collections.OrderedDict([
    ('name', 'pcan-r50-bdd100k-mots'),
    ('classes', list(BDD100K_CLASSES)),
    ('input', collections.OrderedDict([
        ('scale', [1296, 720]), ('mean', [123.675, 116.28, 103.53]),
        ('std', [58.395, 57.12, 57.375]), ('to_rgb', True), ('pad_divisor', 32)])),
    ('backbone', collections.OrderedDict([
        ('depth', 50), ('stage_blocks', [3, 4, 6, 3]), ('stem_channels', 64),
        ('base_channels', 64)])),
    ('fpn', collections.OrderedDict([
        ('in_channels', [256, 512, 1024, 2048]), ('out_channels', 256), ('num_outs', 5)])),
    ('rpn', collections.OrderedDict([
        ('feat_channels', 256), ('anchor_scales', [8]), ('anchor_ratios', [0.5, 1.0, 2.0]),
        ('anchor_strides', [4, 8, 16, 32, 64]), ('nms_pre', 1000), ('max_per_img', 1000),
        ('nms_thr', 0.7)])),
    ('roi', collections.OrderedDict([
        ('featmap_strides', [4, 8, 16, 32]), ('finest_scale', 56), ('bbox_roi_size', 7),
        ('mask_roi_size', 14), ('bbox_fc_channels', 1024), ('bbox_num_fcs', 2),
        ('bbox_stds', [0.1, 0.1, 0.2, 0.2]), ('mask_num_convs', 4), ('mask_channels', 256),
        ('track_num_convs', 4), ('track_channels', 256), ('track_gn_groups', 32),
        ('track_num_fcs', 1), ('track_fc_channels', 1024), ('embed_channels', 256)])),
    ('pcam', collections.OrderedDict([('prototypes', 30), ('iterations', 3), ('levels', 2)])),
    ('refine', collections.OrderedDict([
        ('channels', 256), ('num_convs', 4), ('pos_protos', 10), ('neg_protos', 10),
        ('stages', 6)])),
    ('test', collections.OrderedDict([
        ('score_thr', 0.5), ('nms_iou', 0.5), ('max_per_img', 100), ('mask_thr', 0.5)])),
    ('tracker', collections.OrderedDict([
        ('init_score_thr', 0.7), ('obj_score_thr', 0.3), ('match_score_thr', 0.5),
        ('memo_tracklet_frames', 10), ('memo_backdrop_frames', 1), ('memo_momentum', 0.8),
        ('nms_conf_thr', 0.5), ('nms_backdrop_iou_thr', 0.3), ('nms_class_iou_thr', 0.7),
        ('with_cats', True)])),
])


class ConversionError(Exception):
    """The input cannot be converted; the message says why."""


# ---- the key set a config implies ---------------------------------------------------------

def expected_specs(cfg):
    """[(key, shape tuple, dtype name)] in PyTorch state_dict order for config `cfg`: the module
    tree of the released fixed_pcan model (mmdet 2.10; PCAN-FACTS §6.2)."""
    out = []

    def t(key, *shape, dtype='float32'):
        out.append((key, tuple(int(s) for s in shape), dtype))

    def bn(prefix, c):
        for p in ('weight', 'bias', 'running_mean', 'running_var'):
            t('%s.%s' % (prefix, p), c)
        t(prefix + '.num_batches_tracked', dtype='int64')

    def conv(prefix, cout, cin, k, bias=True):
        t(prefix + '.weight', cout, cin, k, k)
        if bias:
            t(prefix + '.bias', cout)

    def linear(prefix, cout, cin):
        t(prefix + '.weight', cout, cin)
        t(prefix + '.bias', cout)

    f = cfg['fpn']['out_channels']
    ncls = len(cfg['classes'])
    for i in range(FRAME_PROTO_BUFFERS):
        t('mu%d' % i, 1, f, cfg['pcam']['prototypes'])

    b = cfg['backbone']
    conv('backbone.conv1', b['stem_channels'], 3, 7, bias=False)
    bn('backbone.bn1', b['stem_channels'])
    cin = b['stem_channels']
    for layer, blocks in enumerate(b['stage_blocks']):
        planes = b['base_channels'] << layer
        cout = 4 * planes
        for k in range(blocks):
            p = 'backbone.layer%d.%d' % (layer + 1, k)
            conv(p + '.conv1', planes, cin, 1, bias=False)
            bn(p + '.bn1', planes)
            conv(p + '.conv2', planes, planes, 3, bias=False)
            bn(p + '.bn2', planes)
            conv(p + '.conv3', cout, planes, 1, bias=False)
            bn(p + '.bn3', cout)
            if k == 0 and (layer > 0 or cin != cout):  # stride 2 or a width change
                conv(p + '.downsample.0', cout, cin, 1, bias=False)
                bn(p + '.downsample.1', cout)
            cin = cout

    for i, c in enumerate(cfg['fpn']['in_channels']):
        conv('neck.lateral_convs.%d.conv' % i, f, c, 1)
    for i in range(len(cfg['fpn']['in_channels'])):
        conv('neck.fpn_convs.%d.conv' % i, f, f, 3)

    r = cfg['rpn']
    a = len(r['anchor_scales']) * len(r['anchor_ratios'])
    conv('rpn_head.rpn_conv', r['feat_channels'], f, 3)
    conv('rpn_head.rpn_cls', a, r['feat_channels'], 1)
    conv('rpn_head.rpn_reg', 4 * a, r['feat_channels'], 1)

    roi = cfg['roi']
    area = roi['bbox_roi_size'] ** 2
    fc = roi['bbox_fc_channels']
    linear('roi_head.bbox_head.fc_cls', ncls + 1, fc)
    linear('roi_head.bbox_head.fc_reg', 4 * ncls, fc)
    for i in range(roi['bbox_num_fcs']):
        linear('roi_head.bbox_head.shared_fcs.%d' % i, fc, f * area if i == 0 else fc)

    mc = roi['mask_channels']
    for i in range(roi['mask_num_convs']):
        conv('roi_head.mask_head.convs.%d.conv' % i, mc, f if i == 0 else mc, 3)
    t('roi_head.mask_head.upsample.weight', mc, mc, 2, 2)  # ConvTranspose2d: [in, out, kh, kw]
    t('roi_head.mask_head.upsample.bias', mc)
    conv('roi_head.mask_head.conv_logits', ncls, mc, 1)

    tc, tfc = roi['track_channels'], roi['track_fc_channels']
    for i in range(roi['track_num_convs']):
        conv('roi_head.track_head.convs.%d.conv' % i, tc, f if i == 0 else tc, 3, bias=False)
        t('roi_head.track_head.convs.%d.gn.weight' % i, tc)
        t('roi_head.track_head.convs.%d.gn.bias' % i, tc)
    for i in range(roi['track_num_fcs']):
        linear('roi_head.track_head.fcs.%d' % i, tfc, tc * area if i == 0 else tfc)
    linear('roi_head.track_head.fc_embed', roi['embed_channels'], tfc)

    rf = cfg['refine']
    rc = rf['channels']
    t('roi_head.refine_head.pos_mu', 1, f, rf['pos_protos'])
    t('roi_head.refine_head.neg_mu', 1, f, rf['neg_protos'])
    conv('roi_head.refine_head.conv1.conv', rc, f + 3, 3)  # features + pos_z, neg_z, key mask
    conv('roi_head.refine_head.conv2.conv', rc, f, 1)
    for i in range(rf['num_convs'] - 1):
        conv('roi_head.refine_head.convs.%d.conv' % i, rc, rc, 3)
    t('roi_head.refine_head.upsample.weight', rc, rc, 2, 2)
    t('roi_head.refine_head.upsample.bias', rc)
    conv('roi_head.refine_head.conv_logits', 1, rc, 1)
    return out


# ---- reading checkpoints ------------------------------------------------------------------

class _Stub:
    """Stands in for a pickled object of a module that is not installed (mmcv classes in meta)."""

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state


class _LenientUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return _Stub


def _lenient_pickle():
    """A copy of the pickle module whose Unpickler tolerates classes of missing modules."""
    mod = types.ModuleType('pickle')
    mod.__dict__.update(pickle.__dict__)
    mod.Unpickler = _LenientUnpickler
    mod.load = lambda f, **kw: _LenientUnpickler(f, **kw).load()
    return mod


def _torch_load_lenient(path):
    import torch
    import torch.serialization as ser
    lenient = _lenient_pickle()
    # Debian's torch 1.13 ignores pickle_module unless weights_only (it resets it to the module
    # global `pickle`), so swap that global for the duration of the call as well.
    saved = ser.pickle
    ser.pickle = lenient
    try:
        return torch.load(path, map_location='cpu', pickle_module=lenient)
    finally:
        ser.pickle = saved


def load_checkpoint(path):
    """(state_dict as an OrderedDict of CPU tensors, meta dict or {})."""
    import torch
    try:
        obj = torch.load(path, map_location='cpu')
    except (ImportError, AttributeError):
        obj = _torch_load_lenient(path)
    except Exception as e:  # not a torch file at all, truncated, ...
        raise ConversionError('%s: cannot read as a PyTorch checkpoint: %s' % (path, e))
    meta = {}
    if isinstance(obj, dict) and 'state_dict' in obj and isinstance(obj['state_dict'], dict):
        sd = obj['state_dict']
        meta = obj.get('meta') or {}
        if not isinstance(meta, dict):
            meta = {}
    elif isinstance(obj, dict) and obj and all(torch.is_tensor(v) for v in obj.values()):
        sd = obj
    elif hasattr(obj, 'state_dict'):
        sd = obj.state_dict()
    else:
        raise ConversionError('%s: neither an mmcv checkpoint (a dict with state_dict) nor a '
                              'plain state_dict' % path)
    bad = [k for k, v in sd.items() if not torch.is_tensor(v)]
    if bad:
        raise ConversionError('%s: state_dict entries that are not tensors: %s'
                              % (path, ', '.join(map(str, bad[:5]))))
    if sd and all(k.startswith('module.') for k in sd):  # saved from DataParallel
        sd = collections.OrderedDict((k[len('module.'):], v) for k, v in sd.items())
    return collections.OrderedDict(sd), meta


def detect_variant(keys):
    """None for a PCAN (fixed_pcan) key set, else a sentence naming what the checkpoint is."""
    has = lambda prefix: any(k.startswith(prefix) for k in keys)  # noqa: E731
    if has('detector.') or has('track_head.track_head.'):
        return ('the nested layout of the newer SysCV/qdtrack code (detector.*, '
                'track_head.track_head.*), not a PCAN checkpoint')
    if not has('backbone.') or not has('roi_head.bbox_head.'):
        return 'no backbone.* or roi_head.bbox_head.* keys: not an mmdet two-stage detector'
    if not has('roi_head.track_head.'):
        return 'a detector without a track head (no roi_head.track_head.*), not PCAN'
    if not has('roi_head.mask_head.'):
        return ('the QDTrack box tracker (qdtrack-frcnn_r50_fpn_12e_bdd100k): no mask head and '
                'no refine head (roi_head.refine_head.*), not PCAN (PCAN-FACTS §0)')
    if not has('roi_head.refine_head.'):
        return ('QDTrack-mots (segtrack-frcnn_r50_fpn_12e_bdd10k[_fixed]): it has a mask head '
                'but no roi_head.refine_head.* keys, so it is not the PCAN model (PCAN-FACTS §0; '
                'use the fixed_pcan checkpoint)')
    return None


def _shape(sd, key):
    if key not in sd:
        raise ConversionError("cannot derive the config: tensor '%s' is missing" % key)
    return tuple(sd[key].shape)


def _count(sd, pattern):
    """1 + the largest index N among keys matching pattern (with one (\\d+) group), or 0."""
    rx = re.compile(pattern)
    idx = [int(m.group(1)) for m in (rx.match(k) for k in sd) if m]
    return max(idx) + 1 if idx else 0


def derive_config(sd, classes):
    """The config of the model that has these tensors; non-shape settings are the defaults."""
    cfg = copy.deepcopy(DEFAULT_CONFIG)
    b = cfg['backbone']
    b['stem_channels'] = _shape(sd, 'backbone.conv1.weight')[0]
    b['base_channels'] = _shape(sd, 'backbone.layer1.0.conv1.weight')[0]
    b['stage_blocks'] = [_count(sd, r'backbone\.layer%d\.(\d+)\.' % (i + 1)) for i in range(4)]
    if min(b['stage_blocks']) < 1:
        raise ConversionError('cannot derive the config: backbone stages have %s blocks'
                              % b['stage_blocks'])
    b['depth'] = 3 * sum(b['stage_blocks']) + 2
    fpn = cfg['fpn']
    fpn['in_channels'] = [_shape(sd, 'neck.lateral_convs.%d.conv.weight' % i)[1]
                          for i in range(4)]
    fpn['out_channels'] = f = _shape(sd, 'neck.lateral_convs.0.conv.weight')[0]
    rpn = cfg['rpn']
    rpn['feat_channels'] = _shape(sd, 'rpn_head.rpn_conv.weight')[0]
    roi = cfg['roi']
    roi['bbox_num_fcs'] = _count(sd, r'roi_head\.bbox_head\.shared_fcs\.(\d+)\.weight')
    fc0 = _shape(sd, 'roi_head.bbox_head.shared_fcs.0.weight')
    roi['bbox_fc_channels'] = fc0[0]
    side = int(round(math.sqrt(fc0[1] / f)))
    if side * side * f != fc0[1]:
        raise ConversionError('roi_head.bbox_head.shared_fcs.0 takes %d inputs, not %d channels '
                              'times a square RoI' % (fc0[1], f))
    roi['bbox_roi_size'] = side
    ncls = _shape(sd, 'roi_head.bbox_head.fc_cls.weight')[0] - 1
    roi['mask_num_convs'] = _count(sd, r'roi_head\.mask_head\.convs\.(\d+)\.conv\.weight')
    roi['mask_channels'] = _shape(sd, 'roi_head.mask_head.convs.0.conv.weight')[0]
    roi['track_num_convs'] = _count(sd, r'roi_head\.track_head\.convs\.(\d+)\.conv\.weight')
    roi['track_channels'] = _shape(sd, 'roi_head.track_head.convs.0.conv.weight')[0]
    roi['track_num_fcs'] = _count(sd, r'roi_head\.track_head\.fcs\.(\d+)\.weight')
    roi['track_fc_channels'] = _shape(sd, 'roi_head.track_head.fcs.0.weight')[0]
    roi['embed_channels'] = _shape(sd, 'roi_head.track_head.fc_embed.weight')[0]
    cfg['pcam']['prototypes'] = _shape(sd, 'mu0')[2]
    rf = cfg['refine']
    rf['channels'] = _shape(sd, 'roi_head.refine_head.conv1.conv.weight')[0]
    rf['num_convs'] = 1 + _count(sd, r'roi_head\.refine_head\.convs\.(\d+)\.conv\.weight')
    rf['pos_protos'] = _shape(sd, 'roi_head.refine_head.pos_mu')[2]
    rf['neg_protos'] = _shape(sd, 'roi_head.refine_head.neg_mu')[2]
    if classes is None:
        raise ConversionError('the checkpoint names no classes (no meta CLASSES): pass --classes '
                              'a,b,c (or --classes bdd100k for the %d BDD100K classes)'
                              % len(BDD100K_CLASSES))
    if len(classes) != ncls:
        raise ConversionError('the class head has %d classes, but %d class names were given (%s)'
                              % (ncls, len(classes), ', '.join(classes)))
    cfg['classes'] = list(classes)
    return cfg


def check_settings(sd, cfg):
    """Settings that shapes cannot tell but must fit them; says which --set is needed."""
    rpn = cfg['rpn']
    anchors = _shape(sd, 'rpn_head.rpn_cls.weight')[0]
    if anchors != len(rpn['anchor_scales']) * len(rpn['anchor_ratios']):
        raise ConversionError('rpn_head.rpn_cls has %d anchors per location, but %d scales x %d '
                              'ratios give %d: pass --set rpn.anchor_scales=[...] --set '
                              'rpn.anchor_ratios=[...]'
                              % (anchors, len(rpn['anchor_scales']), len(rpn['anchor_ratios']),
                                 len(rpn['anchor_scales']) * len(rpn['anchor_ratios'])))
    tc, groups = cfg['roi']['track_channels'], cfg['roi']['track_gn_groups']
    if groups < 1 or tc % groups:
        raise ConversionError('the track head has %d channels, which %d GroupNorm groups do not '
                              'divide: pass --set roi.track_gn_groups=N' % (tc, groups))
    if len(rpn['anchor_strides']) != cfg['fpn']['num_outs']:
        raise ConversionError('rpn.anchor_strides has %d items but fpn.num_outs is %d'
                              % (len(rpn['anchor_strides']), cfg['fpn']['num_outs']))


def apply_sets(cfg, sets):
    """--set section.key=YAML overrides, type-checked against the defaults."""
    import yaml
    for item in sets:
        if '=' not in item:
            raise ConversionError("--set %s: expected section.key=value" % item)
        path, text = item.split('=', 1)
        parts = path.split('.')
        node = cfg
        for p in parts[:-1]:
            if not isinstance(node, dict) or p not in node:
                raise ConversionError('--set %s: unknown config key' % path)
            node = node[p]
        if not isinstance(node, dict) or parts[-1] not in node or isinstance(node[parts[-1]], dict):
            raise ConversionError('--set %s: unknown config key' % path)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConversionError('--set %s: bad value %r: %s' % (path, text, e))
        old = node[parts[-1]]
        node[parts[-1]] = _coerce(path, old, value)


def _coerce(path, old, value):
    def bad():
        return ConversionError('--set %s: %r has the wrong type (like %r expected)'
                               % (path, value, old))
    if isinstance(old, bool):
        if not isinstance(value, bool):
            raise bad()
        return value
    if isinstance(old, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if isinstance(old, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        return float(value)
    if isinstance(old, str):
        if not isinstance(value, str):
            raise bad()
        return value
    if isinstance(old, list):
        if not isinstance(value, list) or not value:
            raise bad()
        proto = old[0]
        return [_coerce(path, proto, v) for v in value]
    raise bad()


# ---- the YAML text ------------------------------------------------------------------------

_PLAIN = re.compile(r'^[A-Za-z_][A-Za-z0-9_.\-]*$')
_RESERVED = {'true', 'false', 'yes', 'no', 'on', 'off', 'null', 'y', 'n'}


def _yaml_scalar(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ConversionError('config value %r is not finite' % v)
        return repr(v)  # shortest round-trip form, e.g. 0.1, 123.675, 1.0
    if isinstance(v, str):
        if _PLAIN.match(v) and v.lower() not in _RESERVED:
            return v
        return json.dumps(v, ensure_ascii=False)  # a valid YAML double-quoted scalar
    if isinstance(v, list):
        return '[' + ', '.join(_yaml_scalar(x) for x in v) + ']'
    raise ConversionError('cannot write config value %r' % (v,))


def config_yaml(cfg):
    """The config in the contract's layout: top-level scalars, then one flow mapping per
    section."""
    lines = []
    for key, value in cfg.items():
        if isinstance(value, dict):
            items = ', '.join('%s: %s' % (k, _yaml_scalar(v)) for k, v in value.items())
            lines.append('%s: {%s}' % (key, items))
        else:
            lines.append('%s: %s' % (key, _yaml_scalar(value)))
    return '\n'.join(lines) + '\n'


def _plain(cfg):
    return json.loads(json.dumps(cfg))


# ---- checking and writing -----------------------------------------------------------------

def check_tensors(sd, cfg):
    """Raises ConversionError listing every missing, unknown, misshaped or mistyped tensor."""
    import torch
    want = expected_specs(cfg)
    problems = []
    names = {k for k, _, _ in want}
    for key, shape, dtype in want:
        if key not in sd:
            problems.append("missing tensor '%s' %s" % (key, list(shape)))
            continue
        t = sd[key]
        got = str(t.dtype).replace('torch.', '')
        if got != dtype:
            problems.append("tensor '%s' is %s, expected %s" % (key, got, dtype))
        if tuple(t.shape) != shape:
            problems.append("tensor '%s' is %s, expected %s" % (key, list(t.shape), list(shape)))
    for key in sd:
        if key not in names:
            problems.append("unknown tensor '%s' %s" % (key, list(sd[key].shape)))
    if problems:
        head = problems[:25]
        more = len(problems) - len(head)
        raise ConversionError('%d problem%s with the tensors (config derived from the shapes: '
                              'depth %d, %d classes):\n  %s%s'
                              % (len(problems), '' if len(problems) == 1 else 's',
                                 cfg['backbone']['depth'], len(cfg['classes']),
                                 '\n  '.join(head), '\n  ... (%d more)' % more if more else ''))
    assert all(sd[k].dtype in (torch.float32, torch.int64) for k in names)
    return want


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path):
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_h5(out, sd, order, attrs):
    """Writes atomically: temp name in the same folder, fsync, rename, fsync the folder."""
    import h5py
    import numpy as np
    tmp = '%s.tmp-%d' % (out, os.getpid())
    try:
        with h5py.File(tmp, 'w') as f:
            f.attrs['format'] = attrs['format']
            f.attrs['version'] = np.int32(attrs['version'])
            for k in ('name', 'config', 'source_sha256'):
                f.attrs[k] = attrs[k]
            for key in order:
                a = sd[key].detach().cpu().contiguous().numpy()
                # np.array keeps 0-dim tensors 0-dim (np.ascontiguousarray would make them [1]).
                a = np.array(a, dtype=a.dtype.newbyteorder('<'), order='C')
                f.create_dataset(key, data=a, track_times=False)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, out)
        _fsync_dir(out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def verify(out, sd, attrs):
    """Reads `out` back: attributes, config, and every tensor's dtype, shape and bytes."""
    import h5py
    import numpy as np
    import yaml

    def s(v):
        return v.decode('utf-8') if isinstance(v, bytes) else v

    with h5py.File(out, 'r') as f:
        for k in ('format', 'name', 'config', 'source_sha256'):
            if s(f.attrs[k]) != attrs[k]:
                raise ConversionError('verify: attribute %s differs' % k)
        v = f.attrs['version']
        if v.dtype != np.int32 or v.shape != () or int(v) != attrs['version']:
            raise ConversionError('verify: attribute version is %r' % (v,))
        if _plain(yaml.safe_load(s(f.attrs['config']))) != _plain(attrs['cfg']):
            raise ConversionError('verify: the config does not read back to the same values')
        if set(f.keys()) != set(sd):
            raise ConversionError('verify: the file holds other tensors than the checkpoint')
        for key, t in sd.items():
            ds = f[key]
            a = np.array(t.detach().cpu().numpy(), order='C')
            if ds.dtype != a.dtype.newbyteorder('<') or ds.shape != tuple(t.shape):
                raise ConversionError('verify: tensor %s is %s %s in the file, %s %s in the '
                                      'checkpoint' % (key, ds.dtype, ds.shape, a.dtype, a.shape))
            if ds.chunks is not None or ds.compression is not None:
                raise ConversionError('verify: tensor %s is chunked or compressed' % key)
            if ds[()].tobytes() != a.astype(a.dtype.newbyteorder('<')).tobytes():
                raise ConversionError('verify: tensor %s differs' % key)


def convert(ckpt, out, name=None, classes=None, sets=(), do_verify=False, drop=()):
    """Converts; returns a summary dict. Raises ConversionError for inputs it refuses.
    `drop`: regular expressions; matching keys are removed first (the official code loads with
    strict=False, so a checkpoint may carry tensors the model never uses)."""
    sd, meta = load_checkpoint(ckpt)
    dropped = []
    for rx in drop:
        try:
            pat = re.compile(rx)
        except re.error as e:
            raise ConversionError('--drop %s: %s' % (rx, e))
        hit = [k for k in sd if pat.search(k)]
        if not hit:
            raise ConversionError('--drop %s matches no key' % rx)
        for k in hit:
            del sd[k]
        dropped += hit
    variant = detect_variant(list(sd))
    if variant:
        raise ConversionError('%s: %s' % (ckpt, variant))
    if classes is None and meta.get('CLASSES') is not None:
        classes = [str(c) for c in meta['CLASSES']]
    cfg = derive_config(sd, classes)
    derived_is_official = _plain(cfg) == _plain(DEFAULT_CONFIG)
    apply_sets(cfg, sets)
    check_settings(sd, cfg)
    if name is None:
        base = os.path.basename(out)
        for ext in ('.h5', '.hdf5', '.weights'):
            if base.endswith(ext):
                base = base[:-len(ext)]
        name = DEFAULT_CONFIG['name'] if derived_is_official else base
    cfg['name'] = name
    order = [k for k, _, _ in check_tensors(sd, cfg)]
    text = config_yaml(cfg)
    import yaml
    if _plain(yaml.safe_load(text)) != _plain(cfg):
        raise ConversionError('internal: the config YAML does not read back (%r)' % text)
    attrs = {'format': FORMAT, 'version': VERSION, 'name': name, 'config': text,
             'source_sha256': file_sha256(ckpt), 'cfg': cfg}
    write_h5(out, sd, order, attrs)
    if do_verify:
        verify(out, sd, attrs)
    params = sum(int(sd[k].numel()) for k in order if sd[k].dtype.is_floating_point)
    return {'tensors': len(order), 'values': params, 'name': name, 'config': text,
            'dropped': dropped,
            'source_sha256': attrs['source_sha256'], 'sha256': file_sha256(out),
            'verified': do_verify}


def describe(ckpt, out=sys.stdout):
    """Prints what a checkpoint holds: meta, the variant verdict and every key with its shape
    and dtype (key<TAB>shape<TAB>dtype, the layout of tests/data/*.keys.tsv)."""
    sd, meta = load_checkpoint(ckpt)
    print('# %s: %d tensors, sha256 %s' % (ckpt, len(sd), file_sha256(ckpt)), file=out)
    for k in sorted(meta):
        v = meta[k]
        if k == 'config' and isinstance(v, str):
            types = sorted(set(re.findall(r"type\s*=\s*'([A-Za-z0-9_]+)'", v)))
            print('# meta config: %d characters; types %s' % (len(v), ', '.join(types)), file=out)
        else:
            print('# meta %s: %s' % (k, str(v)[:200]), file=out)
    variant = detect_variant(list(sd))
    print('# variant: %s' % (variant or 'PCAN (fixed_pcan: refine head present)'), file=out)
    for k, t in sd.items():
        print('%s\t%s\t%s' % (k, ','.join(str(d) for d in t.shape),
                               str(t.dtype).replace('torch.', '')), file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description='Convert a PCAN PyTorch checkpoint into a pcan-weights HDF5 file.')
    ap.add_argument('checkpoint', help='mmcv checkpoint or plain state_dict (.pth)')
    ap.add_argument('out', nargs='?', help='output .h5 file (written atomically)')
    ap.add_argument('--name', help='model name (default: pcan-r50-bdd100k-mots for the official '
                    'structure, else the output file name)')
    ap.add_argument('--classes', help="comma-separated class names in label order, or 'bdd100k' "
                    "(default: the checkpoint's meta CLASSES)")
    ap.add_argument('--set', action='append', default=[], metavar='SECTION.KEY=VALUE',
                    help='override a config value (YAML syntax), e.g. --set test.score_thr=0.4')
    ap.add_argument('--verify', action='store_true',
                    help='read the result back and compare every tensor bit for bit')
    ap.add_argument('--drop', action='append', default=[], metavar='REGEX',
                    help='leave out checkpoint keys matching REGEX (each must match something)')
    ap.add_argument('--list', action='store_true',
                    help='only print the meta data, the variant and the key list; write nothing')
    args = ap.parse_args(argv)
    if args.list:
        try:
            describe(args.checkpoint)
        except ConversionError as e:
            print('pth2h5: error: %s' % e, file=sys.stderr)
            return 2
        return 0
    if not args.out:
        ap.error('the output file is required (or use --list)')
    classes = None
    if args.classes:
        classes = (list(BDD100K_CLASSES) if args.classes == 'bdd100k'
                   else [c.strip() for c in args.classes.split(',')])
        if any(not c for c in classes):
            print('pth2h5: error: --classes has an empty name', file=sys.stderr)
            return 2
    try:
        import torch
        torch.set_num_threads(1)
        s = convert(args.checkpoint, args.out, args.name, classes, args.set, args.verify,
                    args.drop)
    except ConversionError as e:
        print('pth2h5: error: %s' % e, file=sys.stderr)
        return 2
    for k in s['dropped']:
        print('pth2h5: dropped %s' % k)
    print('pth2h5: wrote %s: %d tensors, %d values, name %s, sha256 %s%s'
          % (args.out, s['tensors'], s['values'], s['name'], s['sha256'],
             ', verified bit for bit' if s['verified'] else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
