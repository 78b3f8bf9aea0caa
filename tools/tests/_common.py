"""Shared by tools/tests/test_*.py: import path, and a visible SKIP (exit 0) without torch."""
import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)


def need_torch(name):
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        import h5py  # noqa: F401
        import cv2  # noqa: F401
        import yaml  # noqa: F401
    except ImportError as e:
        print('SKIP %s: %s (run with /usr/bin/python3; make deps-tools)' % (name, e))
        sys.exit(0)
