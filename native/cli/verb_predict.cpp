// `coronanet predict -i IN -o OUT`: PNG/JPEG slices and NIfTI (HU) volumes, or a folder of them ->
// label masks with the input's geometry, overlays, and a JSON report (areas, severity, model).
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/flags.h"
#include "cli/verbs.h"
#include "corona/file_io.h"
#include "corona_native/inference.h"
#include "corona_native/predict_report.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPredictEpilogue =
    "Labels: 0 background, 1 GGO, 2 consolidation, 3 effusion (binary models: 0/1 lesion).\n"
    "HU input goes through the model's HU window (plans.json; lung window [-1350, 150] HU) onto the\n"
    "8-bit training range; NIfTI slices are reoriented to radiological display (image left =\n"
    "patient right, anterior up) for the network and the lung mask, and the mask is written back\n"
    "in the file's voxel order.\n"
    "Research tool, not a diagnostic device. Exit status 1 if any input failed.\n";

struct PredictArgs {
  std::string input, output, model;
  int batch = 8;
  PredictorOptions predictor;
};

// The flag table; its defaults are a's values.
Command predict_command(PredictArgs& a) {
  Command c;
  c.verb = "predict";
  c.synopsis = "-i IN -o OUT [--model DIR|CKPT] [options]";
  c.flags = {
      {{"-i", "--input"}, "IN",
       "a PNG/JPEG slice (8-bit lung window, as the training images), a NIfTI-1\n"
       "file (.nii / .nii.gz, Hounsfield units, 2D or 3D), or a folder of them\n"
       "(not recursive; other files are skipped with a note)",
       "", set_text(a.input), true},
      {{"-o", "--output"}, "OUT",
       "output folder (created): for each input X.ext\n"
       "  X.mask.png      PNG input: 8-bit labels, same size as the input\n"
       "  X.mask.nii.gz   NIfTI input: uint8 labels, same shape and affine\n"
       "  X.overlay.png   labels over the image (volumes: the slice with the\n"
       "                  most lesion, else the middle one; display orientation)\n"
       "  X.json          infected probability, per-class areas (px; mm2 and mL\n"
       "                  when the file has spacing), per-lung % involved and\n"
       "                  severity band, model, seconds",
       "", set_text(a.output), true},
      model_flag(a.model, true),
      batch_flag(a.batch),
  };
  for (Flag& f : compute_flags(a.predictor.threads, a.predictor.device)) c.flags.push_back(std::move(f));
  c.epilogue = kPredictEpilogue;
  return c;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// X of X.ext (X of X.nii.gz).
std::string stem_of(const fs::path& p) {
  const std::string name = p.filename().string();
  if (ends_with(lower(name), ".nii.gz")) return name.substr(0, name.size() - 7);
  const auto dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

bool accepted_name(const std::string& name) {
  const std::string l = lower(name);
  for (const char* e : {".png", ".jpg", ".jpeg", ".nii", ".nii.gz"})
    if (ends_with(l, e)) return true;
  return false;
}

bool is_our_output(const std::string& name) {
  const std::string l = lower(name);
  return ends_with(l, ".mask.png") || ends_with(l, ".overlay.png") || ends_with(l, ".mask.nii.gz");
}

Expected<bool> write_json(const fs::path& path, const nlohmann::json& j) {
  return write_file_atomically(path.string(), j.dump(2) + "\n");
}

// Slices done of total on stderr: one line rewritten on a terminal, a line each otherwise.
ProgressFn stderr_progress(const std::string& display_name) {
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto t0 = std::chrono::steady_clock::now();
  return [display_name, tty, t0](int done, int total) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double eta = done > 0 ? el / done * (total - done) : 0.0;
    std::fprintf(stderr, "%s  %s: slice %d/%d, %.0f s, ETA %.0f s%s", tty ? "\r" : "", display_name.c_str(), done,
                 total, el, eta, tty ? (done == total ? "\n" : "") : "\n");
    std::fflush(stderr);
  };
}

// The mask, overlay and report of one input, named after its stem.
Expected<bool> write_outputs(const PredictionOutputs& o, const fs::path& out, const std::string& stem) {
  const std::string mask_name = stem + ".mask." + o.mask_extension;
  if (auto w = write_file_atomically((out / mask_name).string(), o.mask); !w) return w.error();
  if (auto w = write_file_atomically((out / (stem + ".overlay.png")).string(), o.overlay_png); !w) return w.error();
  return true;
}

// One input file: sniffed by content, never by name; the report and outputs come from
// predict_decoded (predict_report.h), the path shared with the server.
Expected<bool> predict_file(Predictor& pred, const fs::path& in, const fs::path& out, int batch,
                            const std::string& checkpoint) {
  const auto t0 = std::chrono::steady_clock::now();
  auto bytes = read_file_bytes(in.string(), std::uint64_t{4} << 30);
  if (!bytes) return bytes.error();
  const std::string stem = stem_of(in);
  auto input = decode_input(bytes->data(), bytes->size());
  if (!input) return make_error(in.string() + ": " + input.error().message);
  bytes->clear();
  bytes->shrink_to_fit();
  PredictBytesOptions options;
  options.batch = batch;
  options.model_path = checkpoint;
  if (input->is_volume) options.progress = stderr_progress(in.filename().string());
  auto result = predict_decoded(pred, *input, options);
  if (!result) return make_error(in.string() + ": " + result.error().message);
  if (auto w = write_outputs(*result, out, stem); !w) return w.error();
  nlohmann::json& report = result->report;
  report["input"] = in.string();
  report["outputs"] = {stem + ".mask." + result->mask_extension, stem + ".overlay.png", stem + ".json"};
  report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (auto w = write_json(out / (stem + ".json"), report); !w) return w.error();
  const nlohmann::json& p = report["infected_probability"];
  const nlohmann::json& band = report["severity_band"];
  std::fprintf(stderr, "coronanet predict: %s -> %s (infected p = %s, %s)\n", in.string().c_str(),
               (out / (stem + ".json")).string().c_str(), p.is_null() ? "n/a" : std::to_string(p.get<double>()).c_str(),
               band.is_null() ? "no lung found: no severity band" : ("severity band " + band.dump()).c_str());
  return true;
}

// IN itself, or the files of folder IN that predict reads (sorted; the others skipped with a note).
Expected<std::vector<fs::path>> input_files(const std::string& input) {
  std::error_code ec;
  if (fs::is_regular_file(input, ec)) return std::vector<fs::path>{input};
  if (!fs::is_directory(input, ec)) return make_error(input + ": no such file or folder");
  std::vector<fs::path> all, files;
  for (const auto& e : fs::directory_iterator(input, ec)) all.push_back(e.path());
  std::sort(all.begin(), all.end());
  for (const fs::path& p : all) {
    const std::string name = p.filename().string();
    if (!fs::is_regular_file(p, ec)) continue;
    if (is_our_output(name)) {
      std::fprintf(stderr, "coronanet predict: note: skipping %s (an output of predict)\n", p.string().c_str());
    } else if (!accepted_name(name)) {
      std::fprintf(stderr, "coronanet predict: note: skipping %s (not .png/.jpg/.jpeg/.nii/.nii.gz)\n",
                   p.string().c_str());
    } else {
      files.push_back(p);
    }
  }
  if (files.empty()) return make_error("no PNG/JPEG/NIfTI files in " + input);
  return files;
}

}  // namespace

int run_predict(int argc, char** argv) {
  PredictArgs a;
  const Command command = predict_command(a);
  if (const auto done = parse_command_line(command, argc, argv)) return *done;
  if (a.model.empty()) a.model = default_model_path();
  auto files = input_files(a.input);
  if (!files) {
    std::fprintf(stderr, "coronanet predict: %s\n", files.error().message.c_str());
    return 1;
  }
  const std::string& output = a.output;
  std::error_code ec;
  fs::create_directories(output, ec);
  if (ec || !fs::is_directory(output)) {
    std::fprintf(stderr, "coronanet predict: cannot create output folder %s: %s\n", output.c_str(),
                 ec.message().c_str());
    return 1;
  }

  auto predictor = Predictor::load(a.model, a.predictor);
  if (!predictor) {
    std::fprintf(stderr, "coronanet predict: %s\n", predictor.error().message.c_str());
    return 1;
  }
  int failed = 0;
  for (const fs::path& f : *files) {
    auto r = predict_file(*predictor, f, output, a.batch, a.model);
    if (!r) {
      ++failed;
      std::fprintf(stderr, "coronanet predict: error: %s\n", r.error().message.c_str());
    }
  }
  if (failed > 0) {
    std::fprintf(stderr, "coronanet predict: %d of %zu inputs failed\n", failed, files->size());
    return 1;
  }
  return 0;
}

}  // namespace corona::native
