#include "http/static_files.h"

#include <httplib.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

namespace livefeed {
namespace {

// The request a static file is served from, and the response it gets, in memory.
class MemoryStream final : public httplib::Stream {
 public:
  explicit MemoryStream(std::string request) : request_(std::move(request)) {}

  bool is_readable() const override { return position_ < request_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const std::size_t n = std::min(size, request_.size() - position_);
    request_.copy(ptr, n, position_);
    position_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    response_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  socket_t socket() const override { return -1; }

  std::string TakeResponse() { return std::move(response_); }

 private:
  const std::string request_;
  std::size_t position_ = 0;
  std::string response_;
};

bool HasDotDotSegment(std::string_view path) {
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    if (path.substr(start, slash - start) == "..") return true;
    start = slash + 1;
  }
  return false;
}

}  // namespace

class StaticFiles::Library final : public httplib::Server {
 public:
  Library(const std::string& root, int keep_alive_seconds) {
    // Pages may change with a deploy: browsers revalidate instead of guessing.
    set_mount_point("/", root, {{"Cache-Control", "no-cache"}});
    set_keep_alive_timeout(keep_alive_seconds);
    // The library would put an exception's text in a response header (CVE-2026-28434).
    set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      res.set_content("{\"error\":\"internal server error\"}", "application/json");
    });
    // Its own refusals (a file that vanished since Find) in our shape, not its HTML.
    set_error_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"error\":\"not found\"}", "application/json");
    });
  }

  std::string Serve(std::string request, bool close) {
    MemoryStream stream(std::move(request));
    bool closed = false;
    process_request(stream, close, closed, nullptr);
    return SayKeptAlive(stream.TakeResponse());
  }

 private:
  // The library's "Keep-Alive: timeout=N, max=5" counts requests for its own loop, which
  // does not run here: our loop keeps the connection for any number of requests. The line
  // is said as our head writer says it (response_head.cpp).
  static std::string SayKeptAlive(std::string response) {
    const std::size_t head_end = response.find("\r\n\r\n");
    const std::size_t line = response.find("\r\nKeep-Alive: ");
    if (line == std::string::npos || line >= head_end) return response;
    const std::size_t max = response.find(", max=", line);
    const std::size_t line_end = response.find("\r\n", line + 2);
    if (max < line_end) response.erase(max, line_end - max);
    response.insert(line + 2, "Connection: keep-alive\r\n");
    return response;
  }
};

StaticFiles::StaticFiles(const std::string& web_root, int keep_alive_seconds) {
  if (web_root.empty()) return;
  char resolved[PATH_MAX];
  if (!::realpath(web_root.c_str(), resolved)) return;
  root_ = resolved;
  if (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  library_ = std::make_unique<Library>(root_, keep_alive_seconds);
}

StaticFiles::~StaticFiles() = default;

std::optional<std::size_t> StaticFiles::Find(std::string_view path) const {
  if (!enabled() || path.empty() || path[0] != '/') return std::nullopt;
  // Decoded exactly as the library will decode it, so that what is checked is what it reads.
  std::string decoded = httplib::detail::decode_url(std::string(path), false);
  if (decoded.find('\0') != std::string::npos || HasDotDotSegment(decoded)) return std::nullopt;
  std::string file = root_ + decoded;
  if (file.back() == '/') file += "index.html";
  char resolved[PATH_MAX];
  if (!::realpath(file.c_str(), resolved)) return std::nullopt;
  // A symlink may point anywhere: only what resolves inside the root is served.
  const std::string_view real = resolved;
  if (real.size() <= root_.size() || real.substr(0, root_.size()) != root_ ||
      real[root_.size()] != '/') {
    return std::nullopt;
  }
  struct stat info {};
  if (::stat(resolved, &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  return static_cast<std::size_t>(info.st_size);
}

std::string StaticFiles::Serve(std::string_view method, std::string_view target,
                               std::string_view accept_encoding, bool close) const {
  std::string request;
  request.reserve(128 + target.size());
  request += method == "HEAD" ? "HEAD " : "GET ";
  request += target;
  request += " HTTP/1.1\r\nHost: livefeed\r\n";
  if (!accept_encoding.empty()) {
    // Percent signs are escaped: the library percent-decodes field values.
    request += "Accept-Encoding: ";
    for (char c : accept_encoding) {
      if (c == '%') {
        request += "%25";
      } else {
        request += c;
      }
    }
    request += "\r\n";
  }
  request += "\r\n";
  return library_->Serve(std::move(request), close);
}

}  // namespace livefeed
