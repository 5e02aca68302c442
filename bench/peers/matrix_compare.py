#!/usr/bin/python3
"""Compares two TIFF stacks slice by slice (memory: two slices) and prints one JSON line: whether
dtype and shape agree, how many voxels differ, the largest absolute difference and, for floats, the
largest difference in units in the last place of the reference (B). Exit status 0 in every case
that compared; the caller decides what counts as agreement.

    /usr/bin/python3 bench/peers/matrix_compare.py A_DIR B_DIR
"""
import json
import os
import sys

import numpy as np
import tifffile


def names(d):
    return sorted(f for f in os.listdir(d) if f.lower().endswith((".tif", ".tiff")))


a_dir, b_dir = sys.argv[1], sys.argv[2]
na, nb = names(a_dir), names(b_dir)
r = {"differing": 0, "maxAbs": 0.0, "maxUlp": 0.0, "voxels": 0}
if len(na) != len(nb):
    r.update(sameShape=False, detail=f"{len(na)} vs {len(nb)} slices")
    print(json.dumps(r))
    sys.exit(0)
for i, (fa, fb) in enumerate(zip(na, nb)):
    a = tifffile.imread(os.path.join(a_dir, fa))
    b = tifffile.imread(os.path.join(b_dir, fb))
    if i == 0:
        r["dtypeA"], r["dtypeB"] = str(a.dtype), str(b.dtype)
        r["shapeA"] = [len(na)] + list(a.shape)
        r["shapeB"] = [len(nb)] + list(b.shape)
    if a.shape != b.shape or a.dtype != b.dtype:
        r.update(sameShape=a.shape == b.shape, sameDtype=a.dtype == b.dtype, detail=f"slice {i}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
        print(json.dumps(r))
        sys.exit(0)
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    r["voxels"] += d.size
    r["differing"] += int(np.count_nonzero(d))
    r["maxAbs"] = max(r["maxAbs"], float(d.max()))
    if a.dtype.kind == "f":
        ulp = d / np.spacing(np.abs(b)).astype(np.float64)
        r["maxUlp"] = max(r["maxUlp"], float(ulp.max()))
r.update(sameShape=True, sameDtype=True)
print(json.dumps(r))
