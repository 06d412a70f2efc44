// Static files from --web-root, served by cpp-httplib's mount point behind our front door.
// The library never sees client bytes: it gets a request re-written from what the request
// parser accepted (GET or HEAD, the target, Host and Accept-Encoding; no body, no Range,
// no other field), so none of its request parsing can be driven by a client.
// Find() decides what may be served: a regular file inside the web root, symlinks
// resolved, so no link leads outside it.
// Safe for concurrent use.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace livefeed {

class StaticFiles {
 public:
  // An empty `web_root` serves nothing.
  StaticFiles(const std::string& web_root, int keep_alive_seconds);
  ~StaticFiles();

  bool enabled() const { return !root_.empty(); }

  // The size of the file `path` (as sent, percent-encoded) names inside the web root, or
  // nullopt when there is none to serve.
  std::optional<std::size_t> Find(std::string_view path) const;

  // The whole response (head and body, or head alone for HEAD) for a GET or HEAD of
  // `target`, whose path Find() accepted; written by the library. `close`: the connection
  // ends after it.
  std::string Serve(std::string_view method, std::string_view target,
                    std::string_view accept_encoding, bool close) const;

 private:
  class Library;
  std::string root_;  // Real path, without a trailing slash.
  std::unique_ptr<Library> library_;
};

}  // namespace livefeed
