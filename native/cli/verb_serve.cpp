// `coronanet serve`: the command line of the native inference server (server.h does the serving).
#include <cstdint>
#include <string>

#include "cli/cli_util.h"
#include "cli/flags.h"
#include "cli/verbs.h"
#include "corona_native/server.h"

namespace corona::native {
namespace {

constexpr const char* kServeEpilogue =
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

std::string shown_int(int v) { return shown(static_cast<long long>(v)); }

// "268435456 = 256 MiB": the count, and in MiB or GiB when it is a whole number of them.
std::string shown_bytes(std::uint64_t n) {
  const std::string count = shown(static_cast<long long>(n));
  constexpr std::uint64_t kMiB = std::uint64_t{1} << 20, kGiB = std::uint64_t{1} << 30;
  if (n > 0 && n % kGiB == 0) return count + " = " + std::to_string(n / kGiB) + " GiB";
  if (n > 0 && n % kMiB == 0) return count + " = " + std::to_string(n / kMiB) + " MiB";
  return count;
}

// The flag table; its defaults are o's values.
Command serve_command(ServerOptions& o) {
  constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 40;
  Command c;
  c.verb = "serve";
  c.synopsis = "[--host H] [--port P] [--model DIR|CKPT] [--web DIR] [options]";
  c.flags = {
      {{"--host"}, "H", "address to bind", o.host + ": this machine only", set_text(o.host)},
      {{"--port"}, "P", "TCP port", shown_int(o.port) + "; 0 = any free port, printed at start",
       set_int(o.port, 0, 65535)},
      model_flag(o.model_path, true),
      {{"--web"}, "DIR", "the web app served at /", o.web_dir, set_text(o.web_dir)},
      {{"--token"}, "T", "require \"Authorization: Bearer T\" on the API (/api/v1/health stays public)", "",
       set_text(o.token)},
      {{"--cors-origin"}, "O", "allow cross-origin API calls from origin O (repeatable; default none)", "",
       append_text(o.cors_origins)},
      {{"--max-upload-bytes"}, "N", "largest request body", shown_bytes(o.max_upload_bytes),
       set_count(o.max_upload_bytes, 1, kMaxBytes, "expected a byte count")},
      {{"--max-volume-bytes"}, "N", "largest decoded volume, 4 bytes a voxel", shown_bytes(o.max_volume_bytes),
       set_count(o.max_volume_bytes, 1, kMaxBytes, "expected a byte count")},
      {{"--queue-length"}, "N", "jobs that may wait for the model", shown_int(o.queue_length) + "; more: 503 + Retry-After",
       set_int(o.queue_length, 1, 100000)},
      {{"--job-expiry"}, "S", "seconds a finished job and its mask are kept", shown_int(o.job_expiry_s),
       set_int(o.job_expiry_s, 1, 604800, "expected an integer 1..604800 (seconds)")},
      {{"--http-threads"}, "N", "HTTP worker threads", shown_int(o.http_threads) + "; a long poll holds one while it waits",
       set_int(o.http_threads, 1, 1024)},
      batch_flag(o.batch),
  };
  for (Flag& f : compute_flags(o.threads, o.device)) c.flags.push_back(std::move(f));
  c.epilogue = kServeEpilogue;
  return c;
}

}  // namespace

int run_serve(int argc, char** argv) {
  ServerOptions options;
  const Command command = serve_command(options);
  if (const auto done = parse_command_line(command, argc, argv)) return *done;
  if (options.model_path.empty()) options.model_path = default_model_path();
  return run_server(options);
}

}  // namespace corona::native
