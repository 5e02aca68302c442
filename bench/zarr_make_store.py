#!/usr/bin/env python3
"""Makes a synthetic uint8 Zarr v2 store with zarr-python (default compressor: blosc lz4 + shuffle).

    /usr/bin/python3 bench/zarr_make_store.py OUT SIZE CHUNK      # e.g. /tmp/bench512.zarr 512 64

The volume is smooth structure plus noise (compresses about 2x, like real microscopy more or less),
written a z-slab at a time so memory stays at one slab.
"""
import sys

import numpy as np
import zarr

out, size, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
a = zarr.open(out, mode="w", shape=(size,) * 3, chunks=(chunk,) * 3, dtype="uint8")
rng = np.random.default_rng(1)
y, x = np.mgrid[0:size, 0:size]
for z0 in range(0, size, chunk):
    zs = np.arange(z0, min(z0 + chunk, size))[:, None, None]
    smooth = 128 + 60 * np.sin(x / 23.0 + zs / 31.0) * np.cos(y / 17.0 - zs / 29.0)
    a[z0:z0 + len(zs)] = np.clip(smooth + rng.integers(-12, 13, size=(len(zs), size, size)), 0, 255).astype("uint8")
print(out, a.shape, a.chunks, a.compressor, a.nbytes_stored, "bytes stored")
