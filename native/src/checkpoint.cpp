// Checkpoint files: a LibTorch archive with "meta" (JSON text), "model", "optimizer" and
// "torch_generator". 64-bit unsigned values (Rng state) travel as decimal strings inside the JSON,
// so nothing depends on how an archive stores integers.
#include "corona_native/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>

#include "corona/file_io.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

std::string u64_text(std::uint64_t v) { return std::to_string(v); }

Expected<std::uint64_t> u64_from(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j.at(key).is_string()) return make_error(std::string("checkpoint meta: missing ") + key);
  try {
    std::size_t used = 0;
    const std::string s = j.at(key).get<std::string>();
    const unsigned long long v = std::stoull(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
    return static_cast<std::uint64_t>(v);
  } catch (const std::exception&) {
    return make_error(std::string("checkpoint meta: ") + key + " is not an unsigned integer");
  }
}

}  // namespace

nlohmann::json CheckpointMeta::to_json() const {
  return {{"format_version", format_version},
          {"model", model.to_json()},
          {"task", task},
          {"input_size", input.size},
          {"input_mean", input.mean},
          {"input_std", input.std},
          {"hu_window", {{"center", input.hu_window.center}, {"width", input.hu_window.width}}},
          {"epoch", epoch},
          {"global_step", global_step},
          {"rng_state", u64_text(rng.state)},
          {"rng_inc", u64_text(rng.inc)},
          {"cls_order", cls_order},
          {"cls_cursor", cls_cursor},
          {"best_metric", best_metric},
          {"best_epoch", best_epoch},
          {"options", options}};
}

Expected<CheckpointMeta> CheckpointMeta::from_json(const nlohmann::json& j) {
  CheckpointMeta m;
  try {
    m.format_version = j.at("format_version").get<int>();
    if (m.format_version != 1)
      return make_error("checkpoint format_version " + std::to_string(m.format_version) + " is not supported (1)");
    auto model = ModelConfig::from_json(j.at("model"));
    if (!model) return make_error("checkpoint: " + model.error().message);
    m.model = *model;
    m.task = j.at("task").get<std::string>();
    m.input.size = j.at("input_size").get<int>();
    m.input.mean = j.at("input_mean").get<float>();
    m.input.std = j.at("input_std").get<float>();
    if (j.contains("hu_window"))
      m.input.hu_window = {j.at("hu_window").at("center").get<float>(), j.at("hu_window").at("width").get<float>()};
    if (const std::string e = m.input.validate(m.model.depth); !e.empty()) return make_error("checkpoint meta: " + e);
    m.epoch = j.at("epoch").get<int>();
    m.global_step = j.at("global_step").get<std::int64_t>();
    auto s = u64_from(j, "rng_state");
    if (!s) return s.error();
    auto inc = u64_from(j, "rng_inc");
    if (!inc) return inc.error();
    m.rng = {*s, *inc};
    m.cls_order = j.at("cls_order").get<std::vector<std::int64_t>>();
    m.cls_cursor = j.at("cls_cursor").get<std::int64_t>();
    m.best_metric = j.at("best_metric").is_number() ? j.at("best_metric").get<double>() : -1.0;
    m.best_epoch = j.at("best_epoch").get<int>();
    if (j.contains("options")) m.options = j.at("options");
  } catch (const nlohmann::json::exception& e) {
    return make_error(std::string("checkpoint meta: ") + e.what());
  }
  return m;
}

Expected<bool> save_checkpoint(const std::string& path, CoronaNet& model, torch::optim::Optimizer* optimizer,
                               const CheckpointMeta& meta) {
  const std::string tmp = temp_path_for(path);  // LibTorch writes the archive itself: replace_file after
  try {
    torch::serialize::OutputArchive archive;
    archive.write("meta", c10::IValue(meta.to_json().dump()));
    torch::serialize::OutputArchive model_archive;
    model->save(model_archive);
    archive.write("model", model_archive);
    if (optimizer != nullptr) {
      torch::serialize::OutputArchive opt_archive;
      optimizer->save(opt_archive);
      archive.write("optimizer", opt_archive);
    }
    torch::Tensor gen_state;
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen_state = gen.get_state();
    }
    archive.write("torch_generator", gen_state, /*is_buffer=*/true);
    archive.save_to(tmp);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return make_error("cannot write checkpoint " + tmp + ": " + e.what());
  }
  return replace_file(tmp, path);
}

Expected<CheckpointMeta> read_checkpoint_meta(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return make_error("checkpoint not found: " + path);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::Device(torch::kCPU));
    c10::IValue v;
    archive.read("meta", v);
    if (!v.isString()) return make_error(path + ": \"meta\" is not text");
    return CheckpointMeta::from_json(nlohmann::json::parse(v.toStringRef()));
  } catch (const std::exception& e) {
    return make_error("cannot read checkpoint " + path + ": " + e.what());
  }
}

Expected<CheckpointMeta> load_checkpoint(const std::string& path, CoronaNet& model, torch::optim::Optimizer* optimizer,
                                         bool restore_torch_rng, torch::Device device) {
  auto meta = read_checkpoint_meta(path);
  if (!meta) return meta.error();
  if (meta->model != model->config()) {
    return make_error(path + ": the checkpoint's model " + meta->model.to_json().dump() +
                      " differs from the requested one " + model->config().to_json().dump());
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model->load(model_archive);
    if (optimizer != nullptr) {
      torch::serialize::InputArchive opt_archive;
      if (!archive.try_read("optimizer", opt_archive)) return make_error(path + ": holds no optimizer state");
      optimizer->load(opt_archive);
    }
    if (restore_torch_rng) {
      torch::Tensor gen_state;
      archive.read("torch_generator", gen_state, /*is_buffer=*/true);
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(gen_state.to(torch::kCPU));
    }
  } catch (const std::exception& e) {
    return make_error("cannot load checkpoint " + path + ": " + e.what());
  }
  return meta;
}

Expected<LoadedModel> load_model_from_checkpoint(const std::string& path, torch::Device device) {
  auto meta = read_checkpoint_meta(path);
  if (!meta) return meta.error();
  LoadedModel out;
  try {
    out.model = CoronaNet(meta->model);
  } catch (const std::exception& e) {
    return make_error(path + ": cannot build its model: " + e.what());
  }
  out.model->to(device);
  auto loaded = load_checkpoint(path, out.model, nullptr, false, device);
  if (!loaded) return loaded.error();
  out.model->eval();
  out.meta = std::move(loaded).value();
  return out;
}

Expected<bool> copy_file_atomically(const std::string& src, const std::string& dst) {
  const std::string tmp = temp_path_for(dst);
  std::error_code ec;
  fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return make_error("cannot copy " + src + " to " + tmp + ": " + ec.message());
  }
  return replace_file(tmp, dst);
}

}  // namespace corona::native
