#!/usr/bin/env python3
"""tools/analysis/dicom_slices_to_nifti.py: single axial CT DICOM slices -> HU NIfTI files that
`coronanet predict` reads, until the CLI reads DICOM itself. One file per slice (no series
sorting, no gantry tilt, no multi-frame): HU = pixel * RescaleSlope + RescaleIntercept, the affine
from ImageOrientationPatient / ImagePositionPatient / PixelSpacing, LPS turned into NIfTI's RAS.
Needs Debian's python3-pydicom and python3-nibabel.

    python3 tools/analysis/dicom_slices_to_nifti.py OUT_DIR FILE.dcm...
    build/bin/coronanet predict -i OUT_DIR -o OUT_DIR/predict

Used for the external look at ../shared/data/dicom/tcia_covid19_ny_sbu (never for tuning).
"""
import os
import sys

import nibabel as nib
import numpy as np
import pydicom


def slice_to_nifti(path):
    d = pydicom.dcmread(path)
    hu = d.pixel_array.astype(np.float32) * float(getattr(d, "RescaleSlope", 1)) + float(getattr(d, "RescaleIntercept", 0))
    row_mm, col_mm = (float(v) for v in d.PixelSpacing)  # between rows, between columns
    iop = np.array([float(v) for v in d.ImageOrientationPatient])
    along_row, along_col = iop[:3], iop[3:]
    affine = np.eye(4)
    affine[:3, 0] = along_row * col_mm  # voxel i = column index
    affine[:3, 1] = along_col * row_mm  # voxel j = row index
    affine[:3, 2] = np.cross(along_row, along_col) * float(getattr(d, "SliceThickness", 1) or 1)
    affine[:3, 3] = [float(v) for v in d.ImagePositionPatient]
    affine[:2, :] *= -1  # DICOM LPS -> NIfTI RAS
    return nib.Nifti1Image(hu.T[:, :, None], affine)  # (columns, rows, 1)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    for path in argv[2:]:
        name = "_".join(os.path.normpath(path).split(os.sep)[-3:]).replace(".dcm", "")
        nib.save(slice_to_nifti(path), os.path.join(out, name + ".nii.gz"))
    print(f"{len(argv) - 2} slices -> {out}")


if __name__ == "__main__":
    main(sys.argv)
