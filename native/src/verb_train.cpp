// `coronanet train`: command-line flags -> TrainOptions -> train().
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "corona_native/cli_util.h"
#include "corona_native/trainer.h"
#include "corona_native/verbs.h"

namespace corona::native {
namespace {

constexpr const char* kTrainUsage =
    "usage: coronanet train --data DIR --out DIR [options]\n"
    "  --data DIR              data folder with medseg100/ and ucsd_covid_ct_cropped/ (../shared/data layout)\n"
    "  --out DIR               output folder: config.json, log.jsonl, checkpoint.pt, best.pt\n"
    "  --arch unet|resunet     network (default unet)\n"
    "  --base N                channels of the first stage (default 16)\n"
    "  --depth N               down-sampling steps (default 4; --size must divide by 2^depth)\n"
    "  --task multiclass|binary  GGO/consolidation/effusion, or lesion vs background (default multiclass)\n"
    "  --epochs N              (default 100)\n"
    "  --batch N               (default 8)\n"
    "  --lr X                  Adam learning rate (default 1e-3)\n"
    "  --weight-decay X        (default 0)\n"
    "  --schedule cosine|step|constant  LR schedule (default cosine, 2 warmup epochs)\n"
    "  --warmup-epochs N       (default 2)\n"
    "  --seed N                (default 42)\n"
    "  --size N                input size in pixels (default 256)\n"
    "  --cls-weight X          weight of the classification loss (default 0.5)\n"
    "  --no-ucsd               do not train the classification head on UCSD COVID-CT\n"
    "  --no-augment            no data augmentation\n"
    "  --threads N             CPU threads (default 0 = all cores)\n"
    "  --device auto|cpu|cuda  (default auto: CUDA when available)\n"
    "  --resume                continue from OUT/checkpoint.pt\n"
    "  --max-train-slices N    use only the first N training slices/images (smoke tests)\n"
    "Validation uses the val splits only; test splits are never read.\n";

int usage_error(const std::string& message) { return native::usage_error("train", message, kTrainUsage); }

}  // namespace

int run_train(int argc, char** argv) {
  TrainOptions o;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kTrainUsage, stdout);
      return 0;
    }
    // Flags without a value.
    if (a == "--no-ucsd") { o.use_ucsd = false; continue; }
    if (a == "--no-augment") { o.augment = false; continue; }
    if (a == "--resume") { o.resume = true; continue; }
    if (a.rfind("--", 0) != 0) return usage_error("unexpected argument '" + a + "'");
    if (i + 1 >= argc) return usage_error(a + " needs a value");
    const std::string v = argv[++i];
    auto bad = [&](const std::string& what) { return usage_error("bad value '" + v + "' for " + a + ": " + what); };
    if (a == "--data") o.data_dir = v;
    else if (a == "--out") o.out_dir = v;
    else if (a == "--arch") {
      if (v != "unet" && v != "resunet") return bad("expected unet or resunet");
      o.model.architecture = v;
    } else if (a == "--base") {
      if (!parse_int(v, 1, 256, o.model.base_channels)) return bad("expected an integer 1..256");
    } else if (a == "--depth") {
      if (!parse_int(v, 1, 6, o.model.depth)) return bad("expected an integer 1..6");
    } else if (a == "--task") {
      if (v != "multiclass" && v != "binary") return bad("expected multiclass or binary");
      o.task = v;
    } else if (a == "--epochs") {
      if (!parse_int(v, 1, 1000000, o.epochs)) return bad("expected a positive integer");
    } else if (a == "--batch") {
      if (!parse_int(v, 1, 4096, o.batch_size)) return bad("expected an integer 1..4096");
    } else if (a == "--lr") {
      if (!parse_double(v, o.lr) || !(o.lr > 0.0)) return bad("expected a number > 0");
    } else if (a == "--weight-decay") {
      if (!parse_double(v, o.weight_decay) || o.weight_decay < 0.0) return bad("expected a number >= 0");
    } else if (a == "--schedule") {
      if (v != "cosine" && v != "step" && v != "constant") return bad("expected cosine, step or constant");
      o.lr_schedule = v;
    } else if (a == "--warmup-epochs") {
      if (!parse_int(v, 0, 1000000, o.warmup_epochs)) return bad("expected an integer >= 0");
    } else if (a == "--seed") {
      int seed = 0;
      if (!parse_int(v, 0, std::numeric_limits<int>::max(), seed)) return bad("expected an integer >= 0");
      o.seed = static_cast<std::uint64_t>(seed);
    } else if (a == "--size") {
      if (!parse_int(v, 16, 4096, o.input_size)) return bad("expected an integer 16..4096");
    } else if (a == "--cls-weight") {
      if (!parse_double(v, o.cls_weight) || o.cls_weight < 0.0) return bad("expected a number >= 0");
    } else if (a == "--threads") {
      if (!parse_int(v, 0, 1024, o.threads)) return bad("expected an integer 0..1024");
    } else if (a == "--device") {
      if (v != "auto" && v != "cpu" && v != "cuda") return bad("expected auto, cpu or cuda");
      o.device = v;
    } else if (a == "--max-train-slices") {
      if (!parse_int(v, 1, 1000000, o.max_train_slices)) return bad("expected a positive integer");
    } else {
      return usage_error("unknown option '" + a + "'");
    }
  }
  if (o.data_dir.empty()) return usage_error("--data DIR is required");
  if (o.out_dir.empty()) return usage_error("--out DIR is required");
  if (o.input_size % (1 << o.model.depth) != 0)
    return usage_error("--size " + std::to_string(o.input_size) + " must be a multiple of 2^depth = " +
                       std::to_string(1 << o.model.depth));
  auto result = train(o);
  if (!result) {
    std::fprintf(stderr, "coronanet train: %s\n", result.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "coronanet train: %d epochs done on %s; best val Dice %.4f at epoch %d (%s)\n",
               result->epochs_completed, result->device.c_str(), result->best_val_dice, result->best_epoch,
               result->best_path.c_str());
  return 0;
}

}  // namespace corona::native
