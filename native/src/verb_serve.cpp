// `coronanet serve`: the command line of the native inference server (server.h does the serving).
#include <cstdio>
#include <string>

#include "corona_native/cli_util.h"
#include "corona_native/server.h"
#include "corona_native/verbs.h"

namespace corona::native {
namespace {

constexpr const char* kServeUsage =
    "usage: coronanet serve [--host H] [--port P] [--model DIR|CKPT] [--web DIR] [options]\n"
    "  --host H                 address to bind (default 127.0.0.1: this machine only)\n"
    "  --port P                 TCP port (default 8080; 0 = any free port, printed at start)\n"
    "  --model DIR|CKPT         model folder or checkpoint (default: the shipped models/corona-net)\n"
    "  --web DIR                the web app served at / (default build/web)\n"
    "  --token T                require \"Authorization: Bearer T\" on the API (/api/v1/health stays public)\n"
    "  --cors-origin O          allow cross-origin API calls from origin O (repeatable; default none)\n"
    "  --max-upload-bytes N     largest request body (default 268435456 = 256 MiB)\n"
    "  --max-volume-bytes N     largest decoded volume, 4 bytes a voxel (default 1073741824 = 1 GiB)\n"
    "  --queue-length N         jobs that may wait for the model (default 8; more: 503 + Retry-After)\n"
    "  --job-expiry S           seconds a finished job and its mask are kept (default 600)\n"
    "  --http-threads N         HTTP worker threads (default 64; a long poll holds one while it waits)\n"
    "  --batch N                slices per forward pass (default 8)\n"
    "  --threads N              CPU threads for inference (default 0 = all cores)\n"
    "  --device auto|cpu|cuda   (default auto: CUDA when available)\n"
    "API (JSON, errors as {\"error\": {\"code\", \"message\", \"type\"}}):\n"
    "  GET  /api/v1/health                 public\n"
    "  GET  /api/v1/model                  plans.json and metrics.json of the model\n"
    "  POST /api/v1/segment                body: one NIfTI-1 (.nii/.nii.gz), PNG or JPEG file -> 202 {id}\n"
    "  GET  /api/v1/jobs/{id}[?wait=MS]    state (queued, running, done, failed, cancelled), progress;\n"
    "                                      wait: answer when the job finishes or after MS (<= 60000)\n"
    "  GET  /api/v1/jobs/{id}/result       the report of coronanet predict\n"
    "  GET  /api/v1/jobs/{id}/mask         labels: .nii.gz (volume) or PNG (slice); /overlay: PNG\n"
    "  DELETE /api/v1/jobs/{id}            cancel (or drop a finished job)\n"
    "Research tool, not a diagnostic device.\n";

int usage_error(const std::string& message) { return native::usage_error("serve", message, kServeUsage); }

// Whole-string count in [lo, hi].
bool parse_bytes(const std::string& s, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  const std::uint64_t v = std::stoull(s);
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

// One flag with its value; "" when fine, else the usage error's message.
std::string parse_flag(const std::string& a, const std::string& v, ServerOptions& o) {
  const std::string bad = "bad value '" + v + "' for " + a;
  if (a == "--host") o.host = v;
  else if (a == "--model" || a == "--checkpoint") o.model_path = v;
  else if (a == "--web") o.web_dir = v;
  else if (a == "--token") o.token = v;
  else if (a == "--cors-origin") o.cors_origins.push_back(v);
  else if (a == "--port") return parse_int(v, 0, 65535, o.port) ? "" : bad + ": expected 0..65535";
  else if (a == "--max-upload-bytes")
    return parse_bytes(v, 1, std::uint64_t{1} << 40, o.max_upload_bytes) ? "" : bad + ": expected a byte count";
  else if (a == "--max-volume-bytes")
    return parse_bytes(v, 1, std::uint64_t{1} << 40, o.max_volume_bytes) ? "" : bad + ": expected a byte count";
  else if (a == "--queue-length") return parse_int(v, 1, 100000, o.queue_length) ? "" : bad + ": expected 1..100000";
  else if (a == "--job-expiry") return parse_int(v, 1, 604800, o.job_expiry_s) ? "" : bad + ": expected 1..604800 s";
  else if (a == "--http-threads") return parse_int(v, 1, 1024, o.http_threads) ? "" : bad + ": expected 1..1024";
  else if (a == "--batch") return parse_int(v, 1, 4096, o.batch) ? "" : bad + ": expected 1..4096";
  else if (a == "--threads") return parse_int(v, 0, 1024, o.threads) ? "" : bad + ": expected 0..1024";
  else if (a == "--device") {
    if (v != "auto" && v != "cpu" && v != "cuda") return bad + ": expected auto, cpu or cuda";
    o.device = v;
  }
  else return "unknown option '" + a + "'";
  return "";
}

}  // namespace

int run_serve(int argc, char** argv) {
  ServerOptions options;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kServeUsage, stdout);
      return 0;
    }
    if (a.rfind("--", 0) != 0) return usage_error("unexpected argument '" + a + "'");
    if (i + 1 >= argc) return usage_error(a + " needs a value");
    if (const std::string err = parse_flag(a, argv[++i], options); !err.empty()) return usage_error(err);
  }
  if (options.model_path.empty()) options.model_path = default_model_path();
  return run_server(options);
}

}  // namespace corona::native
