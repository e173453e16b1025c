// corona/plans.h: the model contract (nnU-Net's plans): the network's configuration, how a slice
// becomes its input, and what its labels mean. plans.json holds it beside the weights; training,
// export, the server and the browser all read it through this one header.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corona/image.h"
#include "corona/overlay.h"
#include "corona/preprocess.h"

namespace corona {

// The network's shape (plain data; the LibTorch model in native/ is built from it).
struct ModelConfig {
  std::string architecture = "unet";  // "unet" or "resunet" (ResNet-style encoder)
  int in_channels = 1;
  int base_channels = 16;  // channels after the first stage; doubled at each down-step
  int depth = 4;           // number of down-sampling steps (input size must divide by 2^depth)
  int num_classes = 4;     // segmentation classes including background
  bool classification_head = true;

  nlohmann::json to_json() const;
  // Validates every field; a missing field keeps its default, an unknown key is an error.
  static Expected<ModelConfig> from_json(const nlohmann::json& j);
  // The value checks from_json applies (architecture known, in_channels >= 1, base_channels
  // 1..256, depth 1..6, num_classes >= 2): an empty string when valid, else the message.
  std::string validate() const;
  bool operator==(const ModelConfig& o) const;
  bool operator!=(const ModelConfig& o) const { return !(*this == o); }
};

// How a slice becomes the network input: x = (v / max - mean) / std on size x size, v the
// 8-bit-range intensity; HU input reaches that range through hu_window first.
struct InputSpec {
  int size = 256;
  float mean = 0.5f;
  float std = 0.25f;
  float max = 255.0f;
  IntensityWindow hu_window = kLungWindow;

  // size a positive multiple of 2^depth (at most kMaxInputSize), finite mean, positive std and
  // max, a finite HU window centre with a positive width: "" when valid, else the message.
  std::string validate(int depth) const;
  bool operator==(const InputSpec& o) const;
  bool operator!=(const InputSpec& o) const { return !(*this == o); }
};
constexpr int kMaxInputSize = 4096;

// The network inputs of an 8-bit lung-window slice and of an HU slice under this spec
// (model_input_from_u8 / model_input_from_hu with its size, mean and std).
ImageF model_input_from_u8(const ImageU8& img, const InputSpec& spec);
ImageF model_input_from_hu(const ImageF& hu, const InputSpec& spec);

struct LabelInfo {
  int value = 0;
  std::string name;                      // machine name: "background", "ggo", ...
  std::string display_name;              // for people: "Ground-glass opacity", ...
  std::array<std::uint8_t, 3> colour{};  // sRGB overlay colour
};

// The label table of a task: multiclass = background, GGO, consolidation, effusion with the
// core's default overlay colours; binary = background, lesion. Other tasks: empty.
std::vector<LabelInfo> default_labels(const std::string& task);
// Classes a task has (multiclass 4, binary 2; 0 for an unknown task).
int task_num_classes(const std::string& task);

struct ModelPlans {
  static constexpr int kFormatVersion = 1;
  std::string name = "corona-net";
  std::string version;  // the release, e.g. "1.0.0"
  std::string task = "multiclass";
  ModelConfig model;
  InputSpec input;
  std::vector<LabelInfo> labels;                        // index = label value
  nlohmann::json files = nlohmann::json::object();      // role -> file name in the folder
  nlohmann::json training = nlohmann::json::object();   // data fingerprint, run options, epochs
  nlohmann::json onnx = nlohmann::json::object();       // opset, operators, fp16 requirements

  nlohmann::json to_json() const;
  // Parses and validates (types, ranges, labels in value order, plain file names); a plans file of
  // another format version is refused. Errors say "plans: ..." and name the field.
  static Expected<ModelPlans> from_json(const nlohmann::json& j);
  // from_json of JSON text (the browser fetches plans.json as text).
  static Expected<ModelPlans> from_text(const std::string& text);
  std::string validate() const;

  int num_classes() const { return model.num_classes; }
  // labels[value].name, or "class<value>" for a value the table lacks.
  std::string label_name(int value) const;
  // Overlay styles in label order: the plans' colours, background hidden.
  std::vector<LabelStyle> styles() const;
};

}  // namespace corona
