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
#include "corona_native/dataset.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPlansFile = "plans.json";
constexpr const char* kWeightsRole = "libtorch";

}  // namespace

ModelPlans plans_from_checkpoint(const CheckpointMeta& meta, const std::string& name, const std::string& version) {
  ModelPlans p;
  p.name = name;
  p.version = version;
  p.task = meta.task;
  p.model = meta.model;
  p.input = meta.input;
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
    if (!src.plans.files.contains(kWeightsRole) || !src.plans.files.at(kWeightsRole).is_string())
      return make_error(plans_path.string() + ": plans: files.libtorch (the weights file) is missing");
    src.checkpoint_path = (fs::path(path) / src.plans.files.at(kWeightsRole).get<std::string>()).string();
    src.from_package = true;
    auto meta = read_checkpoint_meta(src.checkpoint_path);
    if (!meta) return meta.error();
    // The weights must be the network the plans describe; a mismatch means a hand-edited folder.
    if (meta->model != src.plans.model || meta->task != src.plans.task || meta->input != src.plans.input)
      return make_error(plans_path.string() + " does not describe " + src.checkpoint_path +
                        " (model, task or input: size, normalisation or HU window differ)");
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
  return write_file_atomically(path, j.dump(2) + "\n");
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
