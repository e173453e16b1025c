// The JSON API: one table of routes; each handler validates, then returns.
#include "routes.h"

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <utility>

#include "api_error.h"
#include "corona/image_io.h"

namespace corona::native::server {
namespace {

using Handler = std::function<void(ServerContext&, const httplib::Request&, httplib::Response&)>;

constexpr const char* kJobPattern = R"(/api/v1/jobs/([0-9a-f]{32}))";

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

nlohmann::json job_links(const std::string& id) {
  const std::string base = std::string("/api/v1/jobs/") + id;
  return {{"self", base}, {"result", base + "/result"}, {"mask", base + "/mask"}, {"overlay", base + "/overlay"}};
}

void get_health(ServerContext& ctx, const httplib::Request&, httplib::Response& res) {
  send_json(res, 200,
            {{"status", "ok"},
             {"model", ctx.model_brief},
             {"queue", {{"waiting", ctx.queue->queued()},
                        {"running", ctx.queue->running()},
                        {"capacity", ctx.options.queue_length}}}});
}

void get_model(ServerContext& ctx, const httplib::Request&, httplib::Response& res) {
  send_json(res, 200, ctx.model_info);
}

bool accepted_kind(FileKind k) {
  return k == FileKind::kPng || k == FileKind::kJpeg || k == FileKind::kNifti1 || k == FileKind::kGzip;
}

void post_segment(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  if (req.body.empty())
    return set_error(res, ApiError::kEmptyInput,
                     "the request body is empty: send the bytes of one NIfTI-1 (.nii/.nii.gz), PNG or JPEG file");
  if (req.body.size() > ctx.options.max_upload_bytes)
    return set_error(res, ApiError::kPayloadTooLarge,
                     "the upload is larger than this server's limit of " +
                         std::to_string(ctx.options.max_upload_bytes) + " bytes");
  const auto* data = reinterpret_cast<const std::uint8_t*>(req.body.data());
  const FileKind kind = sniff_file_kind(data, req.body.size());
  if (!accepted_kind(kind)) return set_error(res, ApiError::kUnsupportedMedia, unsupported_file_message(kind));
  DecodeLimits limits;
  limits.max_voxel_bytes = ctx.options.max_volume_bytes;
  auto input = decode_input(data, req.body.size(), limits);
  if (!input) return set_error(res, ApiError::kInvalidInput, "the upload cannot be read: " + input.error().message);
  const auto id = ctx.queue->submit(std::move(input).value());
  if (!id) {
    res.set_header("Retry-After", std::to_string(ctx.queue->retry_after_s()));
    return set_error(res, ApiError::kQueueFull, "the inference queue is full; retry later");
  }
  res.set_header("Location", std::string("/api/v1/jobs/") + *id);
  send_json(res, 202, {{"id", *id}, {"state", "queued"}, {"links", job_links(*id)}});
}

constexpr int kMaxWaitMs = 60000;

// ?wait=MS (0..kMaxWaitMs): the long poll. Absent: 0 (answer at once).
bool parse_wait(const httplib::Request& req, int& ms) {
  ms = 0;
  if (!req.has_param("wait")) return true;
  const std::string v = req.get_param_value("wait");
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) return false;
  ms = std::stoi(v);
  return ms <= kMaxWaitMs;
}

// The job named by the route, or the error already written (404; 400 for a bad ?wait). With
// ?wait=MS the answer waits until the job has finished (or MS have passed): the long poll of GET
// /jobs/{id}, /result and /mask, so a client learns of the result when it is ready, not by polling.
std::optional<JobSnapshot> job_snapshot(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  int wait_ms = 0;
  if (!parse_wait(req, wait_ms)) {
    set_error(res, ApiError::kBadRequest,
              "wait must be a whole number of milliseconds from 0 to " + std::to_string(kMaxWaitMs));
    return std::nullopt;
  }
  const std::string id = req.matches[1].str();
  auto job = wait_ms > 0 ? ctx.queue->wait(id, std::chrono::milliseconds(wait_ms)) : ctx.queue->get(id);
  if (!job)
    set_error(res, ApiError::kNotFound, "no such job (finished jobs expire after " +
                                            std::to_string(ctx.options.job_expiry_s) + " s)");
  return job;
}

void get_job(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto job = job_snapshot(ctx, req, res);
  if (!job) return;
  nlohmann::json body = {{"id", job->id},
                         {"state", state_name(job->state)},
                         {"progress", {{"done", job->done}, {"total", job->total}}},
                         {"links", job_links(job->id)}};
  if (job->state == JobState::kFailed) body["error"] = job->error;
  send_json(res, 200, body);
}

// The outputs of a finished job, or the matching error already written.
std::shared_ptr<const PredictionOutputs> job_outputs(ServerContext& ctx, const httplib::Request& req,
                                                     httplib::Response& res) {
  const auto job = job_snapshot(ctx, req, res);
  if (!job) return nullptr;
  switch (job->state) {
    case JobState::kDone: return job->outputs;
    case JobState::kFailed: set_error(res, ApiError::kInferenceFailed, "the job failed: " + job->error); break;
    case JobState::kCancelled: set_error(res, ApiError::kJobCancelled, "the job was cancelled"); break;
    default:
      res.set_header("Retry-After", "1");
      set_error(res, ApiError::kJobNotDone, std::string("the job is ") + state_name(job->state) + "; poll its state");
  }
  return nullptr;
}

void get_result(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  if (const auto out = job_outputs(ctx, req, res)) send_json(res, 200, out->report);
}

void send_file(httplib::Response& res, const std::vector<std::uint8_t>& bytes, const std::string& name,
               const char* type) {
  res.status = 200;
  res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
  res.set_content(reinterpret_cast<const char*>(bytes.data()), bytes.size(), type);
}

// The PNGs are encoded here, on the first request for them, on this HTTP thread (the job queue
// runs with encode_files = false): the model's worker never spends time on files nobody fetches.
void get_mask(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto out = job_outputs(ctx, req, res);
  if (!out) return;
  const bool png = out->mask_extension == "png";
  const std::string name = "mask." + out->mask_extension;
  if (out->deferred && out->deferred->mask_from_labels()) return send_file(res, out->deferred->mask_png(), name, "image/png");
  send_file(res, out->mask, name, png ? "image/png" : "application/gzip");
}

void get_overlay(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto out = job_outputs(ctx, req, res);
  if (!out) return;
  if (!out->deferred) return send_file(res, out->overlay_png, "overlay.png", "image/png");
  auto png = out->deferred->overlay_png();
  if (!png) return set_error(res, ApiError::kInternal, "the overlay cannot be drawn: " + png.error().message);
  send_file(res, *png, "overlay.png", "image/png");
}

void delete_job(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1].str();
  switch (ctx.queue->cancel(id)) {
    case JobQueue::CancelResult::kNoSuchJob: return set_error(res, ApiError::kNotFound, "no such job");
    case JobQueue::CancelResult::kCancelled: return send_json(res, 200, {{"id", id}, {"state", "cancelled"}});
    case JobQueue::CancelResult::kDeleted: return send_json(res, 200, {{"id", id}, {"deleted", true}});
  }
}

struct Route {
  const char* method;
  std::string pattern;
  Handler handler;
};

std::vector<Route> route_table() {
  const std::string job = kJobPattern;
  return {
      {"GET", "/api/v1/health", get_health},
      {"GET", "/api/v1/model", get_model},
      {"POST", "/api/v1/segment", post_segment},
      {"GET", job, get_job},
      {"GET", job + "/result", get_result},
      {"GET", job + "/mask", get_mask},
      {"GET", job + "/overlay", get_overlay},
      {"DELETE", job, delete_job},
  };
}

}  // namespace

void install_api_routes(httplib::Server& server, ServerContext& context) {
  for (Route& r : route_table()) {
    httplib::Server::Handler h = [&context, f = std::move(r.handler)](const httplib::Request& req,
                                                                      httplib::Response& res) { f(context, req, res); };
    const std::string m = r.method;
    if (m == "GET") server.Get(r.pattern, h);
    else if (m == "POST") server.Post(r.pattern, h);
    else if (m == "DELETE") server.Delete(r.pattern, h);
  }
}

}  // namespace corona::native::server
