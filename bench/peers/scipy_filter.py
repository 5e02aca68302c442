#!/usr/bin/python3
"""The peer of `slicewise run`: read a TIFF stack with tifffile, filter with scipy.ndimage (or
skimage), write a TIFF stack. Run under GNU time to measure wall time and peak RSS.

    /usr/bin/python3 bench/peers/scipy_filter.py IN_DIR OUT_DIR median 1
    /usr/bin/python3 bench/peers/scipy_filter.py IN_DIR OUT_DIR uniform 3
    /usr/bin/python3 bench/peers/scipy_filter.py IN_DIR OUT_DIR edt 128        # of (v >= 128)
    /usr/bin/python3 bench/peers/scipy_filter.py IN_DIR OUT_DIR label26 128    # of (v >= 128)
    /usr/bin/python3 bench/peers/scipy_filter.py IN_DIR OUT_DIR otsu 0
"""
import os
import sys

import numpy as np
import scipy.ndimage as ndi
import tifffile


def read_stack(d):
    names = sorted(f for f in os.listdir(d) if f.lower().endswith((".tif", ".tiff")))
    first = tifffile.imread(os.path.join(d, names[0]))
    vol = np.empty((len(names),) + first.shape, first.dtype)
    for i, n in enumerate(names):
        vol[i] = tifffile.imread(os.path.join(d, n))
    return vol


def write_stack(d, vol):
    os.makedirs(d, exist_ok=True)
    for z in range(vol.shape[0]):
        tifffile.imwrite(os.path.join(d, f"slice_{z:05d}.tif"), vol[z])


def main():
    src, dst, op, param = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    vol = read_stack(src)
    if op == "median":
        out = ndi.median_filter(vol, size=2 * int(param) + 1)
    elif op == "uniform":
        out = ndi.uniform_filter(vol, size=int(param))
    elif op == "gaussian":
        out = ndi.gaussian_filter(vol, sigma=param)
    elif op == "edt":
        out = ndi.distance_transform_edt(vol >= param).astype(np.float32)
    elif op.startswith("label"):
        conn = int(op[len("label"):] or 26)
        rank = {6: 1, 18: 2, 26: 3}[conn]
        out, _ = ndi.label(vol >= param, structure=ndi.generate_binary_structure(3, rank))
        out = out.astype(np.uint32)
    elif op == "otsu":
        from skimage.filters import threshold_otsu
        out = (vol > threshold_otsu(vol)).astype(np.uint8)
    elif op == "copy":
        out = vol
    else:
        raise SystemExit(f"unknown op {op}")
    write_stack(dst, out)


if __name__ == "__main__":
    main()
