// `coronanet export --checkpoint CKPT --out DIR`: a trained checkpoint -> a model folder that
// predict, evaluate, serve and the browser load (model_package.h): weights without optimizer
// state, plans.json, the training-data fingerprint, metrics and training curves.
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/flags.h"
#include "cli/verbs.h"
#include "corona/file_io.h"
#include "corona_native/checkpoint.h"
#include "corona_native/model_package.h"
#include "corona_native/onnx_export.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string checkpoint, out, name = "corona-net", version, data, val_summary, test_summary;
};

// The flag table; its defaults are a's values.
Command export_command(ExportArgs& a) {
  Command c;
  c.verb = "export";
  c.synopsis = "--checkpoint CKPT --out DIR [options]";
  c.flags = {
      {{"--checkpoint"}, "CKPT", "a checkpoint written by coronanet train (usually best.pt)", "",
       set_text(a.checkpoint), true},
      {{"--out"}, "DIR",
       "model folder to write (created), e.g. models/corona-net:\n"
       "  model.pt            weights (no optimizer state)\n"
       "  model.onnx          the network for ONNX Runtime (fp32, BN folded)\n"
       "  model.fp16.onnx     float16 inside, float32 input/outputs (WebGPU\n"
       "                      adapters with shader-f16 only)\n"
       "  plans.json          preprocessing/postprocessing contract\n"
       "  training_data.sha256  sha256sum listing of the training files\n"
       "  training_log.jsonl  per-epoch log (copied from CKPT's folder)\n"
       "  metrics.json        with --val-summary / --test-summary",
       "", set_text(a.out), true},
      {{"--name"}, "NAME", "model name", a.name, set_text(a.name)},
      {{"--version"}, "V", "release version (required, e.g. 1.0.0)", "", set_text(a.version), true},
      {{"--data"}, "DIR",
       "the data folder it was trained on, for the fingerprint (default: the\n--data recorded in the checkpoint)",
       "", set_text(a.data)},
      {{"--val-summary"}, "FILE", "summary.json of coronanet evaluate --split val (--ucsd) on CKPT", "",
       set_text(a.val_summary)},
      {{"--test-summary"}, "FILE", "summary.json of coronanet evaluate --split test, once the model is chosen", "",
       set_text(a.test_summary)},
  };
  c.epilogue = "Files are written atomically; existing files of the same names are replaced.\n";
  return c;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "coronanet export: %s\n", message.c_str());
  return 1;
}

// The figures of an evaluate summary worth keeping beside the model (per-case rows stay behind).
Expected<nlohmann::json> summary_digest(const std::string& path, const std::string& expected_split) {
  auto j = read_json_file(path);
  if (!j) return j.error();
  if (!j->contains("split") || !j->contains("mean")) return make_error(path + ": not a coronanet evaluate summary.json");
  if (j->at("split") != expected_split)
    return make_error(path + ": is a summary of split " + j->at("split").dump() + ", expected \"" + expected_split + "\"");
  nlohmann::json d;
  for (const char* key : {"split", "num_cases", "excluded_slices", "epoch", "time_utc", "mean", "infnet", "classification", "protocol"})
    if (j->contains(key)) d[key] = j->at(key);
  if (d.contains("classification")) d["classification"].erase("per_image");  // per-image rows stay behind
  return d;
}

}  // namespace

int run_export(int argc, char** argv) {
  ExportArgs a;
  const Command command = export_command(a);
  if (const auto done = parse_command_line(command, argc, argv)) return *done;
  if (a.name.empty() || a.name.find('/') != std::string::npos) return usage_error(command, "--name must be a plain name");

  auto loaded = load_model_from_checkpoint(a.checkpoint);
  if (!loaded) return fail(loaded.error().message);
  CheckpointMeta meta = loaded->meta;
  if (a.data.empty()) a.data = meta.options.value("data_dir", std::string());
  if (a.data.empty()) return usage_error(command, "the checkpoint records no data folder: give --data DIR");
  const bool used_ucsd = meta.options.value("use_ucsd", meta.model.classification_head);

  std::fprintf(stderr, "coronanet export: fingerprinting the training data in %s\n", a.data.c_str());
  auto fingerprint = training_data_fingerprint(a.data, used_ucsd);
  if (!fingerprint) return fail(fingerprint.error().message);

  nlohmann::json metrics = nlohmann::json::object();
  if (!a.val_summary.empty()) {
    auto d = summary_digest(a.val_summary, "val");
    if (!d) return fail(d.error().message);
    metrics["val"] = *d;
  }
  if (!a.test_summary.empty()) {
    auto d = summary_digest(a.test_summary, "test");
    if (!d) return fail(d.error().message);
    metrics["test"] = *d;
  }

  std::error_code ec;
  fs::create_directories(a.out, ec);
  if (!fs::is_directory(a.out, ec)) return fail("cannot create " + a.out);
  const fs::path out(a.out);

  // A release carries no resume state: the sampling order and RNG belong to the run.
  meta.cls_order.clear();
  meta.cls_cursor = 0;
  if (auto w = save_checkpoint((out / "model.pt").string(), loaded->model, nullptr, meta); !w) return fail(w.error().message);

  ModelPlans plans = plans_from_checkpoint(meta, a.name, a.version);
  plans.files = {{"libtorch", "model.pt"}, {"training_data", "training_data.sha256"}};
  plans.training = {{"data_fingerprint_sha256", fingerprint->sha256},
                    {"data_files", fingerprint->files},
                    {"data_bytes", fingerprint->bytes},
                    {"data_fingerprint_rule", "sha256 of the sha256sum listing in training_data.sha256"},
                    {"epochs_completed", meta.epoch},
                    {"best_epoch", meta.best_epoch},
                    {"best_val_mean_fg_dice", meta.best_metric},
                    {"options", meta.options}};
  if (auto w = write_file_atomically((out / "training_data.sha256").string(), fingerprint->listing); !w) return fail(w.error().message);

  OnnxExportOptions onnx_options;
  onnx_options.producer_version = a.version;
  auto ops = export_onnx(loaded->model, onnx_options, (out / "model.onnx").string());
  if (!ops) return fail("ONNX export: " + ops.error().message);
  onnx_options.fp16 = true;
  auto ops16 = export_onnx(loaded->model, onnx_options, (out / "model.fp16.onnx").string());
  if (!ops16) return fail("ONNX export (fp16): " + ops16.error().message);
  plans.files["onnx"] = "model.onnx";
  plans.files["onnx_fp16"] = "model.fp16.onnx";
  plans.onnx = {{"opset", onnx_options.opset},
                {"operators", *ops},
                {"operators_fp16", *ops16},
                {"inputs", {"input"}},
                {"outputs", meta.model.classification_head ? nlohmann::json{"seg_logits", "cls_logit", "cam"}
                                                           : nlohmann::json{"seg_logits"}},
                {"fp16_requires", "a WebGPU adapter with the shader-f16 feature; use model.onnx otherwise"}};

  const fs::path log = fs::path(a.checkpoint).parent_path() / "log.jsonl";
  if (fs::is_regular_file(log, ec)) {
    if (auto c = copy_file_atomically(log.string(), (out / "training_log.jsonl").string()); !c) return fail(c.error().message);
    plans.files["training_log"] = "training_log.jsonl";
  }
  if (!metrics.empty()) {
    if (auto w = write_json_file((out / "metrics.json").string(), metrics); !w) return fail(w.error().message);
    plans.files["metrics"] = "metrics.json";
  }
  if (auto w = write_json_file((out / "plans.json").string(), plans.to_json()); !w) return fail(w.error().message);
  std::fprintf(stderr, "coronanet export: wrote %s (model %s %s, data fingerprint %s over %zu files)\n",
               a.out.c_str(), a.name.c_str(), a.version.c_str(), fingerprint->sha256.c_str(), fingerprint->files);
  return 0;
}

}  // namespace corona::native
