"""tools/split_annotations.py: YouTube-VIS and Scalabel files split per video, nothing lost."""
import importlib.util
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
spec = importlib.util.spec_from_file_location('split_annotations',
                                              os.path.join(TOOLS, 'split_annotations.py'))
split = importlib.util.module_from_spec(spec)
spec.loader.exec_module(split)


def load(path):
    with open(path) as f:
        return json.load(f)


class SplitTest(unittest.TestCase):
    def run_split(self, fmt, data):
        d = tempfile.mkdtemp()
        src = os.path.join(d, 'in.json')
        with open(src, 'w') as f:
            json.dump(data, f)
        out = os.path.join(d, 'out')
        self.assertEqual(split.main([fmt, src, out]), 0)
        return out

    def test_ytvis(self):
        cats = [{'id': 1, 'name': 'person'}]
        data = {'videos': [{'id': 7, 'file_names': ['a/0.jpg', 'a/5.jpg']},
                           {'id': 8, 'file_names': ['b/0.jpg']}],
                'annotations': [{'id': 1, 'video_id': 8, 'category_id': 1,
                                 'segmentations': [None]},
                                {'id': 2, 'video_id': 7, 'category_id': 1,
                                 'segmentations': [None, None]}],
                'categories': cats}
        out = self.run_split('youtube-vis', data)
        self.assertEqual(sorted(os.listdir(out)), ['a.json', 'b.json'])
        a = load(os.path.join(out, 'a.json'))
        self.assertEqual(a['videos'], [data['videos'][0]])
        self.assertEqual([x['id'] for x in a['annotations']], [2])
        self.assertEqual(a['categories'], cats)

    def test_scalabel(self):
        frames = [{'videoName': 'v1', 'frameIndex': 0}, {'videoName': 'v2', 'frameIndex': 0},
                  {'videoName': 'v1', 'frameIndex': 1, 'labels': []}]
        for data in (frames, {'frames': frames, 'config': {}}):
            out = self.run_split('scalabel', data)
            self.assertEqual(sorted(os.listdir(out)), ['v1.json', 'v2.json'])
            self.assertEqual(load(os.path.join(out, 'v1.json')), [frames[0], frames[2]])

    def test_bad_names(self):
        with self.assertRaises(SystemExit):
            self.run_split('scalabel', [{'videoName': '../x', 'frameIndex': 0}])
        with self.assertRaises(SystemExit):
            self.run_split('youtube-vis', {'videos': [{'id': 1, 'file_names': ['0.jpg']}]})


if __name__ == '__main__':
    unittest.main(argv=[sys.argv[0], '-q'])
