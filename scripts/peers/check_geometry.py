#!/usr/bin/python3
"""Checks the physical metadata of slicewise's outputs with peer readers.

    npx tsx scripts/peers/write_geometry_outputs.ts DIR && /usr/bin/python3 scripts/peers/check_geometry.py DIR

For each entry of DIR/manifest.json (the geometry written: unit, space, origin (x, y, z), direction
columns, spacing (z, y, x)) the expected affine is computed here, independently, with numpy:
- NIfTI: nibabel's best affine (sform) and its qform must equal it in RAS (LPS mirrored in x and
  y) and in the unit nibabel reports (nm becomes micron; m, mm, micron as written).
- NRRD: the header's space, space directions, space origin and space units, parsed here.
- OME-Zarr: zarr-python opens the group; level 0's scale and translation are the spacing and the
  origin (z, y, x), the axes' unit is the UDUNITS name; a rotation or a frame must be in `drops`.
Prints one line per output; exits 1 if any check fails.
"""
import json
import os
import re
import sys

import nibabel as nib
import numpy as np
import zarr

DIR = sys.argv[1] if len(sys.argv) > 1 else "/tmp/slicewise-geometry"
manifest = json.load(open(os.path.join(DIR, "manifest.json")))
METRES = {"m": 1.0, "mm": 1e-3, "µm": 1e-6, "nm": 1e-9}
NIBABEL_UNIT = {"m": "meter", "mm": "mm", "µm": "micron"}
UDUNITS = {"mm": "millimeter", "µm": "micrometer", "nm": "nanometer", "m": "meter"}
failures = 0


def affine_of(e, space=None, unit=None):
    """4×4 affine from voxel (x, y, z) to the physical point, in `space` and `unit`."""
    d = np.array(e["direction"], dtype=float).T  # columns are the index axes
    s = np.array(e["spacing"][::-1], dtype=float)  # x, y, z
    a = np.eye(4)
    a[:3, :3] = d * s
    a[:3, 3] = e["origin"]
    if space is not None and e.get("space") is not None and e["space"] != space:
        a[:2, :] *= -1
    if unit is not None and e.get("unit") is not None:
        a[:3, :] *= METRES[e["unit"]] / METRES[unit]
    return a


def check(name, ok, detail=""):
    global failures
    print(f"ok   {name}" if ok else f"FAIL {name} {detail}")
    failures += 0 if ok else 1


for e in manifest:
    path = os.path.join(DIR, e["file"])
    if e["file"].endswith(".nii.gz"):
        img = nib.load(path)
        unit = e.get("unit")
        written = unit if unit in NIBABEL_UNIT else ("µm" if unit == "nm" else "mm")
        want = affine_of(e, "RAS", written)
        got_unit = img.header.get_xyzt_units()[0]
        check(f"{e['file']} nibabel unit", got_unit == NIBABEL_UNIT[written], f"{got_unit}")
        check(f"{e['file']} nibabel sform", np.allclose(img.get_sform(), want, rtol=1e-6, atol=1e-5), f"\n{img.get_sform()}\nvs\n{want}")
        check(f"{e['file']} nibabel qform", np.allclose(img.get_qform(), want, rtol=1e-5, atol=1e-4), "")
    elif e["file"].endswith(".nrrd"):
        text = open(path, "rb").read().split(b"\n\n", 1)[0].decode("ascii")
        fields = dict(re.findall(r"^([a-z ]+): (.*)$", text, re.M))
        space = {"left-posterior-superior": "LPS", "right-anterior-superior": "RAS"}.get(fields.get("space"))
        check(f"{e['file']} space", space == e.get("space"), f"{fields.get('space')}")
        dirs = np.array([[float(v) for v in g.split(",")] for g in re.findall(r"\(([^)]*)\)", fields["space directions"])]).T
        origin = [float(v) for v in re.findall(r"\(([^)]*)\)", fields["space origin"])[0].split(",")]
        want = affine_of(e)
        check(f"{e['file']} directions and origin", np.allclose(dirs, want[:3, :3], rtol=1e-12, atol=1e-12) and np.allclose(origin, want[:3, 3]))
        units = re.findall(r'"([^"]*)"', fields.get("space units", ""))
        check(f"{e['file']} units", units == [{"µm": "um"}.get(e.get("unit"), e.get("unit"))] * 3, f"{units}")
    elif e["file"].endswith(".ome.zarr"):
        ms = zarr.open_group(path, mode="r").attrs["multiscales"][0]
        t = ms["datasets"][0]["coordinateTransformations"]
        scale = next(x["scale"] for x in t if x["type"] == "scale")
        translation = next(x["translation"] for x in t if x["type"] == "translation")
        check(f"{e['file']} zarr-python scale", np.allclose(scale, e["spacing"]), f"{scale}")
        check(f"{e['file']} zarr-python translation", np.allclose(translation, e["origin"][::-1]), f"{translation}")
        check(f"{e['file']} unit", all(a.get("unit") == UDUNITS[e["unit"]] for a in ms["axes"]), f"{[a.get('unit') for a in ms['axes']]}")
        rotated = not np.allclose(np.array(e["direction"]), np.eye(3))
        said = " ".join(e["drops"])
        check(f"{e['file']} drops named", ("direction" in said) == rotated and ("frame" in said) == (e.get("space") is not None), f"{e['drops']}")

print(f"{len(manifest)} outputs, {failures} failed")
sys.exit(1 if failures else 0)
