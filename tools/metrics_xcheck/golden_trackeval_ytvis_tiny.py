import sys
# Writes tests/data/trackeval_ytvis_tiny/ with TrackEval itself (see the README there):
#   /usr/bin/python3 golden_trackeval_ytvis_tiny.py TRACKEVAL_CHECKOUT DIR
# DIR holds gt/youtube_vis_val/<gt>.json and tr/youtube_vis_val/pcan/data/<results>.json; the
# tables go to stdout, the <class>_summary.txt and <class>_detailed.csv files to DIR/out/pcan/.
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); sys.path.insert(0, sys.argv[1])
D = sys.argv[2]
import numpy as np
np.float = float; np.int = int; np.bool = bool
import trackeval
from pycocotools import mask as mu
mu.frPyObjects = lambda seg, h, w: {'size': list(seg['size']), 'counts': seg['counts'].encode() if isinstance(seg['counts'], str) else seg['counts']}
ec = trackeval.Evaluator.get_default_eval_config()
ec.update({'USE_PARALLEL': False, 'PRINT_CONFIG': False, 'TIME_PROGRESS': False, 'OUTPUT_DETAILED': True, 'PLOT_CURVES': False})
dc = trackeval.datasets.YouTubeVIS.get_default_dataset_config()
dc.update({'GT_FOLDER': D + '/gt/', 'TRACKERS_FOLDER': D + '/tr/', 'SPLIT_TO_EVAL': 'val',
           'TRACKERS_TO_EVAL': ['pcan'], 'PRINT_CONFIG': False, 'OUTPUT_FOLDER': D + '/out'})
metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({'PRINT_CONFIG': False}), trackeval.metrics.Identity({'PRINT_CONFIG': False})]
trackeval.Evaluator(ec).evaluate([trackeval.datasets.YouTubeVIS(dc)], metrics)
