"""Model configuration: the YAML text stored in every pcan-weights file (`config` attribute).

`load_config(text)` parses and checks that every key of the contract is present (and no other);
`CONFIG_DIR` holds the official R50 configuration (r50.yaml) and the tiny test one (tiny.yaml).
"""
import os

import yaml

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs')

# Every key of the contract, per section (None: a scalar/list top-level key).
SCHEMA = {
    'name': None,
    'classes': None,
    'input': ['scale', 'mean', 'std', 'to_rgb', 'pad_divisor'],
    'backbone': ['depth', 'stage_blocks', 'stem_channels', 'base_channels'],
    'fpn': ['in_channels', 'out_channels', 'num_outs'],
    'rpn': ['feat_channels', 'anchor_scales', 'anchor_ratios', 'anchor_strides', 'nms_pre',
            'max_per_img', 'nms_thr'],
    'roi': ['featmap_strides', 'finest_scale', 'bbox_roi_size', 'mask_roi_size',
            'bbox_fc_channels', 'bbox_num_fcs', 'bbox_stds', 'mask_num_convs', 'mask_channels',
            'track_num_convs', 'track_channels', 'track_gn_groups', 'track_num_fcs',
            'track_fc_channels', 'embed_channels'],
    'pcam': ['prototypes', 'iterations', 'levels'],
    'refine': ['channels', 'num_convs', 'pos_protos', 'neg_protos', 'stages'],
    'test': ['score_thr', 'nms_iou', 'max_per_img', 'mask_thr'],
    'tracker': ['init_score_thr', 'obj_score_thr', 'match_score_thr', 'memo_tracklet_frames',
                'memo_backdrop_frames', 'memo_momentum', 'nms_conf_thr', 'nms_backdrop_iou_thr',
                'nms_class_iou_thr', 'with_cats'],
}


def load_config(text):
    cfg = yaml.safe_load(text)
    if not isinstance(cfg, dict):
        raise ValueError('config: not a mapping')
    if set(cfg) != set(SCHEMA):
        raise ValueError('config: keys %s, expected %s' % (sorted(cfg), sorted(SCHEMA)))
    for sec, keys in SCHEMA.items():
        if keys is None:
            continue
        if not isinstance(cfg[sec], dict) or set(cfg[sec]) != set(keys):
            raise ValueError('config: section %s has keys %s, expected %s'
                             % (sec, sorted(cfg[sec]), sorted(keys)))
    cfg['_text'] = text
    return cfg


def config_text(name):
    """Text of a shipped configuration: 'r50' or 'tiny'."""
    with open(os.path.join(CONFIG_DIR, name + '.yaml')) as f:
        return f.read()


def named_config(name):
    return load_config(config_text(name))
