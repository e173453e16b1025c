// corona_native/model_package.h: a shipped model folder (models/corona-net):
//   model.pt          weights-only checkpoint (the LibTorch format of checkpoint.h, no optimizer)
//   plans.json        everything needed to preprocess and postprocess the same way everywhere
//                     (input size, normalisation, HU window, labels and colours, output names,
//                     version, a fingerprint of the training data): schema in docs/model-package.md
//   metrics.json      evaluate summaries (val, and test once a model is chosen), for the card
//   training_log.jsonl  the run's per-epoch log (training curves for the viewer)
//   card.md           the model card (written by people, from the files above)
//   model.onnx        the same network for ONNX Runtime (coronanet export)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/image.h"
#include "corona/plans.h"
#include "corona_native/checkpoint.h"

namespace corona::native {

// ModelPlans, LabelInfo, InputSpec and default_labels (the plans.json contract) are the core's:
// corona/plans.h, shared with the browser.

// Plans implied by a checkpoint (name and version given; files and training left empty).
ModelPlans plans_from_checkpoint(const CheckpointMeta& meta, const std::string& name, const std::string& version);

// A model given on the command line: a model folder (plans.json + the weights it names) or a
// checkpoint file from coronanet train (plans synthesised from its meta, name = file name).
struct ModelSource {
  std::string checkpoint_path;  // the LibTorch file to load
  ModelPlans plans;
  bool from_package = false;    // true when plans came from a plans.json
};
Expected<ModelSource> resolve_model(const std::string& path);

// plans.json / any JSON file, written atomically (write_file_atomically), 2-space indented.
Expected<bool> write_json_file(const std::string& path, const nlohmann::json& j);
Expected<nlohmann::json> read_json_file(const std::string& path, std::uint64_t max_bytes = 16u << 20);

// Fingerprint of the training data: the files training reads (split files and every train
// image/mask), each hashed with SHA-256, listed as `sha256sum` would ("<hex>  <path relative to
// the data folder>\n", sorted by path); the fingerprint is the SHA-256 of that listing, so
// `cd DATA && sha256sum $(files) | sort -k2 | sha256sum` reproduces it.
struct DataFingerprint {
  std::string sha256;
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  std::string listing;
};
Expected<DataFingerprint> training_data_fingerprint(const std::string& data_dir, bool include_ucsd);

// SHA-256 of bytes / of a file, lower-case hex (OpenSSL EVP).
std::string sha256_hex(const std::uint8_t* data, std::size_t size);
Expected<std::string> sha256_file(const std::string& path);

}  // namespace corona::native
