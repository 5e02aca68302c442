#!/usr/bin/env python3
"""zarr-python 2.13 on the same store as bench/zarr-read.ts: per slice, and per chunk-row.

    /usr/bin/python3 bench/zarr_read_python.py /tmp/bench256.zarr
"""
import sys
import time

import zarr
from zarr.storage import DirectoryStore


class Counting(DirectoryStore):
    fetched = 0

    def __getitem__(self, key):
        v = super().__getitem__(key)
        if not key.endswith((".zarray", ".zattrs", ".zgroup")):
            Counting.fetched += len(v)
        return v


path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench256.zarr"
for label, step in (("zarr-python a[z] per slice", 1), ("zarr-python per chunk-row", None)):
    Counting.fetched = 0
    a = zarr.open(Counting(path), mode="r")
    Z = a.shape[0]
    cz = a.chunks[0]
    t0 = time.perf_counter()
    if step == 1:
        for z in range(Z):
            a[z]
    else:
        for z in range(0, Z, cz):
            a[z:z + cz]
    dt = time.perf_counter() - t0
    print(f"{label:28s} {a.nbytes / 1e6 / dt:8.1f} MB/s  {dt:7.2f} s  fetched {Counting.fetched / 1e6:.1f} MB")
