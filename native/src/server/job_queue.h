// server/job_queue.h: the job store and the one inference queue. A single worker thread owns the
// Predictor; HTTP threads only submit decoded inputs, read snapshots and cancel.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "corona_native/predict_report.h"

namespace corona::native::server {

enum class JobState { kQueued, kRunning, kDone, kFailed, kCancelled };
const char* state_name(JobState s);

// What a handler may read of a job (a copy, taken under the store's lock).
struct JobSnapshot {
  std::string id;
  JobState state = JobState::kQueued;
  int done = 0, total = 0;                            // slices
  std::string error;                                  // kFailed: why
  std::shared_ptr<const PredictionOutputs> outputs;   // kDone only
};

struct QueueLimits {
  int queue_length = 8;   // jobs waiting, not counting the running one
  int job_expiry_s = 600; // finished jobs are dropped this long after they finished
  int batch = 8;
};

class JobQueue {
 public:
  // Jobs run when some thread calls run_worker().
  JobQueue(Predictor& predictor, const QueueLimits& limits);
  ~JobQueue();  // stop()s; run_worker must have returned (its caller joins whatever thread ran it)
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // The new job's id, or nullopt when the queue is full.
  std::optional<std::string> submit(DecodedInput input);
  std::optional<JobSnapshot> get(const std::string& id);
  // As get, but first waits (at most `max`) until the job has finished (done, failed, cancelled)
  // or the queue is stopping: the long poll of GET /api/v1/jobs/{id}?wait=MS, so a client learns
  // of the result when it is ready instead of polling.
  std::optional<JobSnapshot> wait(const std::string& id, std::chrono::milliseconds max);
  // Runs the jobs, one at a time, on the calling thread until stop(). The server calls it from
  // the process's initial thread (serve_with says why).
  void run_worker();
  // Cancels the running job and makes run_worker return after it; releases the waiters.
  void stop();
  // Wakes every wait() now and makes later ones return at once (the server is stopping).
  void release_waiters();
  // Queued: cancelled at once. Running: its cancel flag is set (the volume loop stops at the next
  // batch). Finished: removed with its outputs (kDeleted).
  enum class CancelResult { kNoSuchJob, kCancelled, kDeleted };
  CancelResult cancel(const std::string& id);
  int queued() const;
  bool running() const;
  // Seconds a client should wait before retrying a full queue (from recent job durations).
  int retry_after_s() const;

 private:
  struct Job;
  void run_job(const std::shared_ptr<Job>& job);
  void expire_locked(std::chrono::steady_clock::time_point now);
  std::string new_id_locked();

  Predictor& predictor_;
  QueueLimits limits_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;  // notified when any job finishes; wait() sleeps on it
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> waiting_;
  std::shared_ptr<Job> current_;
  double mean_job_s_ = 1.0;
  bool stopping_ = false;
  bool waiters_released_ = false;
};

}  // namespace corona::native::server
