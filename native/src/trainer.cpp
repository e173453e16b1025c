// The training loop: Adam, one pass over the MedSeg train slices per epoch (plus UCSD batches for
// the classification head), validation on val only, JSONL log, atomic resumable checkpoints.
// Randomness: torch's generator only initialises the weights (torch::manual_seed(seed)); shuffling
// and augmentation draw from the trainer's own corona::Rng, whose state every checkpoint stores.
#include "corona_native/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "corona/file_io.h"
#include "corona/metrics.h"
#include "corona/preprocess.h"
#include "corona/report.h"  // finite_or_null
#include "corona_native/checkpoint.h"
#include "corona_native/dataset.h"
#include "corona_native/device.h"
#include "corona_native/precision.h"
#include "corona_native/inference.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;
using Clock = std::chrono::steady_clock;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string format_hms(double s) {
  if (!std::isfinite(s) || s < 0) s = 0;
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

// One line on stderr: a \r-updated bar on a TTY, otherwise only the end-of-epoch lines.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), tty_(enabled && isatty(fileno(stderr)) != 0) {}
  void step(int epoch, int epochs, std::int64_t done, std::int64_t total, double loss, double eta_s) {
    if (!tty_) return;
    constexpr int kWidth = 24;
    const int filled = total > 0 ? static_cast<int>(kWidth * done / total) : 0;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\repoch %d/%d [%s] %lld/%lld loss %.4f ETA %s   ", epoch, epochs, bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), loss, format_hms(eta_s).c_str());
    std::fflush(stderr);
  }
  void epoch_done(const EpochMetrics& m, int epochs, double eta_s) {
    if (!enabled_) return;
    std::fprintf(stderr, "%sepoch %d/%d loss %.4f (seg %.4f cls %.4f) val dice %.4f lesion %.4f rand_err %.4f",
                 tty_ ? "\r" : "", m.epoch, epochs, m.train_loss, m.train_seg_loss, m.train_cls_loss,
                 m.val_dice_mean_fg, m.val_dice_lesion, m.val_rand_error);
    if (std::isfinite(m.val_cls_auc) || std::isfinite(m.val_cls_f1))
      std::fprintf(stderr, " cls f1 %.4f auc %.4f", m.val_cls_f1, m.val_cls_auc);
    std::fprintf(stderr, " %.1fs ETA %s\n", m.seconds, format_hms(eta_s).c_str());
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  bool tty_;
};

Expected<bool> check_options(const TrainOptions& o) {
  if (o.data_dir.empty()) return make_error("train: data_dir is empty (--data DIR)");
  if (o.out_dir.empty()) return make_error("train: out_dir is empty (--out DIR)");
  if (o.task != "multiclass" && o.task != "binary")
    return make_error("train: task must be \"multiclass\" or \"binary\", got \"" + o.task + "\"");
  if (o.epochs < 1) return make_error("train: epochs must be >= 1");
  if (o.batch_size < 1) return make_error("train: batch_size must be >= 1");
  if (!(o.lr > 0.0) || !std::isfinite(o.lr)) return make_error("train: lr must be > 0");
  if (!(o.weight_decay >= 0.0)) return make_error("train: weight_decay must be >= 0");
  if (o.lr_schedule != "cosine" && o.lr_schedule != "step" && o.lr_schedule != "constant")
    return make_error("train: lr_schedule must be cosine, step or constant, got \"" + o.lr_schedule + "\"");
  if (o.warmup_epochs < 0 || o.step_epochs < 1 || !(o.gamma > 0.0) || !(o.min_lr_ratio >= 0.0))
    return make_error("train: bad schedule parameters (warmup_epochs >= 0, step_epochs >= 1, gamma > 0)");
  if (std::string e = o.model.validate(); !e.empty()) return make_error("train: " + e);
  const int div = 1 << o.model.depth;
  if (o.input_size < div || o.input_size % div != 0)
    return make_error("train: input_size " + std::to_string(o.input_size) + " must be a multiple of 2^depth = " +
                      std::to_string(div));
  if (!(o.cls_weight >= 0.0)) return make_error("train: cls_weight must be >= 0");
  if (o.use_ucsd && !o.model.classification_head)
    return make_error("train: use_ucsd needs the model's classification head");
  if (o.cls_batches_per_step < 1) return make_error("train: cls_batches_per_step must be >= 1");
  if (o.threads < 0) return make_error("train: threads must be >= 0");
  if (o.max_train_slices < 0 || o.stop_after_epoch < 0) return make_error("train: negative limit");
  return true;
}

// Keeps log lines of epochs <= last_epoch (a crash after logging but before the checkpoint
// leaves a line for an epoch that the resumed run repeats).
Expected<bool> truncate_log(const std::string& path, int last_epoch) {
  std::ifstream in(path);
  if (!in) return true;
  std::string kept, line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      if (j.value("epoch", 0) <= last_epoch) kept += line + "\n";
    } catch (const nlohmann::json::exception&) {
      // a torn last line from a crash: drop it
    }
  }
  in.close();
  return write_file_atomically(path, kept);
}

Expected<bool> append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  if (!out) return make_error("cannot open " + path + " for appending");
  out << line << '\n';
  out.flush();
  if (!out) return make_error("cannot write " + path);
  return true;
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

// Label map of seg logits [1, C, S, S] at width x height, exactly as `evaluate` computes it.
LabelMap predict_labels(const torch::Tensor& seg_logits, int width, int height) {
  const torch::Tensor cpu = seg_logits.to(torch::kCPU, torch::kFloat32).contiguous();
  return segmentation_from_logits(cpu.data_ptr<float>(), static_cast<int>(cpu.size(1)),
                                  static_cast<int>(cpu.size(2)), width, height)
      .labels;
}

struct ValResult {
  double dice[3] = {kNaN, kNaN, kNaN};
  double dice_mean_fg = kNaN;
  double dice_lesion = kNaN;
  double rand_error = kNaN;
  double rand_error_lesion = kNaN;
  double cls_f1 = kNaN;
  double cls_auc = kNaN;
  double cls_accuracy = kNaN;
};

ValResult validate(CoronaNet& model, const TrainOptions& o, const std::vector<SegCase>& val_seg,
                   const std::vector<ClsCase>& val_cls, torch::Device device) {
  torch::NoGradGuard no_grad;
  model->eval();
  ValResult r;
  const bool multiclass = o.task == "multiclass";
  SegmentationOptions task_opts;
  task_opts.classes = multiclass ? std::vector<std::uint8_t>{1, 2, 3} : std::vector<std::uint8_t>{1};
  SegmentationAccumulator task_acc(task_opts);
  SegmentationAccumulator lesion_acc(SegmentationOptions{{1}, EmptyPolicy::kNaN});
  for (const SegCase& c : val_seg) {
    const ImageF x = model_input_from_u8(c.image, o.input_size, kInputMean, kInputStd);
    torch::Tensor input = torch::from_blob(const_cast<float*>(x.pixels.data()), {1, 1, x.height, x.width}).to(device);
    const ModelOutput out = model->forward(input);
    const LabelMap pred = predict_labels(out.seg_logits, c.image.width, c.image.height);
    const LabelMap ref = multiclass ? c.labels : lesion_labels(c.labels);
    (void)task_acc.add(pred, ref);
    (void)lesion_acc.add(lesion_labels(pred), lesion_labels(c.labels));
  }
  if (!val_seg.empty()) {
    const SegmentationSummary s = task_acc.aggregate();
    if (multiclass) {
      for (int k = 0; k < 3; ++k) r.dice[k] = s.per_class[static_cast<std::size_t>(k)].mean.dice;
    }
    const SegmentationSummary lesion = lesion_acc.aggregate();
    r.dice_mean_fg = s.mean.dice;
    r.dice_lesion = lesion.per_class[0].mean.dice;
    r.rand_error = s.mean_rand_error;
    r.rand_error_lesion = lesion.mean_rand_error;
  }
  if (!val_cls.empty()) {
    ClassificationAccumulator acc;
    Rng unused;
    for (std::size_t b = 0; b < val_cls.size(); b += static_cast<std::size_t>(o.batch_size)) {
      std::vector<std::size_t> idx;
      for (std::size_t i = b; i < std::min(val_cls.size(), b + static_cast<std::size_t>(o.batch_size)); ++i)
        idx.push_back(i);
      const ClsBatch batch = make_cls_batch(val_cls, idx, o.input_size, false, AugmentConfig{}, unused);
      const torch::Tensor prob = torch::sigmoid(model->forward(batch.image.to(device)).cls_logit).to(torch::kCPU);
      for (std::size_t i = 0; i < idx.size(); ++i) {
        (void)acc.add(prob[static_cast<std::int64_t>(i)].item<float>(),
                      static_cast<std::uint8_t>(val_cls[idx[i]].label));
      }
    }
    const ClassificationMetrics m = acc.aggregate(0.5);
    r.cls_f1 = m.f1;
    r.cls_auc = m.roc_auc;
    r.cls_accuracy = m.accuracy;
  }
  model->train();
  return r;
}

}  // namespace

nlohmann::json TrainOptions::to_json() const {
  return {{"data_dir", data_dir},
          {"out_dir", out_dir},
          {"model", model.to_json()},
          {"task", task},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"lr_schedule", lr_schedule},
          {"warmup_epochs", warmup_epochs},
          {"min_lr_ratio", min_lr_ratio},
          {"step_epochs", step_epochs},
          {"gamma", gamma},
          {"seed", seed},
          {"input_size", input_size},
          {"input_normalization", {{"mean", kInputMean}, {"std", kInputStd}, {"input_max", 255}}},
          {"augment", augment},
          {"cls_weight", cls_weight},
          {"use_ucsd", use_ucsd},
          {"cls_batches_per_step", cls_batches_per_step},
          {"threads", threads},
          {"device", device},
          {"precision", precision},
          {"resume", resume},
          {"max_train_slices", max_train_slices}};
}

nlohmann::json EpochMetrics::to_json() const {
  return {{"epoch", epoch},
          {"lr", finite_or_null(lr)},
          {"train_loss", finite_or_null(train_loss)},
          {"train_seg_loss", finite_or_null(train_seg_loss)},
          {"train_cls_loss", finite_or_null(train_cls_loss)},
          {"val_dice_ggo", finite_or_null(val_dice_ggo)},
          {"val_dice_consolidation", finite_or_null(val_dice_consolidation)},
          {"val_dice_effusion", finite_or_null(val_dice_effusion)},
          {"val_dice_mean_fg", finite_or_null(val_dice_mean_fg)},
          {"val_dice_lesion", finite_or_null(val_dice_lesion)},
          {"val_rand_error", finite_or_null(val_rand_error)},
          {"val_rand_error_lesion", finite_or_null(val_rand_error_lesion)},
          {"val_cls_f1", finite_or_null(val_cls_f1)},
          {"val_cls_auc", finite_or_null(val_cls_auc)},
          {"val_cls_accuracy", finite_or_null(val_cls_accuracy)},
          {"seconds", finite_or_null(seconds)}};
}

torch::Tensor soft_dice_loss(const torch::Tensor& seg_logits, const torch::Tensor& target) {
  const std::int64_t classes = seg_logits.size(1);
  const torch::Tensor valid = target.ne(static_cast<std::int64_t>(kIgnoreLabel));        // [B, H, W]
  const torch::Tensor safe = torch::where(valid, target, torch::zeros_like(target));      // 255 -> 0
  const torch::Tensor mask = valid.unsqueeze(1).to(seg_logits.scalar_type());             // [B, 1, H, W]
  const torch::Tensor prob = torch::softmax(seg_logits, 1) * mask;
  const torch::Tensor onehot = F::one_hot(safe, classes).permute({0, 3, 1, 2}).to(seg_logits.scalar_type()) * mask;
  const std::vector<std::int64_t> dims{0, 2, 3};
  const torch::Tensor inter = (prob * onehot).sum(dims);
  const torch::Tensor denom = prob.sum(dims) + onehot.sum(dims);
  // Smoothing 1: a class absent from the batch and not predicted scores 1, not 0/0.
  const torch::Tensor dice = (2.0 * inter + 1.0) / (denom + 1.0);
  return 1.0 - dice.slice(0, 1, classes).mean();
}

torch::Tensor segmentation_loss(const torch::Tensor& seg_logits_any, const torch::Tensor& target) {
  // Losses in fp32 even under bf16 autocast (softmax and sums lose too much in 8 mantissa bits);
  // for fp32 logits this is the tensor itself.
  const torch::Tensor seg_logits = seg_logits_any.to(torch::kFloat32);
  torch::Tensor ce = F::cross_entropy(seg_logits, target,
                                      F::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel));
  // Every pixel ignored: CE is 0/0; count it as 0 rather than poisoning the step with NaN.
  if (target.ne(static_cast<std::int64_t>(kIgnoreLabel)).sum().item<std::int64_t>() == 0) ce = ce.nan_to_num(0.0);
  return ce + soft_dice_loss(seg_logits, target);
}

torch::Tensor classification_loss(const torch::Tensor& cls_logit, const torch::Tensor& label) {
  return F::binary_cross_entropy_with_logits(cls_logit.to(torch::kFloat32), label);
}

double learning_rate(const TrainOptions& o, std::int64_t step, std::int64_t steps_per_epoch,
                     std::int64_t total_steps) {
  constexpr double kPi = 3.14159265358979323846;
  if (o.lr_schedule == "constant") return o.lr;
  if (o.lr_schedule == "step") {
    const std::int64_t epoch = steps_per_epoch > 0 ? step / steps_per_epoch : 0;
    return o.lr * std::pow(o.gamma, static_cast<double>(epoch / o.step_epochs));
  }
  const std::int64_t warmup = std::min<std::int64_t>(o.warmup_epochs * steps_per_epoch, total_steps - 1);
  if (step < warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const std::int64_t span = total_steps - 1 - warmup;
  const double t = span > 0 ? static_cast<double>(step - warmup) / static_cast<double>(span) : 1.0;
  const double floor_lr = o.lr * o.min_lr_ratio;
  return floor_lr + (o.lr - floor_lr) * 0.5 * (1.0 + std::cos(kPi * std::min(1.0, t)));
}

Expected<TrainSummary> train(const TrainOptions& options_in) {
  TrainOptions o = options_in;
  o.model.num_classes = o.task == "binary" ? 2 : 4;
  if (auto ok = check_options(o); !ok) return ok.error();
  const auto resolved = resolve_device(o.device);
  if (!resolved) return make_error("train: " + resolved.error().message);
  const torch::Device device = *resolved;
  const auto precision_or = resolve_precision(o.precision, device);
  if (!precision_or) return make_error("train: " + precision_or.error().message);
  const Precision precision = *precision_or;

  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);

  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec || !fs::is_directory(o.out_dir)) return make_error("train: cannot create output folder " + o.out_dir);
  const std::string ckpt_path = (fs::path(o.out_dir) / "checkpoint.pt").string();
  const std::string best_path = (fs::path(o.out_dir) / "best.pt").string();
  const std::string log_path = (fs::path(o.out_dir) / "log.jsonl").string();

  // ---- data: train and val only; the test split is never loaded here ----
  auto train_seg = load_medseg_split(o.data_dir, "train");
  if (!train_seg) return train_seg.error();
  auto val_seg = load_medseg_split(o.data_dir, "val");
  if (!val_seg) return val_seg.error();
  if (o.max_train_slices > 0 && train_seg->size() > static_cast<std::size_t>(o.max_train_slices))
    train_seg->resize(static_cast<std::size_t>(o.max_train_slices));
  if (train_seg->empty()) return make_error("train: the MedSeg train split is empty");
  if (o.task == "binary") {
    for (auto& c : *train_seg) c.labels = lesion_labels(c.labels);
  }
  std::vector<ClsCase> train_cls, val_cls;
  if (o.use_ucsd) {
    auto t = load_ucsd_split(o.data_dir, "train");
    if (!t) return t.error();
    auto v = load_ucsd_split(o.data_dir, "val");
    if (!v) return v.error();
    train_cls = std::move(t).value();
    val_cls = std::move(v).value();
    if (o.max_train_slices > 0 && train_cls.size() > static_cast<std::size_t>(o.max_train_slices)) {
      // Keep both classes: the lists are COVID first, so take from both ends.
      std::vector<ClsCase> kept;
      const std::size_t half = static_cast<std::size_t>(o.max_train_slices) / 2;
      for (std::size_t i = 0; i < static_cast<std::size_t>(o.max_train_slices) - half; ++i) kept.push_back(std::move(train_cls[i]));
      for (std::size_t i = 0; i < half; ++i) kept.push_back(std::move(train_cls[train_cls.size() - 1 - i]));
      train_cls = std::move(kept);
    }
    if (train_cls.empty()) return make_error("train: the UCSD train split is empty");
  }

  // ---- model, optimizer, randomness ----
  torch::manual_seed(o.seed);
  CoronaNet model(nullptr);
  try {
    model = CoronaNet(o.model);
  } catch (const std::exception& e) {
    return make_error(std::string("train: cannot build the model: ") + e.what());
  }
  model->to(device);
  model->train();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  Rng rng(o.seed, /*stream=*/0x636f726f6e61ull);  // "corona"

  const std::size_t n_train = train_seg->size();
  const std::size_t batch = static_cast<std::size_t>(o.batch_size);
  const std::int64_t steps_per_epoch = static_cast<std::int64_t>((n_train + batch - 1) / batch);
  const std::int64_t total_steps = steps_per_epoch * o.epochs;

  CheckpointMeta meta;
  meta.model = o.model;
  meta.task = o.task;
  meta.input = InputSpec{o.input_size, kInputMean, kInputStd, 255.0f, kLungWindow};
  meta.options = o.to_json();

  int start_epoch = 0;
  if (o.resume) {
    auto loaded = load_checkpoint(ckpt_path, model, &optimizer, /*restore_torch_rng=*/true, device);
    if (!loaded) return make_error("train --resume: " + loaded.error().message);
    if (loaded->task != o.task || loaded->input.size != o.input_size)
      return make_error("train --resume: " + ckpt_path + " was trained for task " + loaded->task + " at " +
                        std::to_string(loaded->input.size) + "^2; options ask for " + o.task + " at " +
                        std::to_string(o.input_size) + "^2");
    start_epoch = loaded->epoch;
    meta.rng = loaded->rng;
    meta.cls_order = loaded->cls_order;
    meta.cls_cursor = loaded->cls_cursor;
    meta.best_metric = loaded->best_metric;
    meta.best_epoch = loaded->best_epoch;
    rng.set_state(loaded->rng);
    if (auto t = truncate_log(log_path, start_epoch); !t) return t.error();
  } else {
    std::error_code rm;
    fs::remove(log_path, rm);
  }
  nlohmann::json config = o.to_json();
  config["precision_used"] = precision_name(precision);  // what "auto" became on this machine
  if (auto w = write_file_atomically((fs::path(o.out_dir) / "config.json").string(), config.dump(2) + "\n"); !w)
    return w.error();

  TrainSummary summary;
  summary.device = device_name(device);
  summary.precision = precision_name(precision);
  summary.checkpoint_path = ckpt_path;
  summary.best_path = best_path;
  summary.best_epoch = meta.best_epoch;
  summary.best_val_dice = meta.best_metric;
  summary.epochs_completed = start_epoch;

  Progress progress(o.progress);
  const AugmentConfig aug_cfg;
  std::vector<std::size_t> cls_order(meta.cls_order.begin(), meta.cls_order.end());
  std::size_t cls_cursor = static_cast<std::size_t>(meta.cls_cursor);
  const auto run_start = Clock::now();
  std::int64_t steps_this_run = 0;
  const int last_epoch = o.stop_after_epoch > 0 ? std::min(o.epochs, o.stop_after_epoch) : o.epochs;

  for (int epoch = start_epoch; epoch < last_epoch; ++epoch) {
    const auto epoch_start = Clock::now();
    const std::vector<std::size_t> order = shuffled_indices(n_train, rng);
    double sum_loss = 0, sum_seg = 0, sum_cls = 0;
    double lr = o.lr;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s) {
      const std::int64_t global_step = epoch * steps_per_epoch + s;
      lr = learning_rate(o, global_step, steps_per_epoch, total_steps);
      set_lr(optimizer, lr);
      const std::size_t b0 = static_cast<std::size_t>(s) * batch;
      std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(b0),
                                   order.begin() + static_cast<std::ptrdiff_t>(std::min(n_train, b0 + batch)));
      const SegBatch sb = make_seg_batch(*train_seg, idx, o.input_size, o.augment, aug_cfg, rng);
      optimizer.zero_grad();
      torch::Tensor seg_loss, loss;
      double cls_value = 0.0;
      {
        // Forward passes and losses under the precision's autocast; backward after it, as PyTorch's
        // autocast recipe has it (gradients reach the fp32 weights in fp32).
        const AutocastScope autocast(precision, device);
        const ModelOutput out = model->forward(sb.image.to(device));
        seg_loss = segmentation_loss(out.seg_logits, sb.target.to(device));
        loss = seg_loss;
        if (o.use_ucsd) {
          for (int k = 0; k < o.cls_batches_per_step; ++k) {
            std::vector<std::size_t> cidx;
            while (cidx.size() < batch) {
              if (cls_cursor >= cls_order.size()) {  // a new pass over UCSD train
                cls_order = shuffled_indices(train_cls.size(), rng);
                cls_cursor = 0;
              }
              cidx.push_back(cls_order[cls_cursor++]);
            }
            const ClsBatch cb = make_cls_batch(train_cls, cidx, o.input_size, o.augment, aug_cfg, rng);
            const torch::Tensor cls_loss =
                classification_loss(model->forward(cb.image.to(device)).cls_logit, cb.label.to(device)) /
                static_cast<double>(o.cls_batches_per_step);
            loss = loss + o.cls_weight * cls_loss;
            cls_value += cls_loss.item<double>();
          }
        }
      }  // autocast ends
      loss.backward();
      optimizer.step();
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value))
        return make_error("train: the loss became " + std::to_string(loss_value) + " at epoch " +
                          std::to_string(epoch + 1) + " step " + std::to_string(s + 1) + " (try a lower --lr)");
      summary.step_losses.push_back(loss_value);
      sum_loss += loss_value;
      sum_seg += seg_loss.item<double>();
      sum_cls += cls_value;
      ++steps_this_run;
      const double per_step = seconds_since(run_start) / static_cast<double>(steps_this_run);
      progress.step(epoch + 1, o.epochs, s + 1, steps_per_epoch, sum_loss / static_cast<double>(s + 1),
                    per_step * static_cast<double>(total_steps - global_step - 1));
    }

    const ValResult v = validate(model, o, *val_seg, val_cls, device);
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.lr = lr;
    m.train_loss = sum_loss / static_cast<double>(steps_per_epoch);
    m.train_seg_loss = sum_seg / static_cast<double>(steps_per_epoch);
    m.train_cls_loss = o.use_ucsd ? sum_cls / static_cast<double>(steps_per_epoch) : kNaN;
    m.val_dice_ggo = v.dice[0];
    m.val_dice_consolidation = v.dice[1];
    m.val_dice_effusion = v.dice[2];
    m.val_dice_mean_fg = v.dice_mean_fg;
    m.val_dice_lesion = v.dice_lesion;
    m.val_rand_error = v.rand_error;
    m.val_rand_error_lesion = v.rand_error_lesion;
    m.val_cls_f1 = v.cls_f1;
    m.val_cls_auc = v.cls_auc;
    m.val_cls_accuracy = v.cls_accuracy;
    m.seconds = seconds_since(epoch_start);

    // Log first, then checkpoint: a crash in between leaves a log line that --resume drops.
    if (auto a = append_line(log_path, m.to_json().dump()); !a) return a.error();
    const double score = std::isfinite(m.val_dice_mean_fg) ? m.val_dice_mean_fg : -1.0;
    const bool improved = meta.best_epoch == 0 || score > meta.best_metric;
    if (improved) {
      meta.best_metric = score;
      meta.best_epoch = epoch + 1;
    }
    meta.epoch = epoch + 1;
    meta.global_step = (epoch + 1) * steps_per_epoch;
    meta.rng = rng.state();
    meta.cls_order.assign(cls_order.begin(), cls_order.end());
    meta.cls_cursor = static_cast<std::int64_t>(cls_cursor);
    if (auto w = save_checkpoint(ckpt_path, model, &optimizer, meta); !w) return w.error();
    if (improved) {
      if (auto c = copy_file_atomically(ckpt_path, best_path); !c) return c.error();
    }
    summary.epochs.push_back(m);
    summary.epochs_completed = epoch + 1;
    summary.best_epoch = meta.best_epoch;
    summary.best_val_dice = meta.best_metric;
    const double per_epoch = seconds_since(run_start) / static_cast<double>(epoch + 1 - start_epoch);
    progress.epoch_done(m, o.epochs, per_epoch * static_cast<double>(o.epochs - epoch - 1));
  }
  return summary;
}

}  // namespace corona::native
