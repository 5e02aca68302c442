#!/usr/bin/python3
"""Compares two TIFF stacks voxel for voxel (read with tifffile): prints how many voxels differ and,
for floats, the largest difference; exits 1 if any voxel differs by more than TOLERANCE (default 0).

    /usr/bin/python3 bench/peers/compare_stacks.py A_DIR B_DIR [TOLERANCE]
"""
import os
import sys

import numpy as np
import tifffile


def read_stack(d):
    names = sorted(f for f in os.listdir(d) if f.lower().endswith((".tif", ".tiff")))
    return np.stack([tifffile.imread(os.path.join(d, n)) for n in names])


a, b = read_stack(sys.argv[1]), read_stack(sys.argv[2])
tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
if a.shape != b.shape or a.dtype != b.dtype:
    print(f"differ: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
    sys.exit(1)
diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
n = int(np.count_nonzero(diff > tolerance))
extra = f", largest difference {diff.max():.3g}" if a.dtype.kind == "f" else ""
print(f"{a.dtype} {'x'.join(map(str, a.shape))}: {n} voxels differ{extra}")
sys.exit(1 if n else 0)
