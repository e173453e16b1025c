// tools/analysis/lung_coverage.cpp: how much of the radiologists' lesion area the core's classic
// lung mask covers when widened by r pixels, per class, on MedSeg slices of the chosen splits: the
// evidence for how wide a lung-region gate (GGO and consolidation only inside the widened lungs,
// effusion only in a band beside them) could be without cutting real lesions. Train + val only:
// the test split is for reporting.
//
//   build/bin/corona_lung_coverage DATA [train,val] [0,2,5,10,15,20,30,40]
//
// Prints one JSON object: per r, per class, reference pixels inside dilate_square(lungs, r) / all
// reference pixels of that class (255 = unknown is ignored), and the share of slices where the
// mask found no lung although the reference has lesions.
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/file_io.h"
#include "corona/image_io.h"
#include "corona/lung_mask.h"
#include "corona/postprocess.h"

namespace {

using corona::LabelMap;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string slice_path(const std::string& data, const char* folder, const char* prefix, int index) {
  char name[64];
  std::snprintf(name, sizeof name, "%s%04d.png", prefix, index);
  return data + "/medseg100/" + folder + "/" + name;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "corona_lung_coverage: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return fail("usage: corona_lung_coverage DATA [SPLITS] [RADII]");
  const std::string data = argv[1];
  const std::vector<std::string> splits = split_list(argc > 2 ? argv[2] : "train,val");
  std::vector<int> radii;
  for (const std::string& r : split_list(argc > 3 ? argv[3] : "0,2,5,10,15,20,30,40")) radii.push_back(std::stoi(r));
  for (const std::string& s : splits)
    if (s == "test") return fail("the test split is for reporting only: measure on train and val");

  auto split_text = corona::read_file_bytes(data + "/medseg100/splits/covid_semi_seg_split.json", 1 << 20);
  if (!split_text) return fail(split_text.error().message);
  const nlohmann::json split_json = nlohmann::json::parse(split_text->begin(), split_text->end(), nullptr, false);
  constexpr int kClasses = 4;
  // covered[r][c], total[c]
  std::vector<std::vector<std::uint64_t>> covered(radii.size(), std::vector<std::uint64_t>(kClasses, 0));
  std::vector<std::uint64_t> total(kClasses, 0);
  int slices = 0, lesion_slices_without_lung = 0;
  for (const std::string& s : splits) {
    if (!split_json.contains(s) || !split_json[s].is_array()) return fail("no split '" + s + "' in the split file");
    for (const auto& index_json : split_json[s]) {
      const int index = index_json.get<int>();
      auto image = corona::load_image_from_file(slice_path(data, "images", "tr_im_", index));
      auto ref = corona::load_label_png_from_file(slice_path(data, "masks_4class_derived", "tr_mask_", index));
      if (!image) return fail(image.error().message);
      if (!ref) return fail(ref.error().message);
      const LabelMap lungs = corona::lung_mask_from_u8(*image);
      LabelMap any_lung = lungs;
      for (auto& v : any_lung.pixels) v = v != 0;
      bool has_lung = false, has_lesion = false;
      for (std::size_t i = 0; i < ref->pixels.size(); ++i) {
        has_lung = has_lung || any_lung.pixels[i] != 0;
        const std::uint8_t c = ref->pixels[i];
        if (c != corona::kIgnoreLabel && c < kClasses) ++total[c];
        has_lesion = has_lesion || (c > 0 && c < kClasses);
      }
      if (has_lesion && !has_lung) ++lesion_slices_without_lung;
      for (std::size_t k = 0; k < radii.size(); ++k) {
        const LabelMap widened = radii[k] > 0 ? corona::dilate_square(any_lung, radii[k]) : any_lung;
        for (std::size_t i = 0; i < ref->pixels.size(); ++i) {
          const std::uint8_t c = ref->pixels[i];
          if (c != corona::kIgnoreLabel && c < kClasses && widened.pixels[i] != 0) ++covered[k][c];
        }
      }
      ++slices;
    }
  }
  nlohmann::json out = {{"splits", splits}, {"slices", slices}, {"lesion_slices_without_lung", lesion_slices_without_lung},
                        {"reference_px", total}, {"coverage", nlohmann::json::array()}};
  const char* names[kClasses] = {"background", "ggo", "consolidation", "effusion"};
  for (std::size_t k = 0; k < radii.size(); ++k) {
    nlohmann::json row = {{"radius_px", radii[k]}};
    for (int c = 0; c < kClasses; ++c)
      row[names[c]] = total[c] > 0 ? static_cast<double>(covered[k][c]) / static_cast<double>(total[c]) : 0.0;
    out["coverage"].push_back(row);
  }
  std::printf("%s\n", out.dump(1).c_str());
  return 0;
}
