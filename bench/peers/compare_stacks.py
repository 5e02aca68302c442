#!/usr/bin/python3
"""Compares two TIFF stacks voxel for voxel (read with tifffile); prints the count of differing voxels
and exits 1 if any differ.

    /usr/bin/python3 bench/peers/compare_stacks.py A_DIR B_DIR
"""
import os
import sys

import numpy as np
import tifffile


def read_stack(d):
    names = sorted(f for f in os.listdir(d) if f.lower().endswith((".tif", ".tiff")))
    return np.stack([tifffile.imread(os.path.join(d, n)) for n in names])


a, b = read_stack(sys.argv[1]), read_stack(sys.argv[2])
if a.shape != b.shape or a.dtype != b.dtype:
    print(f"differ: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
    sys.exit(1)
n = int(np.count_nonzero(a != b))
print(f"{a.dtype} {'x'.join(map(str, a.shape))}: {n} voxels differ")
sys.exit(1 if n else 0)
