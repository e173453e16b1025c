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
  // (?wait) holds its thread while it waits: with fewer threads than clients, some clients' requests
  // wait for a thread (measured, 16 clients: p99 7.7 s with 8 threads, 3.6 s with 32).
  int http_threads = 32;
  int batch = 8;                   // slices per forward pass
  std::string token;               // non-empty: the API (not /health) needs "Authorization: Bearer TOKEN"
  std::vector<std::string> cors_origins;  // empty: no CORS headers at all
  int threads = 0;                 // inference CPU threads (PredictorOptions::threads; 0 = all cores)
  std::string device = "auto";     // PredictorOptions::device
};

// Loads the model, binds, serves until SIGINT/SIGTERM. Returns the process exit code.
int run_server(const ServerOptions& options);

}  // namespace corona::native
