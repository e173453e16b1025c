// corona_make_demo_volume OUT_IMAGE.nii.gz OUT_LABELS.nii.gz SLICE.png LABELS.png [...]: the viewer's
// demo volume. MedSeg slices are 8-bit lung-window renderings, not HU; this maps each grey level v
// back to the HU it stands for under the lung window the model was trained with
// (HU = lower + v / 255 * width, stored as int16 as scanners do) and stacks the slices along z.
// Geometry: MedSeg records no spacing, so a nominal 0.7 x 0.7 x 5 mm is written (said in the
// header's descrip); the affine is diag(-0.7, -0.7, 5) (LPS-like storage), which the viewer and
// `coronanet predict` show as stored: the same orientation as the PNGs.
#include <cstdio>
#include <string>
#include <vector>

#include "corona/image_io.h"
#include "corona/nifti.h"
#include "corona/preprocess.h"

using namespace corona;

int main(int argc, char** argv) {
  if (argc < 5 || (argc - 3) % 2 != 0) {
    std::fprintf(stderr, "usage: %s OUT_IMAGE.nii.gz OUT_LABELS.nii.gz SLICE.png LABELS.png [SLICE.png LABELS.png ...]\n", argv[0]);
    return 2;
  }
  const int nz = (argc - 3) / 2;
  VolumeF hu;
  LabelVolume labels;
  for (int z = 0; z < nz; ++z) {
    auto img = load_image_from_file(argv[3 + 2 * z]);
    auto lab = load_label_png_from_file(argv[4 + 2 * z]);
    if (!img || !lab) {
      std::fprintf(stderr, "%s\n", (!img ? img.error() : lab.error()).message.c_str());
      return 1;
    }
    if (z == 0) {
      hu = VolumeF(img->width, img->height, nz);
      labels = LabelVolume(img->width, img->height, nz);
    }
    if (img->width != hu.nx || img->height != hu.ny || lab->width != hu.nx || lab->height != hu.ny) {
      std::fprintf(stderr, "%s: all slices and labels must be %dx%d\n", argv[3 + 2 * z], hu.nx, hu.ny);
      return 1;
    }
    const float lower = kLungWindow.center - kLungWindow.width / 2.0f;
    for (std::size_t i = 0; i < img->pixels.size(); ++i)
      hu.voxels[z * img->pixels.size() + i] = lower + img->pixels[i] / 255.0f * kLungWindow.width;
    labels.set_slice(z, *lab);
  }
  for (auto* a : {&hu.affine, &labels.affine}) {
    (*a)(0, 0) = -0.7;
    (*a)(1, 1) = -0.7;
    (*a)(2, 2) = 5.0;
  }
  hu.spacing = labels.spacing = {0.7, 0.7, 5.0};
  NiftiWriteOptions o;
  o.datatype = kNiftiInt16;
  o.descrip = "MedSeg slices, HU from lung window; spacing nominal";
  if (auto r = save_nifti_to_file(argv[1], hu, o); !r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  o.descrip = "MedSeg 4-class labels (255 unknown); spacing nominal";
  if (auto r = save_nifti_to_file(argv[2], labels, o); !r) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("wrote %s and %s: %dx%dx%d\n", argv[1], argv[2], hu.nx, hu.ny, nz);
  return 0;
}
