// `coronanet evaluate`: a model on one split of the data folder -> OUT/summary.json
// (evaluate_model in corona_native/evaluate.h does the work; this parses, calls and writes).
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/flags.h"
#include "cli/verbs.h"
#include "corona/file_io.h"
#include "corona_native/evaluate.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEvaluateEpilogue =
    "Per slice: binary Dice at 0.5 of lesion probability (1 - P(background)) vs lesion, Inf-Net\n"
    "meanDice (256 thresholds), IoU, sensitivity, specificity, Rand error; GGO / consolidation /\n"
    "effusion Dice, IoU, sensitivity, specificity for 4-class models. Label 255 is ignored.\n"
    "Test splits are for reporting only: never choose a model, an epoch or a threshold on them\n"
    "(use val).\n";

struct EvaluateArgs {
  EvaluateOptions options;
  std::string out_dir;
};

// --exclude 22,48: slice indices added to `excluded`.
FlagSetter set_excluded(std::set<int>& excluded) {
  return [&excluded](const std::string& v) {
    std::stringstream list(v);
    for (std::string item; std::getline(list, item, ',');) {
      int index = 0;
      if (!parse_int(item, 0, 9999, index)) return "expected slice indices such as 22,48 (not '" + item + "')";
      excluded.insert(index);
    }
    return std::string();
  };
}

// The flag table; its defaults are a's values.
Command evaluate_command(EvaluateArgs& a) {
  EvaluateOptions& o = a.options;
  Command c;
  c.verb = "evaluate";
  c.synopsis = "--model DIR|CKPT --data DIR --split val|test [options]";
  c.flags = {
      model_flag(o.model_path, false),
      {{"--data"}, "DIR", "data folder with medseg100/ (and ucsd_covid_ct_cropped/ for --ucsd)", "",
       set_text(o.data_dir), true},
      {{"--split"}, "val|test", "COVID-SemiSeg split of the MedSeg slices (and UCSD split with --ucsd)", "",
       set_choice(o.split, {"val", "test", "train"}, "expected val or test (or train, to check fitting)"), true},
      {{"--out"}, "DIR",
       "output folder for summary.json (default for a checkpoint file: its\n"
       "folder/evaluate_SPLIT; required for a model folder)",
       "", set_text(a.out_dir)},
      {{"--ucsd"}, "", "also evaluate the classification head on UCSD COVID-CT (same split name)", "",
       set_switch(o.ucsd, true)},
      {{"--exclude"}, "I,J,...",
       "leave these MedSeg slice indices out (0-based). Inf-Net's released test\n"
       "set is the split file's test list without 22 and 48: --exclude 22,48",
       "", set_excluded(o.excluded)},
  };
  for (Flag& f : compute_flags(o.predictor.threads, o.predictor.device)) c.flags.push_back(std::move(f));
  c.epilogue = kEvaluateEpilogue;
  return c;
}

double number_or_nan(const nlohmann::json& j) {
  return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

// The headline figures on stdout.
void print_summary(const nlohmann::json& s, const std::string& path) {
  const nlohmann::json& mean = s.at("mean");
  auto show = [&](const char* key) {
    const auto it = mean.find(key);
    return it == mean.end() || it->is_null() ? std::string("n/a") : std::to_string(it->get<double>());
  };
  std::printf("coronanet evaluate: %s split, %zu slices, %.1f s on %s\n", s.at("split").get<std::string>().c_str(),
              s.at("num_cases").get<std::size_t>(), s.at("seconds").get<double>(),
              s.at("device").get<std::string>().c_str());
  std::printf("  lesion: Dice %s  Inf-Net meanDice %s  IoU %s  sens %s  spec %s  Rand error %s\n", show("dice").c_str(),
              show("infnet_mean_dice").c_str(), show("iou").c_str(), show("sensitivity").c_str(),
              show("specificity").c_str(), show("rand_error").c_str());
  if (s.at("model").value("num_classes", 0) == 4)
    std::printf("  Dice: GGO %s  consolidation %s  effusion %s\n", show("ggo_dice").c_str(),
                show("consolidation_dice").c_str(), show("effusion_dice").c_str());
  if (s.contains("classification")) {
    const nlohmann::json& cls = s.at("classification");
    std::printf("  UCSD %s (%zu images): accuracy %.4f  F1 %.4f  AUC %.4f\n", cls.at("split").get<std::string>().c_str(),
                cls.at("num_images").get<std::size_t>(), number_or_nan(cls.at("accuracy")), number_or_nan(cls.at("f1")),
                number_or_nan(cls.at("auc")));
  }
  std::printf("  written: %s\n", path.c_str());
}

}  // namespace

int run_evaluate(int argc, char** argv) {
  EvaluateArgs a;
  const Command command = evaluate_command(a);
  if (const auto done = parse_command_line(command, argc, argv)) return *done;
  const EvaluateOptions& o = a.options;
  if (a.out_dir.empty()) {
    std::error_code ec;
    if (fs::is_directory(o.model_path, ec))
      return usage_error(command, "--out DIR is required with a model folder (nothing is written into models/)");
    a.out_dir = (fs::path(o.model_path).parent_path() / ("evaluate_" + o.split)).string();
  }
  if (o.split == "test")
    std::fprintf(stderr, "coronanet evaluate: note: the test split is for reporting only, never for choosing\n");

  auto evaluation = evaluate_model(o);
  if (!evaluation) {
    std::fprintf(stderr, "coronanet evaluate: %s\n", evaluation.error().message.c_str());
    return 1;
  }
  for (const std::string& note : evaluation->notes) std::fprintf(stderr, "coronanet evaluate: note: %s\n", note.c_str());

  std::error_code ec;
  fs::create_directories(a.out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "coronanet evaluate: cannot create %s: %s\n", a.out_dir.c_str(), ec.message().c_str());
    return 1;
  }
  const std::string path = (fs::path(a.out_dir) / "summary.json").string();
  if (auto w = write_file_atomically(path, evaluation->summary.dump(2) + "\n"); !w) {
    std::fprintf(stderr, "coronanet evaluate: %s\n", w.error().message.c_str());
    return 1;
  }
  print_summary(evaluation->summary, path);
  return 0;
}

}  // namespace corona::native
