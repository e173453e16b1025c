// run_server: load the model, start the queue, bind, serve until SIGINT/SIGTERM.
#include <httplib.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "corona_native/inference.h"
#include "corona_native/model_package.h"
#include "corona_native/server.h"
#include "routes.h"

namespace corona::native {
namespace {

namespace fs = std::filesystem;

// GET /api/v1/model: the folder's plans.json and metrics.json as written (a bare checkpoint: the
// plans synthesised from it, no metrics).
nlohmann::json model_info(const Predictor& predictor, const std::string& model_path) {
  nlohmann::json info = {{"plans", predictor.plans().to_json()}, {"metrics", nullptr}};
  std::error_code ec;
  if (!fs::is_directory(model_path, ec)) return info;
  if (auto plans = read_json_file((fs::path(model_path) / "plans.json").string())) info["plans"] = *plans;
  if (auto metrics = read_json_file((fs::path(model_path) / "metrics.json").string())) info["metrics"] = *metrics;
  return info;
}

// SIGINT/SIGTERM: a process-wide handler writes the signal number to a pipe (async-signal-safe);
// one waiter thread reads it and stops the server. Blocking the signals and sigwait()ing would miss
// threads that libraries (OpenBLAS, OpenMP) start before main: a signal delivered to one of them
// would kill the process with the default action.
int g_stop_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = write(g_stop_pipe[1], &b, 1);
}

bool install_stop_handler() {
  if (pipe(g_stop_pipe) != 0) return false;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(SIGINT, &sa, nullptr) == 0 && sigaction(SIGTERM, &sa, nullptr) == 0;
}

// The server the signal waiter stops, and the queue whose long polls it ends first (httplib's stop
// joins the HTTP threads, which would otherwise sit out their ?wait); cleared before they are destroyed.
std::atomic<httplib::Server*> g_running{nullptr};
std::atomic<server::JobQueue*> g_queue{nullptr};

void stop_on_signal(httplib::Server& server, server::JobQueue& queue) {
  g_queue = &queue;
  g_running = &server;
  std::thread([] {
    for (;;) {
      unsigned char sig = 0;
      const ssize_t n = read(g_stop_pipe[0], &sig, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n != 1) return;
      std::fprintf(stderr, "coronanet serve: signal %d, stopping\n", static_cast<int>(sig));
      if (server::JobQueue* q = g_queue.load()) q->release_waiters();
      if (httplib::Server* s = g_running.load()) s->stop();
    }
  }).detach();
}

bool bind_port(httplib::Server& server, const ServerOptions& o, int& port) {
  if (o.port == 0) {
    port = server.bind_to_any_port(o.host);
    return port > 0;
  }
  port = o.port;
  return server.bind_to_port(o.host, o.port);
}

int serve_with(Predictor& predictor, const ServerOptions& options) {
  server::QueueLimits limits{options.queue_length, options.job_expiry_s, options.batch};
  server::JobQueue queue(predictor, limits);
  server::ServerContext ctx{options, &queue, model_info(predictor, options.model_path),
                            {{"name", predictor.plans().name}, {"version", predictor.plans().version}}};
  httplib::Server http;
  const std::size_t threads = static_cast<std::size_t>(options.http_threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options.max_upload_bytes);
  // httplib writes headers and body separately: with Nagle on, a kept-alive client's delayed ACK
  // held the body back ~40 ms on every small response (measured: GET result 44 ms -> a few ms).
  http.set_tcp_nodelay(true);
  // httplib closes a kept-alive connection after 5 requests by default; a web app job makes 4-5,
  // so nearly every job reconnected (and a burst of reconnects can overflow the listen backlog).
  http.set_keep_alive_max_count(1000);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  server::install_middleware(http, ctx);
  server::install_api_routes(http, ctx);
  if (!server::mount_web_app(http, options.web_dir))
    std::fprintf(stderr, "coronanet serve: warning: web app folder %s not found; serving the API only\n",
                 options.web_dir.c_str());
  int port = 0;
  if (!bind_port(http, options, port)) {
    std::fprintf(stderr, "coronanet serve: cannot listen on %s:%d\n", options.host.c_str(), options.port);
    return 1;
  }
  stop_on_signal(http, queue);
  std::fprintf(stderr, "coronanet serve: listening on http://%s:%d (model %s %s, %s)\n", options.host.c_str(), port,
               predictor.plans().name.c_str(), predictor.plans().version.c_str(), predictor.device_name().c_str());
  if (std::filesystem::is_directory(options.web_dir))
    std::fprintf(stderr, "coronanet serve: open http://%s:%d/ in a browser (http://%s:%d/?demo opens the demo); "
                 "Ctrl-C stops\n", options.host.c_str(), port, options.host.c_str(), port);
  std::fflush(stderr);
  // The model runs on this thread, the process's initial one, and HTTP on a second thread. Measured
  // (docs/server.md): the same predict_slice took 2-5 ms longer per 512² slice when a std::thread
  // led LibTorch's OpenMP team, in process and in the server. Most likely libgomp's throttle: it
  // spins only ~100 times between parallel regions once it counts more threads than CPUs, so the
  // idle team member sleeps and is woken for each of the network's parallel regions.
  std::thread http_thread([&] {
    http.listen_after_bind();
    queue.stop();  // also after a failed listen: run_worker returns
  });
  queue.run_worker();
  http_thread.join();
  g_running = nullptr;
  g_queue = nullptr;
  std::fprintf(stderr, "coronanet serve: stopped\n");
  return 0;
}

}  // namespace

bool tune_allocator_for_inference() {
#if defined(__GLIBC__)
  bool ok = mallopt(M_ARENA_MAX, 1) == 1;
  ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && ok;  // glibc's largest allowed on 64-bit
  ok = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1 && ok;
  return ok;
#else
  return false;
#endif
}

int run_server(const ServerOptions& options) {
  if (!tune_allocator_for_inference())
    std::fprintf(stderr, "coronanet serve: note: malloc settings for inference not applied\n");
  if (!install_stop_handler()) {
    std::fprintf(stderr, "coronanet serve: cannot install the SIGINT/SIGTERM handler\n");
    return 1;
  }
  PredictorOptions popt;
  popt.threads = options.threads;
  popt.device = options.device;
  auto predictor = Predictor::load(options.model_path, popt);
  if (!predictor) {
    std::fprintf(stderr, "coronanet serve: %s\n", predictor.error().message.c_str());
    return 1;
  }
  return serve_with(*predictor, options);
}

}  // namespace corona::native
