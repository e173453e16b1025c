// corona_native/dataset.h: the training data (MedSeg slices with 4-class masks on the COVID-SemiSeg
// split, UCSD COVID-CT with its official split) loaded from a data folder, and turned into tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "corona/augment.h"
#include "corona/image.h"

namespace corona::native {

// Input normalisation of the network, in units of the [0, 1]-scaled 8-bit slice:
// x = (u8 / 255 - kInputMean) / kInputStd (corona::model_input_from_u8). Fixed numbers, not data
// statistics, so every front-end can apply them without the training set; written to config.json,
// every checkpoint and (by the exporter) plans.json. Changing them invalidates trained models.
constexpr float kInputMean = 0.5f;
constexpr float kInputStd = 0.25f;

// One MedSeg slice: index into the 100-slice set (tr_im_%04d.png), 8-bit image, 4-class labels.
struct SegCase {
  int index = 0;
  ImageU8 image;
  LabelMap labels;  // 0 bg, 1 GGO, 2 consolidation, 3 effusion, 255 ignore; same size as image
};

// One UCSD COVID-CT image: file name, grey image (any size), label 1 = COVID, 0 = non-COVID.
struct ClsCase {
  std::string name;
  ImageU8 image;
  int label = 0;
};

// MedSeg slices of one split ("train", "val" or "test") of
// DATA/medseg100/splits/covid_semi_seg_split.json (0-based indices), read from
// DATA/medseg100/images/tr_im_%04d.png and DATA/medseg100/masks_4class_derived/tr_mask_%04d.png,
// in the order the split file lists them. Errors name the missing folder or file.
Expected<std::vector<SegCase>> load_medseg_split(const std::string& data_dir, const std::string& split);

// UCSD images of one split ("train", "val" or "test"): DATA/ucsd_covid_ct_cropped/splits/
// {split}CT_COVID.txt (label 1, images in CT_COVID/) then {split}CT_NonCOVID.txt (label 0,
// CT_NonCOVID/), list order kept; converted to grey by the core's decoder.
Expected<std::vector<ClsCase>> load_ucsd_split(const std::string& data_dir, const std::string& split);

// The files training reads, as paths relative to data_dir: the MedSeg split file, then each train
// slice's image and 4-class mask (split order); with include_ucsd, each UCSD train list followed
// by its images. What the model package's data fingerprint hashes.
Expected<std::vector<std::string>> training_files(const std::string& data_dir, bool include_ucsd);

// Lesion vs background: labels 1..254 -> 1, 0 -> 0, 255 (unknown class) stays 255.
LabelMap lesion_labels(const LabelMap& labels);

// A segmentation batch: image [B, 1, S, S] float32 normalised; target [B, S, S] int64 with the
// label values (255 = ignore kept).
struct SegBatch {
  torch::Tensor image;
  torch::Tensor target;
};

// A classification batch: image [B, 1, S, S] float32 normalised; label [B] float32 (0 or 1).
struct ClsBatch {
  torch::Tensor image;
  torch::Tensor label;
};

// Builds the batch of cases[indices[i]]. Without augmentation every image is exactly
// model_input_from_u8(image, size, kInputMean, kInputStd) and the mask resize_nearest(size).
// With augmentation: image -> float (0..255) and bilinear resize to size x size, mask nearest
// resize, then corona::augment(cfg, rng) on the pair (intensities still 0..255, as the config's
// defaults expect), then normalize_intensity. Only rng is drawn from (17 draws per sample), so a
// restored rng state reproduces the batch exactly. Throws std::out_of_range on a bad index.
SegBatch make_seg_batch(const std::vector<SegCase>& cases, const std::vector<std::size_t>& indices,
                        int size, bool augment, const AugmentConfig& cfg, Rng& rng);
ClsBatch make_cls_batch(const std::vector<ClsCase>& cases, const std::vector<std::size_t>& indices,
                        int size, bool augment, const AugmentConfig& cfg, Rng& rng);

// Fisher-Yates permutation of 0..n-1 drawn from rng (n - 1 draws).
std::vector<std::size_t> shuffled_indices(std::size_t n, Rng& rng);

}  // namespace corona::native
