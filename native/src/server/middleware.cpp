// What every request goes through: the bearer token on the API, CORS for the listed origins,
// security headers, JSON bodies for httplib's own errors, one log line (method, route, status, ms:
// never a file name, a query or a byte of the body), and the web app's static files.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "api_error.h"
#include "routes.h"

namespace corona::native::server {
namespace {

// Start of the request this HTTP thread is handling: httplib runs the pre-routing handler and the
// logger of one request on the same thread, one request after another.
thread_local std::chrono::steady_clock::time_point t_request_start;
thread_local bool t_request_started = false;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool is_api(const std::string& path) { return starts_with(path, "/api/"); }

// Comparison whose time does not depend on where the strings first differ.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool authorised(const ServerContext& ctx, const httplib::Request& req) {
  if (ctx.options.token.empty() || !is_api(req.path) || req.path == "/api/v1/health") return true;
  return same_secret(req.get_header_value("Authorization"), "Bearer " + ctx.options.token);
}

// CORS headers when the request's Origin is one of --cors-origin; true when it is.
bool apply_cors(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string origin = req.get_header_value("Origin");
  const auto& allowed = ctx.options.cors_origins;
  if (origin.empty() || std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return false;
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Vary", "Origin");
  res.set_header("Access-Control-Expose-Headers", "Location, Retry-After");
  return true;
}

httplib::Server::HandlerResponse pre_routing(const ServerContext& ctx, const httplib::Request& req,
                                             httplib::Response& res) {
  t_request_start = std::chrono::steady_clock::now();
  t_request_started = true;
  const bool cors = apply_cors(ctx, req, res);
  if (req.method == "OPTIONS" && cors) {  // preflight: no token needed
    res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
    res.set_header("Access-Control-Max-Age", "600");
    res.status = 204;
    return httplib::Server::HandlerResponse::Handled;
  }
  if (is_api(req.path)) res.set_header("Cache-Control", "no-store");
  if (authorised(ctx, req)) return httplib::Server::HandlerResponse::Unhandled;
  // Rejected before httplib read the body: a kept-alive connection would parse the unread body
  // as the next request (a 400 for the client's next call), so this connection ends here.
  res.set_header("Connection", "close");
  res.set_header("WWW-Authenticate", "Bearer");
  set_error(res, ApiError::kUnauthorized, "this server needs \"Authorization: Bearer <token>\" on /api/v1");
  return httplib::Server::HandlerResponse::Handled;
}

// httplib's own errors (no route, body too large, bad request line) get the API's JSON shape.
httplib::Server::HandlerResponse on_error(const httplib::Request& req, httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  const ApiError e = error_for_status(res.status);
  const int status = res.status;
  // httplib caps form-encoded bodies at 8 KiB (compiled into Debian's library), and curl's
  // --data-binary sends that content type by default: say how to send a file instead.
  const bool form = req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0;
  std::string message = status == 404 ? (is_api(req.path) ? "no such API route (see /api/v1/health)" : "not found")
                        : status == 413 && form
                            ? "form-encoded bodies are limited to 8 KiB: send the file's bytes with Content-Type: "
                              "application/octet-stream (curl: -H 'Content-Type: application/octet-stream')"
                        : status == 413 ? "the upload is larger than this server's limit"
                                        : "the request could not be handled";
  set_error(res, e, message);
  res.status = status;
  if (status == 413 || status == 400) res.set_header("Connection", "close");  // body may be unread
  return httplib::Server::HandlerResponse::Handled;
}

void log_request(const httplib::Request& req, const httplib::Response& res) {
  char ms[32] = "-";
  if (t_request_started) {
    const double d = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_request_start).count();
    std::snprintf(ms, sizeof ms, "%.1f", d);
  }
  t_request_started = false;
  const std::string method = req.method.size() <= 8 ? req.method : "?";
  std::fprintf(stderr, "coronanet serve: %s %s %d %s ms\n", method.c_str(), route_pattern(req.path).c_str(),
               res.status, ms);
}

}  // namespace

std::string route_pattern(const std::string& path) {
  static const char* const kFixed[] = {"/api/v1/health", "/api/v1/model", "/api/v1/segment"};
  for (const char* f : kFixed)
    if (path == f) return f;
  const std::string jobs = "/api/v1/jobs/";
  if (starts_with(path, jobs)) {
    const std::string rest = path.substr(jobs.size());
    const auto slash = rest.find('/');
    if (slash == std::string::npos) return jobs + "{id}";
    const std::string tail = rest.substr(slash);
    for (const char* t : {"/result", "/mask", "/overlay"})
      if (tail == t) return jobs + "{id}" + t;
    return jobs + "{id}/?";
  }
  return is_api(path) ? "/api/?" : "static";
}

void install_middleware(httplib::Server& server, const ServerContext& context) {
  // The app is cross-origin isolated so the browser may use threads (SharedArrayBuffer).
  server.set_default_headers({{"Cross-Origin-Opener-Policy", "same-origin"},
                              {"Cross-Origin-Embedder-Policy", "require-corp"},
                              {"X-Content-Type-Options", "nosniff"},
                              {"Referrer-Policy", "no-referrer"}});
  server.set_pre_routing_handler(
      [&context](const httplib::Request& req, httplib::Response& res) { return pre_routing(context, req, res); });
  server.set_error_handler(httplib::Server::HandlerWithResponse(on_error));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    set_error(res, ApiError::kInternal, "internal error");
  });
  server.set_logger(log_request);
}

bool mount_web_app(httplib::Server& server, const std::string& web_dir) {
  server.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
  server.set_file_extension_and_mimetype_mapping("wasm", "application/wasm");
  // httplib refuses paths that climb out of the folder (".." segments after decoding).
  return server.set_mount_point("/", web_dir);
}

}  // namespace corona::native::server
