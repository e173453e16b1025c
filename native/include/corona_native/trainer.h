// corona_native/trainer.h: `coronanet train`: segmentation (MedSeg, COVID-SemiSeg split) plus the
// classification head (UCSD COVID-CT), with losses, LR schedule, validation, logs and resumable
// checkpoints. Never reads a test split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "corona/augment.h"
#include "corona/image.h"
#include "corona_native/model.h"

namespace corona::native {

struct TrainOptions {
  std::string data_dir;  // folder with medseg100/ (and ucsd_covid_ct_cropped/ when use_ucsd)
  std::string out_dir;   // created if missing: config.json, log.jsonl, checkpoint.pt, best.pt
  ModelConfig model;     // num_classes is set from task (4 or 2)
  std::string task = "multiclass";  // "multiclass": bg/GGO/consolidation/effusion; "binary": lesion
                                    // (labels 1-3 -> 1, 255 stays ignored) vs background
  int epochs = 100;
  int batch_size = 8;
  double lr = 1e-3;
  double weight_decay = 0.0;  // Adam's L2 term (coupled, as torch.optim.Adam)
  // "cosine": linear warmup from lr/warmup_steps to lr over warmup_epochs, then half-cosine per
  // step down to lr * min_lr_ratio at the last step. "step": lr * gamma^floor(epoch / step_epochs).
  // "constant": lr. The LR is a pure function of the global step, so resuming reproduces it.
  std::string lr_schedule = "cosine";
  int warmup_epochs = 2;
  double min_lr_ratio = 0.01;
  int step_epochs = 30;
  double gamma = 0.1;
  std::uint64_t seed = 42;  // torch::manual_seed (weight init) and the trainer's Rng (shuffle, augmentation)
  int input_size = 256;     // slices are resized to input_size^2 (must divide by 2^depth)
  bool augment = true;      // corona::augment with AugmentConfig defaults
  double cls_weight = 0.5;  // total loss = seg + cls_weight * cls
  bool use_ucsd = true;     // train the classification head on UCSD train, validate on UCSD val
  int cls_batches_per_step = 1;  // UCSD batches (of batch_size) per segmentation step
  int threads = 0;               // torch::set_num_threads; 0 = all cores
  std::string device = "auto";   // "auto" (CUDA when available), "cpu", "cuda"
  // "auto": bf16 autocast where the CPU has native bf16 math (or on CUDA), else fp32; "bf16" or
  // "fp32" as given (precision.h). Validation always runs in fp32.
  std::string precision = "auto";
  bool resume = false;           // continue from out_dir/checkpoint.pt
  int max_train_slices = 0;      // > 0: only the first N train slices/images (tests)
  int stop_after_epoch = 0;      // > 0: return after this epoch as if interrupted (tests)
  bool progress = true;          // progress on stderr (bar when a TTY, else a line per epoch)

  nlohmann::json to_json() const;
};

// Validation figures of one epoch. NaN where undefined (e.g. no effusion anywhere in val).
struct EpochMetrics {
  int epoch = 0;  // 1-based
  double lr = 0.0;  // at the epoch's last step
  double train_loss = 0.0;
  double train_seg_loss = 0.0;
  double train_cls_loss = 0.0;
  double val_dice_ggo = 0.0;           // per class, mean over val slices (multiclass task only)
  double val_dice_consolidation = 0.0;
  double val_dice_effusion = 0.0;
  double val_dice_mean_fg = 0.0;       // mean of the foreground classes' Dice: selects best.pt
  double val_dice_lesion = 0.0;        // binary lesion (pred > 0 vs ref > 0), mean over slices
  double val_rand_error = 0.0;         // 1 - Rand index of the task's label maps, mean over slices
  double val_rand_error_lesion = 0.0;  // same on lesion maps
  double val_cls_f1 = 0.0;             // UCSD val at p >= 0.5 (NaN without use_ucsd)
  double val_cls_auc = 0.0;
  double val_cls_accuracy = 0.0;
  double seconds = 0.0;
  nlohmann::json to_json() const;  // one log.jsonl line
};

struct TrainSummary {
  int epochs_completed = 0;
  int best_epoch = 0;
  double best_val_dice = -1.0;
  std::vector<EpochMetrics> epochs;  // of this run only (after a resume: the resumed epochs)
  std::vector<double> step_losses;   // total loss of every step of this run
  std::string device;
  std::string precision;  // "fp32" or "bf16": what the run used
  std::string checkpoint_path;
  std::string best_path;
};

// Trains; returns an error for bad options, missing data or an unreadable checkpoint.
Expected<TrainSummary> train(const TrainOptions& options);

// Losses. seg_logits [B, C, H, W], target [B, H, W] int64 (255 ignored).
// Cross-entropy (mean over non-ignored pixels) + soft Dice loss: 1 - mean over classes 1..C-1 of
// (2 sum p*g + 1) / (sum p + sum g + 1), sums over the batch and non-ignored pixels.
torch::Tensor segmentation_loss(const torch::Tensor& seg_logits, const torch::Tensor& target);
torch::Tensor soft_dice_loss(const torch::Tensor& seg_logits, const torch::Tensor& target);
// BCE with logits, mean over the batch.
torch::Tensor classification_loss(const torch::Tensor& cls_logit, const torch::Tensor& label);

// The LR of global step `step` (0-based) of `total_steps`, `steps_per_epoch` per epoch.
double learning_rate(const TrainOptions& options, std::int64_t step, std::int64_t steps_per_epoch,
                     std::int64_t total_steps);

}  // namespace corona::native
