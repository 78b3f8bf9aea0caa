# Writes tests/data/ytvis_tiny/summary.txt with YTVOSeval itself (see the README there):
#   /usr/bin/python3 golden_ytvis_tiny.py GT.json RESULTS.json YOUTUBEVOS_COCOAPI_CHECKOUT > summary.txt
import builtins, shutil, tempfile, sys, os
builtins.unicode = str
import numpy as np
np.float = float
_ls = np.linspace
np.linspace = lambda a, b, n, **k: _ls(a, b, int(n), **k)
HERE = os.path.dirname(os.path.abspath(__file__))
PKG = tempfile.mkdtemp(prefix='pcan_ytvis_')
shutil.copytree(os.path.join(HERE, 'pycocotools'), os.path.join(PKG, 'pycocotools'))
for f in ('ytvos.py', 'ytvoseval.py'):
    shutil.copy(os.path.join(sys.argv[3], 'PythonAPI', 'pycocotools', f), os.path.join(PKG, 'pycocotools', f))
os.makedirs(os.path.join(PKG, 'matplotlib'))
for f, body in (('__init__', 'def use(*a, **k): pass'), ('pyplot', ''), ('collections', 'PatchCollection = None'),
                ('patches', 'Polygon = None')):
    open(os.path.join(PKG, 'matplotlib', f + '.py'), 'w').write(body + '\n')
sys.path.insert(0, PKG)
import io, contextlib
from pycocotools.ytvos import YTVOS
from pycocotools.ytvoseval import YTVOSeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = YTVOS(sys.argv[1]); dt = gt.loadRes(sys.argv[2])
    E = YTVOSeval(gt, dt, 'segm'); E.evaluate(); E.accumulate()
E.summarize()
