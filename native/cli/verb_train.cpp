// `coronanet train`: command-line flags -> TrainOptions -> train().
#include <cstdio>
#include <limits>
#include <string>

#include "cli/flags.h"
#include "cli/verbs.h"
#include "corona_native/precision.h"
#include "corona_native/trainer.h"

namespace corona::native {
namespace {

std::string shown_int(int v) { return shown(static_cast<long long>(v)); }

// The flag table; its defaults are o's values.
Command train_command(TrainOptions& o) {
  Command c;
  c.verb = "train";
  c.synopsis = "--data DIR --out DIR [options]";
  c.flags = {
      {{"--data"}, "DIR", "data folder with medseg100/ and ucsd_covid_ct_cropped/\n(layout: docs/training.md)", "",
       set_text(o.data_dir), true},
      {{"--out"}, "DIR", "output folder: config.json, log.jsonl, checkpoint.pt, best.pt", "", set_text(o.out_dir),
       true},
      {{"--arch"}, "unet|resunet", "network", o.model.architecture, set_choice(o.model.architecture, {"unet", "resunet"})},
      {{"--base"}, "N", "channels of the first stage", shown_int(o.model.base_channels),
       set_int(o.model.base_channels, 1, 256)},
      {{"--depth"}, "N", "down-sampling steps", shown_int(o.model.depth) + "; --size must divide by 2^depth",
       set_int(o.model.depth, 1, 6)},
      {{"--task"}, "multiclass|binary", "GGO/consolidation/effusion, or lesion vs background", o.task,
       set_choice(o.task, {"multiclass", "binary"})},
      {{"--epochs"}, "N", "", shown_int(o.epochs), set_int(o.epochs, 1, 1000000, "expected a positive integer")},
      {{"--batch"}, "N", "", shown_int(o.batch_size), set_int(o.batch_size, 1, 4096)},
      {{"--lr"}, "X", "Adam learning rate", shown(o.lr),
       set_number(o.lr, [](double x) { return x > 0.0; }, "expected a number > 0")},
      {{"--weight-decay"}, "X", "", shown(o.weight_decay),
       set_number(o.weight_decay, [](double x) { return x >= 0.0; }, "expected a number >= 0")},
      {{"--schedule"}, "cosine|step|constant", "LR schedule",
       o.lr_schedule + ", " + shown_int(o.warmup_epochs) + " warmup epochs",
       set_choice(o.lr_schedule, {"cosine", "step", "constant"})},
      {{"--warmup-epochs"}, "N", "", shown_int(o.warmup_epochs),
       set_int(o.warmup_epochs, 0, 1000000, "expected an integer >= 0")},
      {{"--seed"}, "N", "", shown(static_cast<long long>(o.seed)),
       set_count(o.seed, 0, std::numeric_limits<int>::max(), "expected an integer >= 0")},
      {{"--size"}, "N", "input size in pixels", shown_int(o.input_size), set_int(o.input_size, 16, 4096)},
      {{"--cls-weight"}, "X", "weight of the classification loss", shown(o.cls_weight),
       set_number(o.cls_weight, [](double x) { return x >= 0.0; }, "expected a number >= 0")},
      {{"--no-ucsd"}, "", "do not train the classification head on UCSD COVID-CT", "", set_switch(o.use_ucsd, false)},
      {{"--no-augment"}, "", "no data augmentation", "", set_switch(o.augment, false)},
  };
  for (Flag& f : compute_flags(o.threads, o.device)) c.flags.push_back(std::move(f));
  c.flags.push_back({{"--precision"}, "auto|bf16|fp32",
                     "bf16: autocast (bf16 convolutions, fp32 weights and losses); auto: bf16 where\n"
                     "the CPU has native bf16 math (avx512_bf16 / amx_bf16) or on CUDA, else fp32",
                     o.precision, set_choice(o.precision, precision_names())});
  c.flags.push_back({{"--resume"}, "", "continue from OUT/checkpoint.pt", "", set_switch(o.resume, true)});
  c.flags.push_back({{"--max-train-slices"}, "N", "use only the first N training slices/images (smoke tests)", "",
                     set_int(o.max_train_slices, 1, 1000000, "expected a positive integer")});
  c.epilogue = "Validation uses the val splits only; test splits are never read.\n";
  return c;
}

}  // namespace

int run_train(int argc, char** argv) {
  TrainOptions o;
  const Command command = train_command(o);
  if (const auto done = parse_command_line(command, argc, argv)) return *done;
  if (o.input_size % (1 << o.model.depth) != 0)
    return usage_error(command, "--size " + std::to_string(o.input_size) + " must be a multiple of 2^depth = " +
                                    std::to_string(1 << o.model.depth));
  auto result = train(o);
  if (!result) {
    std::fprintf(stderr, "coronanet train: %s\n", result.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "coronanet train: %d epochs done on %s in %s; best val Dice %.4f at epoch %d (%s)\n",
               result->epochs_completed, result->device.c_str(), result->precision.c_str(), result->best_val_dice,
               result->best_epoch, result->best_path.c_str());
  return 0;
}

}  // namespace corona::native
