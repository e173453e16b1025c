// server/routes.h: the route table of the JSON API and the cross-cutting parts of every request
// (bearer token, CORS, security headers, JSON errors, one log line).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "corona_native/server.h"
#include "job_queue.h"

namespace httplib {
class Server;
}

namespace corona::native::server {

struct ServerContext {
  ServerOptions options;
  JobQueue* queue = nullptr;
  nlohmann::json model_info;   // GET /api/v1/model: {"plans": ..., "metrics": ... | null}
  nlohmann::json model_brief;  // name and version, for /health
};

// The API routes (one table, in routes.cpp).
void install_api_routes(httplib::Server& server, ServerContext& context);
// Token, CORS, headers, JSON bodies for httplib's own errors, logging; static files at /.
void install_middleware(httplib::Server& server, const ServerContext& context);
bool mount_web_app(httplib::Server& server, const std::string& web_dir);
// The route pattern of a path for logs: "/api/v1/jobs/{id}/mask", "static", ... never the path.
std::string route_pattern(const std::string& path);

}  // namespace corona::native::server
