#!/usr/bin/env python3
"""dask map_overlap + scipy.ndimage.median_filter(size=3) over a Zarr store, counting bytes read.

    /usr/bin/python3 bench/zarr_dask_median.py IN.zarr OUT.zarr

The input store is wrapped so that every chunk fetched is counted; prints bytes read, stored
bytes of the input, and wall time. Threads = cores (dask's default threaded scheduler).
"""
import sys
import time

import dask
import dask.array as da
import scipy.ndimage as ndi
import zarr
from zarr.storage import DirectoryStore


class Counting(DirectoryStore):
    fetched = 0
    gets = 0

    def __getitem__(self, key):
        v = super().__getitem__(key)
        if not key.endswith((".zarray", ".zattrs", ".zgroup")):
            Counting.fetched += len(v)
            Counting.gets += 1
        return v


src, dst = sys.argv[1], sys.argv[2]
store = Counting(src)
a = zarr.open(store, mode="r")
x = da.from_zarr(a)
y = x.map_overlap(lambda b: ndi.median_filter(b, size=3, mode="reflect"), depth=1, boundary="reflect", dtype=x.dtype)
t0 = time.perf_counter()
with dask.config.set(scheduler="threads"):
    y.to_zarr(dst, overwrite=True)
dt = time.perf_counter() - t0
print(f"dask: read {Counting.fetched} bytes in {Counting.gets} chunk reads; input stores {a.nbytes_stored - len(store['.zarray'])} bytes of chunks; "
      f"amplification {Counting.fetched / (a.nbytes_stored - len(store['.zarray'])):.2f}; wall {dt:.1f} s")
