# Writes tests/data/trackeval_tiny/ with TrackEval itself (see the README there).
import sys
# usage: /usr/bin/python3 make_golden.py TRACKEVAL_CHECKOUT DATA_DIR (DATA_DIR holds gt/ and trackers/)
import os
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE); sys.path.insert(0, sys.argv[1])
D = sys.argv[2]
import numpy as np
np.float = float; np.int = int; np.bool = bool
import trackeval
ec = trackeval.Evaluator.get_default_eval_config()
ec.update({'USE_PARALLEL': False, 'PRINT_CONFIG': False, 'TIME_PROGRESS': False, 'OUTPUT_DETAILED': True,
           'PLOT_CURVES': False})
dc = trackeval.datasets.KittiMOTS.get_default_dataset_config()
dc.update({'GT_FOLDER': D + '/gt', 'TRACKERS_FOLDER': D + '/trackers', 'SPLIT_TO_EVAL': 'val',
           'TRACKERS_TO_EVAL': ['pcan'], 'PRINT_CONFIG': False, 'OUTPUT_FOLDER': D + '/out'})
ev = trackeval.Evaluator(ec)
metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({'PRINT_CONFIG': False}), trackeval.metrics.Identity({'PRINT_CONFIG': False})]
ev.evaluate([trackeval.datasets.KittiMOTS(dc)], metrics)
