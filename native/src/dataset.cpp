// Data loading for training: the data folder's layout (docs/training.md), split files, batches as
// tensors.
#include "corona_native/dataset.h"

#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "corona/file_io.h"
#include "corona/image_io.h"
#include "corona/preprocess.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxSplitFileBytes = 16u << 20;

// Each (folder, what it holds) must exist; the first missing one is named in the error.
Expected<bool> require_dirs(std::initializer_list<std::pair<fs::path, std::string>> dirs) {
  for (const auto& [dir, what] : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      return make_error(what + " folder not found: " + dir.string() +
                        " (expected the data folder layout of docs/training.md)");
    }
  }
  return true;
}

std::string slice_name(const char* prefix, int index) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%04d.png", prefix, index);
  return buf;
}

Expected<std::vector<std::string>> read_list(const fs::path& path) {
  auto bytes = read_file_bytes(path.string(), kMaxSplitFileBytes);
  if (!bytes) return make_error("cannot read split list: " + bytes.error().message);
  std::vector<std::string> names;
  std::string line;
  auto flush = [&] {
    // Trim spaces and the CR of CRLF files; skip empty lines.
    const auto b = line.find_first_not_of(" \t\r");
    const auto e = line.find_last_not_of(" \t\r");
    if (b != std::string::npos) names.push_back(line.substr(b, e - b + 1));
    line.clear();
  };
  for (std::uint8_t c : *bytes) {
    if (c == '\n') flush();
    else line.push_back(static_cast<char>(c));
  }
  flush();
  return names;
}

bool valid_split(const std::string& split) { return split == "train" || split == "val" || split == "test"; }

torch::Tensor image_tensor(const ImageF& img) {
  return torch::from_blob(const_cast<float*>(img.pixels.data()), {1, img.height, img.width}, torch::kFloat32)
      .clone();
}

// The float image, 0..255, resized; the shared first step of both batch kinds.
Sample resized_sample(const ImageU8& image, const LabelMap* labels, int size) {
  Sample s;
  s.image = resize_bilinear(u8_to_float(image), size, size);
  if (labels != nullptr) s.mask = resize_nearest(*labels, size, size);
  return s;
}

}  // namespace

namespace {

// The checks and split parsing load_medseg_split and training_files share: the MedSeg root (its
// folders verified) and the split's 0-based slice indices, in the split file's order.
struct MedsegSplit {
  fs::path root;
  fs::path split_file;
  std::vector<int> indices;
};

Expected<MedsegSplit> read_medseg_split(const std::string& data_dir, const std::string& split) {
  if (!valid_split(split)) return make_error("unknown MedSeg split '" + split + "' (use train, val or test)");
  MedsegSplit out;
  out.root = fs::path(data_dir) / "medseg100";
  auto dirs_ok = require_dirs({{out.root, "MedSeg (medseg100)"},
                               {out.root / "images", "MedSeg images"},
                               {out.root / "masks_4class_derived", "MedSeg 4-class masks"},
                               {out.root / "splits", "MedSeg splits"}});
  if (!dirs_ok) return dirs_ok.error();
  out.split_file = out.root / "splits" / "covid_semi_seg_split.json";
  auto bytes = read_file_bytes(out.split_file.string(), kMaxSplitFileBytes);
  if (!bytes) return make_error("cannot read the MedSeg split file: " + bytes.error().message);
  try {
    const auto j = nlohmann::json::parse(bytes->begin(), bytes->end());
    if (!j.contains(split) || !j.at(split).is_array())
      return make_error(out.split_file.string() + ": no array \"" + split + "\"");
    for (const auto& v : j.at(split)) {
      if (!v.is_number_integer() || v.get<int>() < 0 || v.get<int>() > 9999)
        return make_error(out.split_file.string() + ": \"" + split + "\" holds a non-index value " + v.dump());
      out.indices.push_back(v.get<int>());
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(out.split_file.string() + ": not valid JSON (" + e.what() + ")");
  }
  return out;
}

fs::path medseg_image_path(const fs::path& root, int index) { return root / "images" / slice_name("tr_im_", index); }
fs::path medseg_mask_path(const fs::path& root, int index) {
  return root / "masks_4class_derived" / slice_name("tr_mask_", index);
}

// UCSD root (folders verified), and per class (COVID = 1, NonCOVID = 0) its list file and names.
struct UcsdList {
  std::string cls;
  int label = 0;
  fs::path list_file;
  std::vector<std::string> names;
};
struct UcsdSplit {
  fs::path root;
  std::vector<UcsdList> lists;
};

Expected<UcsdSplit> read_ucsd_split(const std::string& data_dir, const std::string& split) {
  if (!valid_split(split)) return make_error("unknown UCSD split '" + split + "' (use train, val or test)");
  UcsdSplit out;
  out.root = fs::path(data_dir) / "ucsd_covid_ct_cropped";
  auto dirs_ok = require_dirs({{out.root, "UCSD COVID-CT (ucsd_covid_ct_cropped)"},
                               {out.root / "CT_COVID", "UCSD COVID images"},
                               {out.root / "CT_NonCOVID", "UCSD non-COVID images"},
                               {out.root / "splits", "UCSD splits"}});
  if (!dirs_ok) return dirs_ok.error();
  for (const auto& [cls, label] : {std::pair{std::string("COVID"), 1}, std::pair{std::string("NonCOVID"), 0}}) {
    UcsdList list{cls, label, out.root / "splits" / (split + "CT_" + cls + ".txt"), {}};
    auto names = read_list(list.list_file);
    if (!names) return names.error();
    list.names = std::move(names).value();
    out.lists.push_back(std::move(list));
  }
  return out;
}

}  // namespace

Expected<std::vector<SegCase>> load_medseg_split(const std::string& data_dir, const std::string& split) {
  auto parsed = read_medseg_split(data_dir, split);
  if (!parsed) return parsed.error();
  std::vector<SegCase> cases;
  cases.reserve(parsed->indices.size());
  for (int index : parsed->indices) {
    const fs::path image_path = medseg_image_path(parsed->root, index);
    const fs::path mask_path = medseg_mask_path(parsed->root, index);
    auto image = load_image_from_file(image_path.string());
    if (!image) return make_error("MedSeg slice " + std::to_string(index) + ": " + image.error().message);
    auto labels = load_label_png_from_file(mask_path.string());
    if (!labels) return make_error("MedSeg mask " + std::to_string(index) + ": " + labels.error().message);
    if (labels->width != image->width || labels->height != image->height) {
      return make_error(mask_path.string() + ": mask is " + std::to_string(labels->width) + "x" +
                        std::to_string(labels->height) + " but its image is " + std::to_string(image->width) +
                        "x" + std::to_string(image->height));
    }
    cases.push_back({index, std::move(image).value(), std::move(labels).value()});
  }
  return cases;
}

Expected<std::vector<ClsCase>> load_ucsd_split(const std::string& data_dir, const std::string& split) {
  auto parsed = read_ucsd_split(data_dir, split);
  if (!parsed) return parsed.error();
  std::vector<ClsCase> cases;
  for (const UcsdList& list : parsed->lists) {
    for (const std::string& name : list.names) {
      const fs::path path = parsed->root / ("CT_" + list.cls) / name;
      auto image = load_image_from_file(path.string());
      if (!image) return make_error("UCSD image: " + image.error().message);
      cases.push_back({name, std::move(image).value(), list.label});
    }
  }
  return cases;
}

Expected<std::vector<std::string>> training_files(const std::string& data_dir, bool include_ucsd) {
  std::vector<fs::path> paths;
  auto medseg = read_medseg_split(data_dir, "train");
  if (!medseg) return medseg.error();
  paths.push_back(medseg->split_file);
  for (int index : medseg->indices) {
    paths.push_back(medseg_image_path(medseg->root, index));
    paths.push_back(medseg_mask_path(medseg->root, index));
  }
  if (include_ucsd) {
    auto ucsd = read_ucsd_split(data_dir, "train");
    if (!ucsd) return ucsd.error();
    for (const UcsdList& list : ucsd->lists) {
      paths.push_back(list.list_file);
      for (const std::string& name : list.names) paths.push_back(ucsd->root / ("CT_" + list.cls) / name);
    }
  }
  std::vector<std::string> out;
  out.reserve(paths.size());
  for (const fs::path& p : paths) out.push_back(p.lexically_relative(data_dir).generic_string());
  return out;
}

LabelMap lesion_labels(const LabelMap& labels) {
  LabelMap out = labels;
  for (auto& v : out.pixels) {
    if (v != 0 && v != kIgnoreLabel) v = 1;
  }
  return out;
}

SegBatch make_seg_batch(const std::vector<SegCase>& cases, const std::vector<std::size_t>& indices, int size,
                        bool augment, const AugmentConfig& cfg, Rng& rng) {
  std::vector<torch::Tensor> images, targets;
  for (std::size_t i : indices) {
    const SegCase& c = cases.at(i);
    Sample s;
    if (augment) {
      s = corona::augment(resized_sample(c.image, &c.labels, size), cfg, rng);
      s.image = normalize_intensity(s.image, kInputMean, kInputStd, 255.0f);
    } else {
      s.image = model_input_from_u8(c.image, size, kInputMean, kInputStd);  // what inference sees
      s.mask = resize_nearest(c.labels, size, size);
    }
    images.push_back(image_tensor(s.image));
    targets.push_back(
        torch::from_blob(s.mask.pixels.data(), {s.mask.height, s.mask.width}, torch::kUInt8).to(torch::kInt64));
  }
  return {torch::stack(images), torch::stack(targets)};
}

ClsBatch make_cls_batch(const std::vector<ClsCase>& cases, const std::vector<std::size_t>& indices, int size,
                        bool augment, const AugmentConfig& cfg, Rng& rng) {
  std::vector<torch::Tensor> images;
  std::vector<float> labels;
  for (std::size_t i : indices) {
    const ClsCase& c = cases.at(i);
    ImageF x;
    if (augment) {
      x = normalize_intensity(corona::augment(resized_sample(c.image, nullptr, size), cfg, rng).image, kInputMean,
                              kInputStd, 255.0f);
    } else {
      x = model_input_from_u8(c.image, size, kInputMean, kInputStd);
    }
    images.push_back(image_tensor(x));
    labels.push_back(static_cast<float>(c.label));
  }
  return {torch::stack(images), torch::tensor(labels, torch::kFloat32)};
}

std::vector<std::size_t> shuffled_indices(std::size_t n, Rng& rng) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  for (std::size_t i = n; i > 1; --i) {
    const std::size_t j = rng.uniform_int(static_cast<std::uint32_t>(i));
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

}  // namespace corona::native
