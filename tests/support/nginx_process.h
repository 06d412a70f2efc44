// Runs the real nginx front for a test: scripts/nginx renders nginx/livefeed.conf into a
// private temp prefix, in front of the given livefeed instances, on a free loopback port;
// the destructor stops that nginx (and only it) and removes the prefix.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/free_port.h"
#include "support/http_client.h"
#include "support/server_process.h"

namespace livefeed::testing {

class NginxProcess {
 public:
  // `upstream_ports`: livefeed instances on 127.0.0.1; `balance`: scripts/nginx --balance
  // (hash, or round-robin for instances sharing a Redis store). Throws if nginx does not start.
  explicit NginxProcess(const std::vector<int>& upstream_ports,
                        const std::string& balance = "hash");
  ~NginxProcess();

  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  int port() const { return port_; }
  // nginx's error log and its access log (client, request, status, upstream, time).
  std::string ErrorLog() const;
  std::string AccessLog() const;

 private:
  std::string prefix_;
  int port_ = 0;
};

// A connection to 127.0.0.1:`port` whose source address is `source` (another loopback
// address such as 127.0.0.2), so that nginx's $remote_addr differs from its own address.
// nullptr if it cannot connect.
std::unique_ptr<HttpConnection> ConnectFrom(const std::string& source, int port);

}  // namespace livefeed::testing
