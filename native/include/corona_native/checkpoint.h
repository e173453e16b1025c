// corona_native/checkpoint.h: one training checkpoint file (LibTorch archive): the model's weights
// and its config, the optimizer state and every bit of randomness, so training can resume exactly;
// evaluate / export / predict load the model from the same file. Writes are atomic (replace_file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "corona/augment.h"
#include "corona/image.h"
#include "corona/preprocess.h"
#include "corona_native/model.h"

namespace corona::native {

// Everything but tensors. The archive also holds "model" (parameters and buffers), "optimizer"
// (Adam's param groups and moments, when saved) and "torch_generator" (the CPU generator state).
struct CheckpointMeta {
  int format_version = 1;
  ModelConfig model;
  std::string task = "multiclass";  // "multiclass" (labels 0-3) or "binary" (0-1)
  // How a slice becomes the network input (size, normalisation, HU window), as training used it;
  // plans.json carries the same InputSpec. In the file: input_size, input_mean, input_std and
  // hu_window (optional: kLungWindow when absent); max is always 255 (8-bit training images).
  InputSpec input;
  int epoch = 0;                // epochs completed (1-based count) when written
  std::int64_t global_step = 0;
  RngState rng;                 // the trainer's Rng after `epoch` epochs
  std::vector<std::int64_t> cls_order;  // the UCSD sampling permutation in use, and where in it
  std::int64_t cls_cursor = 0;
  double best_metric = -1.0;    // best val mean foreground Dice so far (-1: none yet)
  int best_epoch = 0;
  nlohmann::json options;       // the TrainOptions as config.json has them (information only)

  nlohmann::json to_json() const;
  static Expected<CheckpointMeta> from_json(const nlohmann::json& j);
};

// Writes temp_path_for(path), then replace_file onto it (corona/file_io.h), so a crash never
// leaves a half-written checkpoint.
// optimizer may be null (weights-only file).
Expected<bool> save_checkpoint(const std::string& path, CoronaNet& model, torch::optim::Optimizer* optimizer,
                               const CheckpointMeta& meta);

// Reads the meta data only (cheap check before building a model).
Expected<CheckpointMeta> read_checkpoint_meta(const std::string& path);

// Loads weights (and, when optimizer is non-null, its state; and the torch CPU generator state when
// restore_torch_rng) into an existing model built with the checkpoint's config; tensors land on
// `device`. Errors if the model's config differs from the file's.
Expected<CheckpointMeta> load_checkpoint(const std::string& path, CoronaNet& model,
                                         torch::optim::Optimizer* optimizer, bool restore_torch_rng,
                                         torch::Device device = torch::kCPU);

// Builds the model the checkpoint describes and loads its weights (eval mode): what evaluate,
// export, predict and serve call.
struct LoadedModel {
  CoronaNet model{nullptr};
  CheckpointMeta meta;
};
Expected<LoadedModel> load_model_from_checkpoint(const std::string& path, torch::Device device = torch::kCPU);

// Copies src to dst atomically (temp_path_for(dst), then replace_file; corona/file_io.h).
Expected<bool> copy_file_atomically(const std::string& src, const std::string& dst);

}  // namespace corona::native
