"""tools/pth2h5.py: synthetic mmcv-style and plain checkpoints convert without loss, the
official key list gives the official config, and broken or non-PCAN inputs are refused."""
import collections
import hashlib
import importlib.util
import io
import os
import sys
import tempfile
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)

try:
    import h5py
    import numpy as np
    import torch
    import yaml
except ImportError as e:
    print('SKIP %s: %s (run with /usr/bin/python3; make deps-tools)' % (__file__, e))
    sys.exit(0)

spec = importlib.util.spec_from_file_location('pth2h5', os.path.join(TOOLS, 'pth2h5.py'))
pth2h5 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pth2h5)

TSV = os.path.join(ROOT, 'tests', 'data', 'pcan-r50-bdd100k-mots.keys.tsv')

# The contract's config text: the converter must produce exactly these values for R50.
CONTRACT = """
name: pcan-r50-bdd100k-mots
classes: [pedestrian, rider, car, truck, bus, train, motorcycle, bicycle]
input:    {scale: [1296, 720], mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], to_rgb: true, pad_divisor: 32}
backbone: {depth: 50, stage_blocks: [3, 4, 6, 3], stem_channels: 64, base_channels: 64}
fpn:      {in_channels: [256, 512, 1024, 2048], out_channels: 256, num_outs: 5}
rpn:      {feat_channels: 256, anchor_scales: [8], anchor_ratios: [0.5, 1.0, 2.0], anchor_strides: [4, 8, 16, 32, 64],
           nms_pre: 1000, max_per_img: 1000, nms_thr: 0.7}
roi:      {featmap_strides: [4, 8, 16, 32], finest_scale: 56, bbox_roi_size: 7, mask_roi_size: 14,
           bbox_fc_channels: 1024, bbox_num_fcs: 2, bbox_stds: [0.1, 0.1, 0.2, 0.2],
           mask_num_convs: 4, mask_channels: 256,
           track_num_convs: 4, track_channels: 256, track_gn_groups: 32, track_num_fcs: 1,
           track_fc_channels: 1024, embed_channels: 256}
pcam:     {prototypes: 30, iterations: 3, levels: 2}
refine:   {channels: 256, num_convs: 4, pos_protos: 10, neg_protos: 10, stages: 6}
test:     {score_thr: 0.5, nms_iou: 0.5, max_per_img: 100, mask_thr: 0.5}
tracker:  {init_score_thr: 0.7, obj_score_thr: 0.3, match_score_thr: 0.5, memo_tracklet_frames: 10,
           memo_backdrop_frames: 1, memo_momentum: 0.8, nms_conf_thr: 0.5, nms_backdrop_iou_thr: 0.3,
           nms_class_iou_thr: 0.7, with_cats: true}
"""


def tsv_rows():
    with open(TSV) as f:
        rows = [line.rstrip('\n').split('\t') for line in f if line.strip()]
    return [(k, tuple(int(s) for s in shape.split(',')) if shape else (), dtype)
            for k, shape, dtype in rows]


def random_state(specs, seed):
    """Random tensors of the given (key, shape, dtype) list; BN variances positive."""
    g = torch.Generator().manual_seed(seed)
    sd = collections.OrderedDict()
    for key, shape, dtype in specs:
        if dtype == 'int64':
            sd[key] = torch.randint(0, 1 << 40, shape, generator=g, dtype=torch.int64)
        else:
            t = torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1
            sd[key] = t.abs() + 0.01 if key.endswith('running_var') else t
    return sd


def tiny_config():
    cfg = pth2h5.copy.deepcopy(pth2h5.DEFAULT_CONFIG)
    cfg['name'] = 'tiny'
    cfg['classes'] = ['car', 'no', 'bike rider']  # 'no' and the space need quoting
    cfg['input']['scale'] = [160, 96]
    b = cfg['backbone']
    b['stage_blocks'] = [1, 2, 1, 1]
    b['depth'] = 17
    b['stem_channels'] = 8
    b['base_channels'] = 8
    cfg['fpn']['in_channels'] = [32, 64, 128, 256]
    cfg['fpn']['out_channels'] = 32
    cfg['rpn']['feat_channels'] = 32
    cfg['rpn']['anchor_scales'] = [4, 8]
    cfg['rpn']['anchor_ratios'] = [0.5, 2.0]
    roi = cfg['roi']
    roi.update(bbox_fc_channels=64, bbox_num_fcs=1, mask_num_convs=2, mask_channels=16,
               track_num_convs=3, track_channels=32, track_gn_groups=8, track_num_fcs=2,
               track_fc_channels=48, embed_channels=24)
    cfg['pcam']['prototypes'] = 8
    cfg['refine'].update(channels=24, num_convs=3, pos_protos=4, neg_protos=5)
    cfg['tracker']['memo_tracklet_frames'] = 3
    return cfg


TINY_SETS = ['input.scale=[160, 96]', 'rpn.anchor_scales=[4, 8]', 'rpn.anchor_ratios=[0.5, 2.0]',
             'roi.track_gn_groups=8', 'tracker.memo_tracklet_frames=3']


class Foreign:
    """Pickled under a module name that does not exist when the checkpoint is read."""


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class Pth2H5Test(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def assert_file_matches(self, out, sd, ckpt, cfg):
        with h5py.File(out, 'r') as f:
            self.assertEqual(f.attrs['format'], 'pcan-weights')
            v = f.attrs['version']
            self.assertEqual((v.dtype, v.shape, int(v)), (np.dtype('int32'), (), 1))
            self.assertEqual(f.attrs['source_sha256'], sha256(ckpt))
            self.assertEqual(f.attrs['name'], cfg['name'])
            got = yaml.safe_load(f.attrs['config'])
            self.assertEqual(pth2h5._plain(got), pth2h5._plain(cfg))
            self.assertEqual(sorted(f.keys()), sorted(sd))
            for key, t in sd.items():
                ds = f[key]
                a = t.numpy()
                self.assertEqual(ds.shape, a.shape, key)
                self.assertEqual(ds.dtype, a.dtype, key)
                self.assertIsNone(ds.chunks, key)
                self.assertIsNone(ds.compression, key)
                self.assertEqual(ds[()].tobytes(), a.tobytes(), key)
        self.assertEqual([n for n in os.listdir(self.dir) if '.tmp-' in n], [])

    def test_r50_mmcv_checkpoint_all_397_keys(self):
        rows = tsv_rows()
        self.assertEqual(len(rows), 397)
        self.assertEqual(pth2h5.expected_specs(pth2h5.DEFAULT_CONFIG), rows)
        sd = random_state(rows, 1)
        ckpt = self.path('pcan.pth')
        torch.save({'meta': {'mmcv_version': '1.2.7', 'time': 'Sat Jun 12 2021',
                             'CLASSES': tuple(pth2h5.BDD100K_CLASSES), 'epoch': 12, 'iter': 9000,
                             'config': "model = dict(type='EMQuasiDenseMaskRCNNRefine')\n"},
                    'state_dict': sd,
                    'optimizer': {'state': {}, 'param_groups': [{'lr': 0.01, 'params': [0]}]}},
                   ckpt)
        self.assertTrue(zipfile.is_zipfile(ckpt))
        out = self.path('pcan-r50.h5')
        self.assertEqual(pth2h5.main([ckpt, out, '--verify']), 0)
        cfg = yaml.safe_load(CONTRACT)
        self.assert_file_matches(out, sd, ckpt, cfg)
        # Byte-identical when run again (no timestamps).
        again = self.path('again.h5')
        self.assertEqual(pth2h5.main([ckpt, again, '--name', 'pcan-r50-bdd100k-mots']), 0)
        self.assertEqual(sha256(out), sha256(again))

    def test_tiny_plain_state_dict(self):
        cfg = tiny_config()
        sd = random_state(pth2h5.expected_specs(cfg), 2)
        ckpt = self.path('tiny.pth')
        torch.save(sd, ckpt)
        out = self.path('tiny.weights.h5')
        args = [ckpt, out, '--classes', 'car,no,bike rider', '--verify']
        for s in TINY_SETS:
            args += ['--set', s]
        self.assertEqual(pth2h5.main(args), 0)
        self.assert_file_matches(out, sd, ckpt, cfg)
        with h5py.File(out, 'r') as f:
            self.assertIn('"bike rider"', f.attrs['config'])
            self.assertIn("depth: 17", f.attrs['config'])

    def test_reference_model_state_dict(self):
        # The Python reference's tiny model (tools/ref) converts to its own configuration.
        try:
            from ref import PCAN, named_config
        except Exception as e:  # the reference is optional for this test
            self.skipTest('tools/ref not importable: %s' % e)
        ref_cfg = named_config('tiny')
        sd = PCAN(ref_cfg).state_dict()
        ckpt = self.path('ref.pth')
        torch.save(sd, ckpt)
        out = self.path('ref.h5')
        want = pth2h5._plain({k: v for k, v in ref_cfg.items() if not k.startswith('_')})
        sets = []
        for sec, items in want.items():
            if isinstance(items, dict):
                sets += ['%s.%s=%s' % (sec, k, v) for k, v in items.items() if k != 'depth']
        summary = pth2h5.convert(ckpt, out, name=want['name'], classes=want['classes'], sets=sets,
                                 do_verify=True)
        got = yaml.safe_load(summary['config'])
        self.assertEqual(got['backbone']['depth'], 3 * sum(want['backbone']['stage_blocks']) + 2)
        got['backbone']['depth'] = want['backbone']['depth']
        self.assertEqual(pth2h5._plain(got), want)

    def convert_fails(self, sd, *needles, classes='bdd100k', sets=(), meta=None):
        ckpt = self.path('bad.pth')
        torch.save({'meta': meta or {}, 'state_dict': sd} if meta is not None else sd, ckpt)
        out = self.path('bad.h5')
        with self.assertRaises(pth2h5.ConversionError) as cm:
            pth2h5.convert(ckpt, out, classes=None if classes is None else
                           (pth2h5.BDD100K_CLASSES if classes == 'bdd100k' else classes),
                           sets=sets)
        for n in needles:
            self.assertIn(n, str(cm.exception))
        self.assertFalse(os.path.exists(out))
        self.assertEqual([n for n in os.listdir(self.dir) if '.tmp-' in n], [])
        return str(cm.exception)

    def small_r50_like(self):
        # The R50 key set at R50 structure but tiny widths keeps these tests fast.
        cfg = pth2h5.copy.deepcopy(pth2h5.DEFAULT_CONFIG)
        cfg['backbone'].update(stem_channels=4, base_channels=4)
        cfg['fpn'].update(in_channels=[16, 32, 64, 128], out_channels=8)
        cfg['rpn']['feat_channels'] = 8
        cfg['roi'].update(bbox_fc_channels=8, mask_channels=8, track_channels=32,
                          track_fc_channels=8, embed_channels=8)
        cfg['refine']['channels'] = 8
        cfg['pcam']['prototypes'] = 3
        return cfg, random_state(pth2h5.expected_specs(cfg), 3)

    def test_broken_inputs(self):
        cfg, sd = self.small_r50_like()
        # The unbroken one converts.
        ckpt = self.path('ok.pth')
        torch.save(sd, ckpt)
        pth2h5.convert(ckpt, self.path('ok.h5'), classes=pth2h5.BDD100K_CLASSES, do_verify=True)

        missing = collections.OrderedDict(sd)
        del missing['roi_head.mask_head.upsample.bias']
        self.convert_fails(missing, "missing tensor 'roi_head.mask_head.upsample.bias' [8]")

        extra = collections.OrderedDict(sd)
        extra['roi_head.refine_head.extra.weight'] = torch.zeros(2)
        self.convert_fails(extra, "unknown tensor 'roi_head.refine_head.extra.weight' [2]")
        ckpt = self.path('extra.pth')
        torch.save(extra, ckpt)
        s = pth2h5.convert(ckpt, self.path('extra.h5'), classes=pth2h5.BDD100K_CLASSES,
                           drop=[r'\.extra\.'], do_verify=True)
        self.assertEqual(s['dropped'], ['roi_head.refine_head.extra.weight'])
        with self.assertRaises(pth2h5.ConversionError):
            pth2h5.convert(ckpt, self.path('extra2.h5'), classes=pth2h5.BDD100K_CLASSES,
                           drop=['nothing_matches_this'])

        shape = collections.OrderedDict(sd)
        shape['roi_head.mask_head.conv_logits.weight'] = torch.zeros(9, 8, 1, 1)
        self.convert_fails(shape, "tensor 'roi_head.mask_head.conv_logits.weight' is "
                                  "[9, 8, 1, 1], expected [8, 8, 1, 1]")

        dtype = collections.OrderedDict(sd)
        dtype['mu3'] = dtype['mu3'].double()
        self.convert_fails(dtype, "tensor 'mu3' is float64, expected float32")

        nbt = collections.OrderedDict(sd)
        nbt['backbone.bn1.num_batches_tracked'] = torch.tensor(3.0)
        self.convert_fails(nbt, "'backbone.bn1.num_batches_tracked' is float32, expected int64")

        self.convert_fails(sd, 'the class head has 8 classes, but 2 class names',
                           classes=['a', 'b'])
        self.convert_fails(sd, 'pass --classes', classes=None)
        self.convert_fails(sd, "--set roi.gn_groups: unknown config key",
                           sets=['roi.gn_groups=4'])
        self.convert_fails(sd, "--set test.max_per_img: 'x' has the wrong type",
                           sets=['test.max_per_img=x'])
        # A set that contradicts the shapes is caught by the key check.
        self.convert_fails(sd, "tensor 'roi_head.mask_head.convs.0.conv.weight' is [8, 8, 3, 3], "
                               "expected [16, 8, 3, 3]", sets=['roi.mask_channels=16'])

    def test_non_pcan_variants_are_named(self):
        cfg, sd = self.small_r50_like()
        mots = collections.OrderedDict((k, v) for k, v in sd.items()
                                       if not k.startswith('roi_head.refine_head.'))
        msg = self.convert_fails(mots, 'QDTrack-mots', 'roi_head.refine_head', 'not the PCAN')
        self.assertIn('PCAN-FACTS', msg)
        box = collections.OrderedDict((k, v) for k, v in mots.items()
                                      if not k.startswith('roi_head.mask_head.'))
        self.convert_fails(box, 'QDTrack box tracker')
        nested = collections.OrderedDict(('detector.' + k, v) for k, v in sd.items())
        self.convert_fails(nested, 'newer SysCV/qdtrack')

    def test_meta_classes_and_module_prefix(self):
        cfg, sd = self.small_r50_like()
        ckpt = self.path('dp.pth')
        classes = ['c%d' % i for i in range(8)]
        torch.save({'meta': {'CLASSES': classes},
                    'state_dict': collections.OrderedDict(('module.' + k, v)
                                                          for k, v in sd.items())}, ckpt)
        out = self.path('dp.h5')
        s = pth2h5.convert(ckpt, out, do_verify=True)
        self.assertIn('classes: [c0, c1, c2, c3, c4, c5, c6, c7]', s['config'])
        self.assertEqual(s['name'], 'dp')
        self.assertEqual(s['tensors'], 397)

    def test_unknown_pickled_classes_in_meta(self):
        # mmcv pickles its own objects into meta sometimes; the converter must not need mmcv.
        cfg, sd = self.small_r50_like()
        ckpt = self.path('foreign.pth')

        Foreign.__module__ = 'fake_mmcv_module_for_test'
        sys.modules['fake_mmcv_module_for_test'] = type(sys)('fake_mmcv_module_for_test')
        sys.modules['fake_mmcv_module_for_test'].Foreign = Foreign
        torch.save({'meta': {'hook': Foreign(), 'CLASSES': pth2h5.BDD100K_CLASSES},
                    'state_dict': sd}, ckpt)
        del sys.modules['fake_mmcv_module_for_test']
        s = pth2h5.convert(ckpt, self.path('foreign.h5'))
        self.assertEqual(s['tensors'], 397)

    def test_list(self):
        cfg, sd = self.small_r50_like()
        ckpt = self.path('l.pth')
        torch.save({'meta': {'CLASSES': pth2h5.BDD100K_CLASSES,
                             'config': "model = dict(type='EMQuasiDenseMaskRCNNRefine', "
                                       "roi_head=dict(type='QuasiDenseSegRoIHeadRefine'))"},
                    'state_dict': sd}, ckpt)
        buf = io.StringIO()
        pth2h5.describe(ckpt, buf)
        text = buf.getvalue()
        self.assertIn('types EMQuasiDenseMaskRCNNRefine, QuasiDenseSegRoIHeadRefine', text)
        self.assertIn('# variant: PCAN', text)
        self.assertIn('backbone.bn1.num_batches_tracked\t\tint64\n', text)
        self.assertIn('mu0\t1,8,3\tfloat32\n', text)
        self.assertEqual(len([l for l in text.splitlines() if not l.startswith('#')]), 397)

    def test_not_a_checkpoint(self):
        bad = self.path('junk.pth')
        with open(bad, 'wb') as f:
            f.write(b'not a checkpoint at all')
        with self.assertRaises(pth2h5.ConversionError) as cm:
            pth2h5.convert(bad, self.path('junk.h5'))
        self.assertIn('cannot read as a PyTorch checkpoint', str(cm.exception))
        # The command line reports it with exit status 2.
        err = io.StringIO()
        old, sys.stderr = sys.stderr, err
        try:
            self.assertEqual(pth2h5.main([bad, self.path('junk.h5')]), 2)
        finally:
            sys.stderr = old
        self.assertIn('pth2h5: error:', err.getvalue())


if __name__ == '__main__':
    torch.set_num_threads(1)
    unittest.main()
