"""The ops of the benchmark matrix (bench/matrix/run.ts) as scipy.ndimage / skimage calls, with
slicewise's semantics, shared by matrix_scipy.py (whole volume in memory) and matrix_dask.py (per
block under dask's map_overlap), plus TIFF-stack reading and writing with tifffile.

An op is NAME or NAME:PARAM: copy, threshold:128, uniform:K, gaussian:S, median:R, dilate:R (ball of
radius R after v >= 128), label:26 (after v >= 128), edt (after v >= 128).
"""
import os

import numpy as np
import scipy.ndimage as ndi
import tifffile

THRESHOLD = 128


def read_stack(d):
    names = sorted(f for f in os.listdir(d) if f.lower().endswith((".tif", ".tiff")))
    first = tifffile.imread(os.path.join(d, names[0]))
    vol = np.empty((len(names),) + first.shape, first.dtype)
    vol[0] = first
    for i, n in enumerate(names[1:], 1):
        vol[i] = tifffile.imread(os.path.join(d, n))
    return vol


def write_slices(d, first_z, slab):
    for k in range(slab.shape[0]):
        tifffile.imwrite(os.path.join(d, f"slice_{first_z + k:05d}.tif"), slab[k])


def parse(op):
    name, _, param = op.partition(":")
    return name, param


def mask(vol):
    """threshold:min=128 of slicewise: uint8 1 where v >= 128."""
    return (vol >= THRESHOLD).view(np.uint8)


def ball(radius):
    from skimage.morphology import ball as skball

    return skball(radius).astype(bool)


def reach(op):
    """How far (voxels, every axis) an output voxel sees into its input: map_overlap's depth."""
    name, param = parse(op)
    if name in ("copy", "threshold"):
        return 0
    if name == "uniform":
        return int(param) // 2
    if name == "gaussian":
        return int(4.0 * float(param) + 0.5)  # scipy: radius = int(truncate * sigma + 0.5)
    if name in ("median", "dilate"):
        return int(param)
    return None  # label, edt: global, not a bounded neighbourhood


def apply(op, vol):
    """The op on an in-memory array (a whole volume, or a block with its halo)."""
    name, param = parse(op)
    if name == "copy":
        return vol
    if name == "threshold":
        return mask(vol)
    if name == "uniform":
        return ndi.uniform_filter(vol, size=int(param))
    if name == "gaussian":
        return ndi.gaussian_filter(vol, sigma=float(param), truncate=4.0)
    if name == "median":
        return ndi.median_filter(vol, size=2 * int(param) + 1)
    if name == "dilate":
        # Binary morphology: the outside is background (scipy's border_value=0).
        return ndi.binary_dilation(vol >= THRESHOLD, structure=ball(int(param))).view(np.uint8)
    if name == "label":
        rank = {6: 1, 18: 2, 26: 3}[int(param or 26)]
        out = np.empty(vol.shape, np.uint32)
        ndi.label(vol >= THRESHOLD, structure=ndi.generate_binary_structure(3, rank), output=out)
        return out
    if name == "edt":
        return ndi.distance_transform_edt(vol >= THRESHOLD).astype(np.float32)
    raise SystemExit(f"unknown op {op}")
