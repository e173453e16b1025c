// The inference queue: FIFO, bounded, one worker; finished jobs expire.
#include "job_queue.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <utility>

#include "corona_native/inference.h"

namespace corona::native::server {

struct JobQueue::Job {
  std::string id;
  JobState state = JobState::kQueued;
  int done = 0, total = 0;
  DecodedInput input;  // freed once the job has run
  std::string error;
  std::shared_ptr<const PredictionOutputs> outputs;
  std::atomic<bool> cancel{false};
  std::chrono::steady_clock::time_point finished_at;
};

const char* state_name(JobState s) {
  switch (s) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

namespace {

bool finished(JobState s) { return s == JobState::kDone || s == JobState::kFailed || s == JobState::kCancelled; }

}  // namespace

JobQueue::JobQueue(Predictor& predictor, const QueueLimits& limits) : predictor_(predictor), limits_(limits) {}

JobQueue::~JobQueue() { stop(); }

void JobQueue::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    waiters_released_ = true;
    if (current_) current_->cancel = true;
  }
  wake_.notify_all();
  finished_.notify_all();
}

void JobQueue::release_waiters() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiters_released_ = true;
  }
  finished_.notify_all();
}

std::string JobQueue::new_id_locked() {
  static thread_local std::random_device rd;
  for (;;) {
    char buf[33];
    std::uint64_t a = (std::uint64_t{rd()} << 32) ^ rd(), b = (std::uint64_t{rd()} << 32) ^ rd();
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(b));
    if (jobs_.count(buf) == 0) return buf;
  }
}

std::optional<std::string> JobQueue::submit(DecodedInput input) {
  std::lock_guard<std::mutex> lock(mutex_);
  expire_locked(std::chrono::steady_clock::now());
  if (static_cast<int>(waiting_.size()) >= limits_.queue_length) return std::nullopt;
  auto job = std::make_shared<Job>();
  job->id = new_id_locked();
  job->total = input.is_volume ? input.nifti.volume.nz : 1;
  job->input = std::move(input);
  jobs_[job->id] = job;
  waiting_.push_back(job);
  wake_.notify_one();
  return job->id;
}

std::optional<JobSnapshot> JobQueue::get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  expire_locked(std::chrono::steady_clock::now());
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  const Job& j = *it->second;
  return JobSnapshot{j.id, j.state, j.done, j.total, j.error, j.outputs};
}

std::optional<JobSnapshot> JobQueue::wait(const std::string& id, std::chrono::milliseconds max) {
  std::unique_lock<std::mutex> lock(mutex_);
  expire_locked(std::chrono::steady_clock::now());
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  const std::shared_ptr<Job> job = it->second;  // stays alive even if it expires meanwhile
  finished_.wait_for(lock, max, [&] { return finished(job->state) || waiters_released_; });
  return JobSnapshot{job->id, job->state, job->done, job->total, job->error, job->outputs};
}

JobQueue::CancelResult JobQueue::cancel(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return CancelResult::kNoSuchJob;
  const std::shared_ptr<Job> job = it->second;
  if (finished(job->state)) {
    jobs_.erase(it);  // frees its mask and report now
    return CancelResult::kDeleted;
  }
  job->cancel = true;
  if (job->state == JobState::kQueued) {
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), job), waiting_.end());
    job->state = JobState::kCancelled;
    job->input = DecodedInput{};
    job->finished_at = std::chrono::steady_clock::now();
    finished_.notify_all();
  }
  return CancelResult::kCancelled;  // a running job reaches it at its next batch
}

int JobQueue::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(waiting_.size());
}

bool JobQueue::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_ != nullptr;
}

int JobQueue::retry_after_s() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const double s = mean_job_s_ * static_cast<double>(waiting_.size() + 1) / 2.0;
  return static_cast<int>(std::clamp(std::ceil(s), 1.0, 600.0));
}

void JobQueue::expire_locked(std::chrono::steady_clock::time_point now) {
  const auto ttl = std::chrono::seconds(limits_.job_expiry_s);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const Job& j = *it->second;
    if (finished(j.state) && now - j.finished_at >= ttl) it = jobs_.erase(it);
    else ++it;
  }
}

void JobQueue::run_worker() {
  // OpenMP's thread count is per calling thread: a worker thread other than the one that loaded the
  // Predictor would otherwise run with the runtime's default, not with --threads.
  at::set_num_threads(predictor_.threads());
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // Wakes at least every second so expiry also happens on an idle server.
    wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || !waiting_.empty(); });
    expire_locked(std::chrono::steady_clock::now());
    if (stopping_) return;
    if (waiting_.empty()) continue;
    current_ = waiting_.front();
    waiting_.pop_front();
    current_->state = JobState::kRunning;
    const std::shared_ptr<Job> job = current_;
    lock.unlock();
    run_job(job);
    lock.lock();
    current_.reset();
  }
}

void JobQueue::run_job(const std::shared_ptr<Job>& job) {
  const auto t0 = std::chrono::steady_clock::now();
  PredictBytesOptions options;
  options.batch = limits_.batch;
  options.encode_files = false;  // the mask and overlay PNGs are encoded when first fetched (routes.cpp)
  options.cancel = &job->cancel;
  options.progress = [this, &job](int done, int total) {
    std::lock_guard<std::mutex> lock(mutex_);
    job->done = done;
    job->total = total;
  };
  auto result = predict_decoded(predictor_, job->input, options);
  const auto t1 = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  job->input = DecodedInput{};
  job->finished_at = t1;
  if (job->cancel) {
    job->state = JobState::kCancelled;
  } else if (!result) {
    job->state = JobState::kFailed;
    job->error = result.error().message;
  } else {
    job->state = JobState::kDone;
    job->outputs = std::make_shared<const PredictionOutputs>(std::move(result).value());
  }
  mean_job_s_ = 0.7 * mean_job_s_ + 0.3 * std::chrono::duration<double>(t1 - t0).count();
  finished_.notify_all();
}

}  // namespace corona::native::server
