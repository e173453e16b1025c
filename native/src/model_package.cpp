// Model folders: plans.json (read, validated, written), resolving --model arguments, and the
// training-data fingerprint (SHA-256 via OpenSSL).
#include "corona_native/model_package.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <openssl/evp.h>

#include "corona/file_io.h"
#include "corona/overlay.h"
#include "corona_native/dataset.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPlansFile = "plans.json";
constexpr const char* kWeightsRole = "libtorch";

const char* display_name_of(const std::string& name) {
  if (name == "background") return "Background";
  if (name == "ggo") return "Ground-glass opacity";
  if (name == "consolidation") return "Consolidation";
  if (name == "effusion") return "Pleural effusion";
  if (name == "lesion") return "Lesion (any infection)";
  return "";
}

nlohmann::json label_json(const LabelInfo& l) {
  return {{"value", l.value}, {"name", l.name}, {"display_name", l.display_name},
          {"colour", {l.colour[0], l.colour[1], l.colour[2]}}};
}

LabelInfo label_from_json(const nlohmann::json& j) {
  LabelInfo l;
  l.value = j.at("value").get<int>();
  l.name = j.at("name").get<std::string>();
  l.display_name = j.value("display_name", std::string(display_name_of(l.name)));
  const auto& c = j.at("colour");
  if (!c.is_array() || c.size() != 3) throw std::invalid_argument("label colour must be [r, g, b]");
  for (int i = 0; i < 3; ++i) {
    const int v = c.at(i).get<int>();
    if (v < 0 || v > 255) throw std::invalid_argument("label colour components must be 0..255");
    l.colour[i] = static_cast<std::uint8_t>(v);
  }
  return l;
}

// The value checks of from_json, with a message naming the field.
std::string validate(const ModelPlans& p) {
  if (p.name.empty()) return "name is empty";
  if (p.task != "multiclass" && p.task != "binary") return "task must be multiclass or binary";
  if (const std::string m = p.model.validate(); !m.empty()) return "model: " + m;
  const int expected_classes = p.task == "binary" ? 2 : 4;
  if (p.model.num_classes != expected_classes) return "model.num_classes does not match the task";
  if (p.input_size <= 0 || p.input_size > 4096 || p.input_size % (1 << p.model.depth) != 0)
    return "input.size must be a positive multiple of 2^depth (at most 4096)";
  if (!std::isfinite(p.input_mean) || !std::isfinite(p.input_std) || p.input_std <= 0.0f)
    return "input normalisation needs a finite mean and a positive std";
  if (!(p.input_max > 0.0f)) return "input.max must be positive";
  if (!std::isfinite(p.hu_window.center) || !(p.hu_window.width > 0.0f))
    return "input.hu_window needs a finite center and a positive width";
  if (static_cast<int>(p.labels.size()) != p.model.num_classes) return "labels must list every class";
  for (std::size_t i = 0; i < p.labels.size(); ++i)
    if (p.labels[i].value != static_cast<int>(i)) return "labels must be listed in value order 0, 1, ...";
  if (!p.files.is_object() || !p.files.contains(kWeightsRole) || !p.files.at(kWeightsRole).is_string())
    return "files.libtorch (the weights file) is missing";
  for (const auto& [role, file] : p.files.items()) {
    // A plans file names files beside it, never elsewhere.
    if (!file.is_string()) return "files." + role + " must be a file name";
    const std::string f = file.get<std::string>();
    if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos || f == "." || f == "..")
      return "files." + role + " must be a plain file name in the model folder";
  }
  return "";
}

}  // namespace

std::vector<LabelInfo> default_labels(const std::string& task) {
  const std::vector<LabelStyle> styles = default_lesion_styles();  // index = label value
  auto colour_of = [&](std::size_t v) {
    if (v >= styles.size()) return std::array<std::uint8_t, 3>{255, 255, 0};
    return std::array<std::uint8_t, 3>{styles[v].colour.r, styles[v].colour.g, styles[v].colour.b};
  };
  std::vector<std::string> names = task == "binary" ? std::vector<std::string>{"background", "lesion"}
                                                    : std::vector<std::string>{"background", "ggo", "consolidation", "effusion"};
  std::vector<LabelInfo> out;
  for (std::size_t v = 0; v < names.size(); ++v) {
    // Binary lesion maps draw in the GGO colour (the most common lesion).
    out.push_back({static_cast<int>(v), names[v], display_name_of(names[v]), v == 0 ? std::array<std::uint8_t, 3>{0, 0, 0} : colour_of(v)});
  }
  return out;
}

nlohmann::json ModelPlans::to_json() const {
  nlohmann::json labels_json = nlohmann::json::array();
  for (const LabelInfo& l : labels) labels_json.push_back(label_json(l));
  return {{"format", "corona-net-plans"},
          {"format_version", kFormatVersion},
          {"name", name},
          {"version", version},
          {"task", task},
          {"model", model.to_json()},
          {"input",
           {{"size", {input_size, input_size}},
            {"channels", model.in_channels},
            {"layout", "NCHW"},
            {"dtype", "float32"},
            {"resize", "bilinear, half-pixel centres (corona::resize_bilinear)"},
            {"normalisation", {{"max", input_max}, {"mean", input_mean}, {"std", input_std},
                               {"formula", "x = (v / max - mean) / std"}}},
            {"hu_window", {{"center", hu_window.center}, {"width", hu_window.width},
                           {"lower", hu_window.lower()}, {"upper", hu_window.upper()}}},
            {"orientation", "radiological display: image left = patient right, anterior up"}}},
          {"outputs",
           {{"seg_logits", "float32 [N, num_classes, H, W]: softmax over classes, resize back, argmax"},
            {"cls_logit", "float32 [N, 1]: sigmoid = P(infected)"},
            {"cam", "float32 [N, 1, H/2^depth, W/2^depth]: ReLU, bilinear upsample, min-max = CAM"}}},
          {"labels", labels_json},
          {"files", files},
          {"onnx", onnx},
          {"training", training}};
}

Expected<ModelPlans> ModelPlans::from_json(const nlohmann::json& j) {
  ModelPlans p;
  try {
    if (j.value("format", std::string()) != "corona-net-plans") return make_error("not a corona-net plans file");
    const int fv = j.at("format_version").get<int>();
    if (fv != kFormatVersion)
      return make_error("plans format_version " + std::to_string(fv) + " is not supported (this build reads " +
                        std::to_string(kFormatVersion) + ")");
    p.name = j.at("name").get<std::string>();
    p.version = j.at("version").get<std::string>();
    p.task = j.at("task").get<std::string>();
    auto model = ModelConfig::from_json(j.at("model"));
    if (!model) return make_error("plans model: " + model.error().message);
    p.model = *model;
    const auto& in = j.at("input");
    const auto& size = in.at("size");
    if (!size.is_array() || size.size() != 2 || size.at(0) != size.at(1))
      return make_error("plans input.size must be [s, s]");
    p.input_size = size.at(0).get<int>();
    const auto& norm = in.at("normalisation");
    p.input_max = norm.at("max").get<float>();
    p.input_mean = norm.at("mean").get<float>();
    p.input_std = norm.at("std").get<float>();
    p.hu_window = {in.at("hu_window").at("center").get<float>(), in.at("hu_window").at("width").get<float>()};
    for (const auto& l : j.at("labels")) p.labels.push_back(label_from_json(l));
    p.files = j.at("files");
    p.training = j.value("training", nlohmann::json::object());
    p.onnx = j.value("onnx", nlohmann::json::object());
  } catch (const std::exception& e) {
    return make_error(std::string("plans: missing or mistyped field (") + e.what() + ")");
  }
  if (const std::string m = validate(p); !m.empty()) return make_error("plans: " + m);
  return p;
}

ModelPlans plans_from_checkpoint(const CheckpointMeta& meta, const std::string& name, const std::string& version) {
  ModelPlans p;
  p.name = name;
  p.version = version;
  p.task = meta.task;
  p.model = meta.model;
  p.input_size = meta.input_size;
  p.input_mean = meta.input_mean;
  p.input_std = meta.input_std;
  p.hu_window = meta.hu_window;
  p.labels = default_labels(meta.task);
  return p;
}

Expected<ModelSource> resolve_model(const std::string& path) {
  std::error_code ec;
  ModelSource src;
  if (fs::is_directory(path, ec)) {
    const fs::path plans_path = fs::path(path) / kPlansFile;
    if (!fs::exists(plans_path, ec))
      return make_error(path + " is a folder without plans.json (give a model folder such as models/corona-net, or a checkpoint file)");
    auto j = read_json_file(plans_path.string());
    if (!j) return j.error();
    auto plans = ModelPlans::from_json(*j);
    if (!plans) return make_error(plans_path.string() + ": " + plans.error().message);
    src.plans = std::move(plans).value();
    src.checkpoint_path = (fs::path(path) / src.plans.files.at(kWeightsRole).get<std::string>()).string();
    src.from_package = true;
    auto meta = read_checkpoint_meta(src.checkpoint_path);
    if (!meta) return meta.error();
    // The weights must be the network the plans describe; a mismatch means a hand-edited folder.
    if (meta->model.to_json() != src.plans.model.to_json() || meta->input_size != src.plans.input_size ||
        meta->task != src.plans.task || meta->input_mean != src.plans.input_mean ||
        meta->input_std != src.plans.input_std)
      return make_error(plans_path.string() + " does not describe " + src.checkpoint_path + " (model, size, task or normalisation differ)");
    return src;
  }
  auto meta = read_checkpoint_meta(path);
  if (!meta) return meta.error();
  src.checkpoint_path = path;
  src.plans = plans_from_checkpoint(*meta, fs::path(path).filename().string(),
                                    "checkpoint epoch " + std::to_string(meta->epoch));
  src.plans.files[kWeightsRole] = fs::path(path).filename().string();
  return src;
}

Expected<bool> write_json_file(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return make_error("cannot write " + tmp);
    f << j.dump(2) << '\n';
    if (!f.flush()) return make_error("cannot write " + tmp + " (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return make_error("cannot rename " + tmp + " to " + path);
  }
  return true;
}

Expected<nlohmann::json> read_json_file(const std::string& path, std::uint64_t max_bytes) {
  auto bytes = read_file_bytes(path, max_bytes);
  if (!bytes) return bytes.error();
  try {
    return nlohmann::json::parse(bytes->begin(), bytes->end());
  } catch (const nlohmann::json::exception& e) {
    return make_error(path + ": not valid JSON (" + e.what() + ")");
  }
}

std::string sha256_hex(const std::uint8_t* data, std::size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data, size, digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

Expected<std::string> sha256_file(const std::string& path) {
  auto bytes = read_file_bytes(path, std::uint64_t{1} << 32);
  if (!bytes) return bytes.error();
  return sha256_hex(bytes->data(), bytes->size());
}

Expected<DataFingerprint> training_data_fingerprint(const std::string& data_dir, bool include_ucsd) {
  auto files = training_files(data_dir, include_ucsd);
  if (!files) return files.error();
  std::vector<std::string> sorted = *files;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  DataFingerprint fp;
  for (const std::string& rel : sorted) {
    const std::string full = (fs::path(data_dir) / rel).string();
    auto bytes = read_file_bytes(full, std::uint64_t{1} << 32);
    if (!bytes) return make_error("fingerprint: " + bytes.error().message);
    fp.listing += sha256_hex(bytes->data(), bytes->size()) + "  " + rel + "\n";
    fp.bytes += bytes->size();
    ++fp.files;
  }
  fp.sha256 = sha256_hex(reinterpret_cast<const std::uint8_t*>(fp.listing.data()), fp.listing.size());
  return fp;
}

}  // namespace corona::native
