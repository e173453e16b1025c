#!/usr/bin/env python3
"""Oracle for corona/nifti.h: nibabel is an independent NIfTI-1 implementation.

Both ways, in a temp dir:
 1. nibabel writes files (every datatype, scaled ints, sform / qform / both / neither, 2D and 3D,
    .nii and .nii.gz, big-endian, units in meters) -> `corona_nifti_tool dump` reads them -> same
    voxels (relative 1e-6), same affine as nibabel's img.affine when a code > 0, same zooms.
 2. `corona_nifti_tool write` writes float32, scaled int16 and uint8 label volumes with oblique
    affines (.nii and .nii.gz) -> nibabel loads them -> same voxels, affine and qform (1e-5), and
    nibabel's header diagnostics report nothing.
Run by ctest as: /usr/bin/python3 test_nifti_nibabel.py --bin-dir BUILD/bin [--fixtures DIR]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import nibabel as nib

RESULTS = []


def record(name, problems):
    RESULTS.append(not problems)
    print(("PASS " if not problems else "FAIL ") + name + ("" if not problems else ": " + "; ".join(problems)))


def rotation(ax, ay, az):
    """Rotation matrix from angles (radians) about x, then y, then z."""
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def oblique(zooms, angles, offset, flip_x=False):
    aff = np.eye(4)
    aff[:3, :3] = rotation(*angles) @ np.diag(zooms)
    if flip_x:
        aff[:3, 0] *= -1
    aff[:3, 3] = offset
    return aff


class Tool:
    def __init__(self, bin_dir, tmp):
        self.exe = os.path.join(bin_dir, "corona_nifti_tool")
        self.tmp = tmp

    def dump(self, path):
        """(header dict, voxels as (nx, ny, nz) float32) or raises with the tool's message."""
        prefix = path + ".dump"
        proc = subprocess.run([self.exe, "dump", path, prefix], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip() or "exit %d" % proc.returncode)
        with open(prefix + ".json") as f:
            info = json.load(f)
        nx, ny, nz = info["dims"]
        voxels = np.fromfile(prefix + ".f32", dtype="<f4").reshape((nz, ny, nx)).transpose(2, 1, 0)
        return info, voxels

    def write(self, path, values, affine, kind="float", datatype=16, scl=(1.0, 0.0)):
        values = np.asarray(values, dtype=np.float32)
        if values.ndim == 2:
            values = values[:, :, None]
        raw = path + ".values.f32"
        values.transpose(2, 1, 0).astype("<f4").tofile(raw)  # x fastest
        spec = path + ".spec.txt"
        with open(spec, "w") as f:
            f.write("dims %d %d %d\n" % values.shape)
            f.write("affine " + " ".join("%.17g" % x for x in np.asarray(affine).ravel()) + "\n")
            f.write("datatype %d\nkind %s\nscl %.9g %.9g\nvalues %s\n" % (datatype, kind, scl[0], scl[1], raw))
            f.write("descrip written by corona_nifti_tool\n")
        proc = subprocess.run([self.exe, "write", path, spec], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip() or "exit %d" % proc.returncode)


def close(got, want, rel, absolute=0.0):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return "shape %s != %s" % (got.shape, want.shape)
    same_nonfinite = (np.isnan(got) == np.isnan(want)).all() and (np.isinf(got) == np.isinf(want)).all()
    finite = np.isfinite(want)
    err = np.abs(got[finite] - want[finite]) - (rel * np.abs(want[finite]) + absolute)
    if not same_nonfinite or (err.size and err.max() > 0):
        i = int(np.argmax(err)) if err.size else 0
        return "max excess %.3g at flat index %d" % (err.max() if err.size else float("nan"), i)
    return None


# ------------------------------------------------------------------------------------------------
# 1. nibabel writes, we read.

def nib_image(data, sform=None, qform=None, sform_code=2, qform_code=1, dtype=None, big_endian=False, zooms=None):
    header = nib.Nifti1Header(endianness=">" if big_endian else "<")
    img = nib.Nifti1Image(data, None, header=header, dtype=dtype)
    if zooms is not None:
        img.header.set_zooms(zooms[: data.ndim])
    img.set_qform(qform, code=qform_code if qform is not None else 0)
    img.set_sform(sform, code=sform_code if sform is not None else 0)
    return img


def check_read(tool, name, img, path, units_to_mm=1.0):
    img.to_filename(path)
    problems = []
    try:
        info, voxels = tool.dump(path)
    except RuntimeError as e:
        record(name, ["tool failed: %s" % e])
        return
    ref = nib.load(path)
    want = ref.get_fdata(dtype=np.float64)
    if want.ndim == 2:
        want = want[:, :, None]
    problem = close(voxels, want, 1e-6, 1e-30)
    if problem:
        problems.append("voxels: " + problem)
    hdr = ref.header
    # A 2D file has two zooms; we keep pixdim[3] as the slice spacing, nibabel drops it.
    n = len(hdr.get_zooms()[:3])
    zooms = np.array(hdr.get_zooms()[:3] + tuple(hdr["pixdim"][1 + n:4]), dtype=np.float64)
    problem = close(info["spacing"][:n], np.abs(zooms[:n]) * units_to_mm, 1e-6)
    if problem:
        problems.append("spacing %s vs zooms %s" % (info["spacing"], zooms))
    ours = np.array(info["affine"]).reshape(4, 4)
    if hdr["sform_code"] > 0 or hdr["qform_code"] > 0:
        want_aff = ref.affine.copy()
        want_aff[:3, :] *= units_to_mm
    else:  # nibabel's no-code fallback centres the volume; NIfTI method 1 (ours) is diag(pixdim)
        want_aff = np.diag(list(np.abs(zooms) * units_to_mm) + [1.0])
    problem = close(ours, want_aff, 1e-6, 1e-5)
    if problem:
        problems.append("affine %s vs %s" % (ours.tolist(), want_aff.tolist()))
    if info["byte_swapped"] != (hdr.endianness == ">"):
        problems.append("byte_swapped %s" % info["byte_swapped"])
    if info["gzipped"] != path.endswith(".gz"):
        problems.append("gzipped %s" % info["gzipped"])
    record(name, problems)


def nibabel_writes(tool, tmp):
    rng = np.random.default_rng(7)
    shape = (5, 4, 3)
    aff = oblique((0.7, 0.8, 2.5), (0.1, -0.2, 0.3), (-90.5, 12.25, 40.0))
    aff2 = oblique((0.7, 0.8, 2.5), (0.0, 0.0, -0.5), (1, 2, 3), flip_x=True)
    ints = {np.uint8: (0, 255), np.int16: (-32768, 32767), np.int32: (-2**31, 2**31 - 1)}
    for dtype, (lo, hi) in ints.items():
        data = rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
        data.flat[0], data.flat[1] = lo, hi
        check_read(tool, "read %s" % np.dtype(dtype).name, nib_image(data, aff, aff), os.path.join(tmp, "%s.nii" % np.dtype(dtype).name))
    for dtype in (np.float32, np.float64):
        data = (rng.standard_normal(shape) * 1000).astype(dtype)
        data.flat[3] = np.nan
        data.flat[4] = -np.inf
        check_read(tool, "read %s with NaN/Inf" % np.dtype(dtype).name, nib_image(data, aff, aff), os.path.join(tmp, "%s.nii" % np.dtype(dtype).name))
    wide = np.linspace(-50000.5, 120000.25, 60).reshape(shape)
    for dtype in (np.int16, np.uint8):
        img = nib_image(wide if dtype == np.int16 else wide / 1000 + 60, aff, aff, dtype=dtype)
        path = os.path.join(tmp, "scaled_%s.nii" % np.dtype(dtype).name)
        img.to_filename(path)
        slope = nib.load(path).dataobj.slope
        name = "read %s scaled by nibabel (slope %.6g)" % (np.dtype(dtype).name, slope)
        if slope == 1.0:
            record(name, ["nibabel did not scale; case tests nothing"])
        else:
            check_read(tool, name, img, path)
    data = rng.standard_normal(shape).astype(np.float32)
    check_read(tool, "read sform only", nib_image(data, sform=aff, qform=None), os.path.join(tmp, "sform.nii"))
    check_read(tool, "read qform only", nib_image(data, sform=None, qform=aff), os.path.join(tmp, "qform.nii"))
    check_read(tool, "read qform only, left-handed", nib_image(data, sform=None, qform=aff2), os.path.join(tmp, "qform_lh.nii"))
    check_read(tool, "read both codes (sform wins)", nib_image(data, sform=aff2, qform=aff), os.path.join(tmp, "both.nii"))
    check_read(tool, "read no codes (pixdim fallback)",
               nib_image(data, sform=None, qform=None, zooms=(0.5, 0.75, 3.0)), os.path.join(tmp, "nocode.nii"))
    check_read(tool, "read 2D", nib_image(data[:, :, 0], aff, aff), os.path.join(tmp, "twod.nii"))
    check_read(tool, "read .nii.gz", nib_image(data, aff, aff), os.path.join(tmp, "gz.nii.gz"))
    check_read(tool, "read int16 .nii.gz", nib_image((data * 100).astype(np.int16), aff, aff), os.path.join(tmp, "gz16.nii.gz"))
    check_read(tool, "read big-endian float32", nib_image(data, aff, aff, big_endian=True), os.path.join(tmp, "be.nii"))
    check_read(tool, "read big-endian int16 .nii.gz",
               nib_image((data * 100).astype(np.int16), aff2, aff, big_endian=True), os.path.join(tmp, "be16.nii.gz"))
    meters = nib_image(data, aff / np.array([1000, 1000, 1000, 1])[:, None], aff / np.array([1000, 1000, 1000, 1])[:, None])
    meters.header.set_xyzt_units("meter")
    check_read(tool, "read units in meters (scaled to mm)", meters, os.path.join(tmp, "meters.nii"), units_to_mm=1000.0)
    # NIfTI-2 must be refused by name.
    path = os.path.join(tmp, "nifti2.nii")
    nib.Nifti2Image(data, aff).to_filename(path)
    try:
        tool.dump(path)
        record("refuse NIfTI-2", ["tool accepted a NIfTI-2 file"])
    except RuntimeError as e:
        record("refuse NIfTI-2", [] if "NIfTI-2" in str(e) else ["message: %s" % e])


# ------------------------------------------------------------------------------------------------
# 2. We write, nibabel reads.

def check_written(tool, name, path, values, affine, want, kind="float", datatype=16, scl=(1.0, 0.0), want_dtype=np.float32):
    problems = []
    try:
        tool.write(path, values, affine, kind, datatype, scl)
    except RuntimeError as e:
        record(name, ["tool failed: %s" % e])
        return
    img = nib.load(path)
    hdr = img.header
    diagnosis = nib.Nifti1Header.diagnose_binaryblock(hdr.binaryblock)
    if diagnosis:
        problems.append("nibabel header diagnosis: " + diagnosis.replace("\n", " | "))
    if img.get_data_dtype() != np.dtype(want_dtype):
        problems.append("dtype %s" % img.get_data_dtype())
    problem = close(img.get_fdata(dtype=np.float64), want, 1e-6, 1e-6)
    if problem:
        problems.append("voxels: " + problem)
    for label, got in (("affine", img.affine), ("qform", hdr.get_qform()), ("sform", hdr.get_sform())):
        problem = close(got, affine, 1e-5, 1e-5)
        if problem:
            problems.append("%s %s vs %s" % (label, np.round(got, 6).tolist(), np.round(affine, 6).tolist()))
    if (int(hdr["sform_code"]), int(hdr["qform_code"])) != (1, 1):
        problems.append("codes sform %d qform %d" % (hdr["sform_code"], hdr["qform_code"]))
    zooms = np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))
    problem = close(hdr.get_zooms()[:3], zooms, 1e-6)
    if problem:
        problems.append("zooms %s vs %s" % (hdr.get_zooms(), zooms))
    if hdr.get_xyzt_units()[0] != "mm":
        problems.append("units %s" % (hdr.get_xyzt_units(),))
    record(name, problems)


def we_write(tool, tmp):
    rng = np.random.default_rng(11)
    shape = (6, 5, 4)
    values = (rng.standard_normal(shape) * 500).astype(np.float32)
    values.flat[7] = np.nan
    labels = rng.integers(0, 5, size=shape).astype(np.float32)
    labels.flat[0] = 255
    aff = oblique((0.7, 0.8, 2.5), (0.3, -0.4, 1.1), (-120.5, 33.0, 7.75))
    aff_lh = oblique((1.0, 1.0, 5.0), (0.0, 0.2, 2.9), (5.0, -6.0, 70.0), flip_x=True)
    for ext in (".nii", ".nii.gz"):
        check_written(tool, "write float32 oblique " + ext, os.path.join(tmp, "w_f32" + ext), values, aff, values)
        check_written(tool, "write float32 left-handed " + ext, os.path.join(tmp, "w_f32_lh" + ext), values, aff_lh, values)
        check_written(tool, "write uint8 labels " + ext, os.path.join(tmp, "w_lab" + ext), labels, aff_lh, labels,
                      kind="label", want_dtype=np.uint8)
    # int16 with slope 0.5 / inter 10: stored = clip(round((v - 10) / 0.5)); values avoid .5 ties.
    scaled = (np.round(values * 4) / 4 + 0.1).astype(np.float32)
    scaled.flat[7] = 0
    scaled.flat[0] = 1e6
    stored = np.clip(np.round((scaled.astype(np.float64) - 10) / 0.5), -32768, 32767)
    check_written(tool, "write int16 scaled", os.path.join(tmp, "w_i16.nii"), scaled, aff, stored * 0.5 + 10,
                  datatype=4, scl=(0.5, 10.0), want_dtype=np.int16)
    check_written(tool, "write float64 2D", os.path.join(tmp, "w_f64.nii.gz"), values[:, :, :1], aff, values[:, :, :1],
                  datatype=64, want_dtype=np.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True, help="folder holding corona_nifti_tool")
    parser.add_argument("--fixtures", help="tests/fixtures (unused: every file is made here)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corona_nifti_oracle_") as tmp:
        tool = Tool(args.bin_dir, tmp)
        nibabel_writes(tool, tmp)
        we_write(tool, tmp)
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
