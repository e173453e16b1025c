// The error vocabulary: one table from kind to status and name.
#include "api_error.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace corona::native::server {
namespace {

struct ErrorInfo {
  ApiError kind;
  int status;
  const char* type;
};

constexpr ErrorInfo kErrors[] = {
    {ApiError::kEmptyInput, 400, "empty_input"},
    {ApiError::kBadRequest, 400, "bad_request"},
    {ApiError::kUnauthorized, 401, "unauthorized"},
    {ApiError::kNotFound, 404, "not_found"},
    {ApiError::kJobNotDone, 409, "job_not_done"},
    {ApiError::kJobCancelled, 409, "job_cancelled"},
    {ApiError::kPayloadTooLarge, 413, "payload_too_large"},
    {ApiError::kUnsupportedMedia, 415, "unsupported_media_type"},
    {ApiError::kInvalidInput, 422, "invalid_input"},
    {ApiError::kInferenceFailed, 500, "inference_failed"},
    {ApiError::kInternal, 500, "internal_error"},
    {ApiError::kQueueFull, 503, "queue_full"},
};

const ErrorInfo& info(ApiError e) {
  for (const ErrorInfo& i : kErrors)
    if (i.kind == e) return i;
  return kErrors[10];  // kInternal
}

}  // namespace

int http_status(ApiError e) { return info(e).status; }
const char* type_name(ApiError e) { return info(e).type; }

void set_error(httplib::Response& res, ApiError e, const std::string& message) {
  res.status = http_status(e);
  const nlohmann::json body = {{"error", {{"code", res.status}, {"message", message}, {"type", type_name(e)}}}};
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

ApiError error_for_status(int status) {
  switch (status) {
    case 401: return ApiError::kUnauthorized;
    case 404: return ApiError::kNotFound;
    case 413: return ApiError::kPayloadTooLarge;
    case 415: return ApiError::kUnsupportedMedia;
    case 503: return ApiError::kQueueFull;
    default: return status >= 500 ? ApiError::kInternal : ApiError::kBadRequest;
  }
}

}  // namespace corona::native::server
