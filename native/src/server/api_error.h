// server/api_error.h: the server's one error vocabulary. Every error the API returns is one of
// these kinds, written as {"error": {"code": HTTP status, "message": text, "type": kind name}}.
#pragma once

#include <string>

namespace httplib {
struct Response;
}

namespace corona::native::server {

enum class ApiError {
  kEmptyInput,          // 400: POST with no body
  kBadRequest,          // 400: the request itself is malformed
  kUnauthorized,        // 401: token set and missing or wrong
  kNotFound,            // 404: no such route, file or job (or it expired)
  kJobNotDone,          // 409: result/mask of a job still queued or running
  kJobCancelled,        // 409: result/mask of a cancelled job
  kPayloadTooLarge,     // 413: body over --max-upload-bytes
  kUnsupportedMedia,    // 415: not NIfTI-1, PNG or JPEG (sniffed from the bytes)
  kInvalidInput,        // 422: right kind, but truncated, corrupt, absurd dims, bad datatype
  kInferenceFailed,     // 500: the network failed on an accepted input
  kInternal,            // 500: anything else
  kQueueFull,           // 503: the inference queue is full (Retry-After set)
};

int http_status(ApiError e);
const char* type_name(ApiError e);
// Sets status, the JSON body and its content type.
void set_error(httplib::Response& res, ApiError e, const std::string& message);
// The error kind for a status that httplib produced itself (404, 413, 400, ...).
ApiError error_for_status(int status);

}  // namespace corona::native::server
