#!/usr/bin/python3
"""The dask backend of the benchmark matrix (bench/matrix/run.ts): da.from_zarr on a Zarr v2 copy of
the input, the op (bench/peers/matrix_ops.py) per block with map_overlap (depth = the op's reach;
boundary 'reflect' for filters, as scipy's default; 0 for binary morphology, whose outside is
background), threaded scheduler with 2 workers, then one z-slab of chunk depth at a time computed
and written as TIFF slices with tifffile.

label and edt are global (a voxel's result depends on voxels arbitrarily far away): map_overlap
cannot express them, so this exits with status 3 and prints "n/a" rather than a wrong result.

    /usr/bin/python3 bench/peers/matrix_dask.py IN.zarr OUT_DIR OP
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402

from matrix_ops import THRESHOLD, apply, parse, reach, write_slices  # noqa: E402


def main():
    src, dst, op = sys.argv[1], sys.argv[2], sys.argv[3]
    depth = reach(op)
    if depth is None:
        print(f"n/a: {op} is not expressible with map_overlap")
        sys.exit(3)
    dask.config.set(scheduler="threads", num_workers=2)
    a = da.from_zarr(src)
    name, _ = parse(op)
    if name == "copy":
        out = a
    elif name == "threshold":
        out = (a >= THRESHOLD).astype(np.uint8)
    else:
        out_dtype = np.uint8 if name == "dilate" else a.dtype
        boundary = 0 if name == "dilate" else "reflect"
        out = a.map_overlap(lambda block: apply(op, block), depth=depth, boundary=boundary, dtype=out_dtype)
    os.makedirs(dst, exist_ok=True)
    cz = a.chunks[0][0]
    for z in range(0, a.shape[0], cz):
        write_slices(dst, z, out[z : z + cz].compute())


if __name__ == "__main__":
    main()
