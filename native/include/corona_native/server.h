// corona_native/server.h: `coronanet serve`, the native inference server (cpp-httplib): the web app
// at /, a versioned JSON API at /api/v1 whose segmentations go through one queue that owns the model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>


namespace corona::native {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (the chosen one is printed)
  std::string model_path;          // model folder or checkpoint (default_model_path())
  std::string web_dir = "build/web";
  std::uint64_t max_upload_bytes = std::uint64_t{256} << 20;  // request body
  std::uint64_t max_volume_bytes = std::uint64_t{1} << 30;    // decoded float volume
  int queue_length = 8;            // jobs waiting (not counting the one running); full -> 503
  int job_expiry_s = 600;          // finished jobs (and their masks) are dropped after this
  // HTTP worker threads. httplib keeps each kept-alive connection on one thread, and a long poll
  // (?wait) holds its thread while it waits: with fewer threads than connections, some clients'
  // requests wait for a thread. The web app holds up to three per job (state, result and mask long
  // polls); measured with 16 clients (tools/bench/server.mjs): p99 2.2 s with 64 threads, 3.3-4.1 s
  // with 32 (and 7.7 s with 8 when it held one).
  int http_threads = 64;
  int batch = 8;                   // slices per forward pass
  std::string token;               // non-empty: the API (not /health) needs "Authorization: Bearer TOKEN"
  std::vector<std::string> cors_origins;  // empty: no CORS headers at all
  int threads = 0;                 // inference CPU threads (PredictorOptions::threads; 0 = all cores)
  std::string device = "auto";     // PredictorOptions::device
};

// Loads the model, binds, serves until SIGINT/SIGTERM. Returns the process exit code.
// Calls tune_allocator_for_inference first.
int run_server(const ServerOptions& options);

// glibc malloc settings for a process that runs the network again and again: one arena, freed
// memory up to 256 MiB kept instead of returned to the system, blocks up to 32 MiB from the heap
// instead of mmap. Without them each forward pass maps and page-faults its ~tens of MB of
// activations anew (measured, 512² slice at 256²: LibTorch in process ~122 -> ~100 ms, through
// the server ~168 -> ~148 ms). Cost: up to 256 MiB of freed memory stays resident. Call before
// any thread starts; returns false where mallopt refused (or is not glibc).
bool tune_allocator_for_inference();

}  // namespace corona::native
