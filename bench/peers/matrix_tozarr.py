#!/usr/bin/python3
"""Copies a TIFF stack to a Zarr v2 array (zarr-python 2), a z-slab of chunk depth at a time, for the
dask backend of the benchmark matrix (bench/matrix/run.ts). Uncompressed (compressor=None) like the
TIFF stacks the other backends read, so no backend pays for decompression.

    /usr/bin/python3 bench/peers/matrix_tozarr.py IN_DIR OUT.zarr [CHUNK=64]
"""
import os
import sys

import numpy as np
import tifffile
import zarr

src, dst = sys.argv[1], sys.argv[2]
c = int(sys.argv[3]) if len(sys.argv) > 3 else 64
names = sorted(f for f in os.listdir(src) if f.lower().endswith((".tif", ".tiff")))
first = tifffile.imread(os.path.join(src, names[0]))
shape = (len(names),) + first.shape
tmp = dst + ".partial"
z = zarr.open(tmp, mode="w", shape=shape, chunks=(c, c, c), dtype=first.dtype, compressor=None)
for z0 in range(0, shape[0], c):
    slab = np.stack([tifffile.imread(os.path.join(src, n)) for n in names[z0 : z0 + c]])
    z[z0 : z0 + slab.shape[0]] = slab
os.rename(tmp, dst)
print(f"wrote {dst}: {first.dtype} {shape}, chunks {c}³, uncompressed")
