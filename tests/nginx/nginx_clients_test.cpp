// Clients told apart by address behind nginx: the address reaches livefeed's log, and with
// several instances each client stays on one of them. Clients connect from other loopback
// addresses (127.0.0.x) so that nginx's $remote_addr is not nginx's own 127.0.0.1.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "support/feed_helpers.h"
#include "support/nginx_process.h"

using namespace livefeed::testing;
using std::chrono::seconds;

namespace {

// Publishes `data_json` through nginx from `source`; returns the new id.
std::uint64_t PublishFrom(const std::string& source, int port, const std::string& data_json) {
  auto connection = ConnectFrom(source, port);
  REQUIRE(connection);
  connection->Send("POST", "/send_feed_item", "{\"data\":" + data_json + "}", "application/json");
  HttpResponse answer = connection->Read();
  REQUIRE_MESSAGE(answer.status == 200, answer.body);
  return answer.Json()["id"].get<std::uint64_t>();
}

std::set<std::uint64_t> BacklogIds(int port) {
  std::set<std::uint64_t> ids;
  const nlohmann::json backlog = Get(port, "/real_time_feed?since=0").Json();
  for (const auto& item : backlog["items"]) {
    ids.insert(item["id"].get<std::uint64_t>());
  }
  return ids;
}

// ServerProcess starts `livefeed --port 0 --log-level warn <args>`, and livefeed refuses an
// option given twice, so "--log-level info" cannot be passed in args. This wrapper (used as
// ServerProcess's binary) drops those four leading arguments and runs livefeed at info.
class InfoLogBinary {
 public:
  InfoLogBinary() {
    char pattern[] = "/tmp/livefeed-info-log-XXXXXX";
    const int fd = ::mkstemp(pattern);
    REQUIRE(fd >= 0);
    path_ = pattern;
    const std::string script = "#!/bin/sh\nshift 4\nexec '" + std::string(LIVEFEED_BINARY) +
                               "' --port 0 --log-level info \"$@\"\n";
    REQUIRE(::write(fd, script.data(), script.size()) == static_cast<ssize_t>(script.size()));
    ::fchmod(fd, 0755);
    ::close(fd);
  }
  ~InfoLogBinary() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST_CASE("livefeed logs the client's address that nginx passes in X-Real-IP") {
  InfoLogBinary binary;
  ServerProcess server({"--trust-proxy", "127.0.0.1"}, binary.path());
  NginxProcess nginx({server.port()});

  auto client = ConnectFrom("127.0.0.2", nginx.port());
  REQUIRE(client);
  client->Send("GET", "/healthz?from-the-test");
  REQUIRE(client->Read().status == 200);

  // The access line starts with the address: the client's, not nginx's (the peer).
  CHECK_MESSAGE(WaitUntil([&] {
                  return server.Log().find(" 127.0.0.2 \"GET /healthz?from-the-test") !=
                         std::string::npos;
                }),
                server.Log());
  CHECK(server.Log().find(" 127.0.0.1 \"GET /healthz?from-the-test") == std::string::npos);
}

TEST_CASE(
    "behind one nginx, two instances: a client sees every item it publishes, on one instance") {
  ServerProcess a;
  ServerProcess b;
  NginxProcess nginx({a.port(), b.port()});
  const auto waiting = [&] {
    return Health(a.port())["waiting"].get<int>() + Health(b.port())["waiting"].get<int>();
  };

  // 24 client addresses: enough that both instances get some (all on one by chance:
  // about 0.6^24 even with an uneven hash ring).
  std::map<std::string, std::vector<std::uint64_t>> published;
  for (int i = 0; i < 24; ++i) {
    const std::string source = "127.0.0." + std::to_string(10 + i);
    CAPTURE(source);
    auto poll = ConnectFrom(source, nginx.port());
    REQUIRE(poll);
    poll->Send("GET", "/real_time_feed");
    REQUIRE(WaitUntil([&] { return waiting() == 1; }));

    std::vector<std::uint64_t>& ids = published[source];
    ids.push_back(PublishFrom(source, nginx.port(), std::to_string(i)));
    auto first = poll->Read().Json();
    REQUIRE(first["items"].size() == 1);
    CHECK(first["items"][0]["id"] == ids[0]);

    ids.push_back(PublishFrom(source, nginx.port(), std::to_string(i)));
    ids.push_back(PublishFrom(source, nginx.port(), std::to_string(i)));
    poll->Send("GET", "/real_time_feed?since=" + first["cursor"].dump());
    auto rest = poll->Read().Json();
    REQUIRE(rest["items"].size() == 2);
    CHECK(rest["items"][0]["id"] == ids[1]);
    CHECK(rest["items"][1]["id"] == ids[2]);
  }

  // Every client's items all went to one instance, and both instances served clients.
  const std::set<std::uint64_t> on_a = BacklogIds(a.port());
  const std::set<std::uint64_t> on_b = BacklogIds(b.port());
  int clients_on_a = 0, clients_on_b = 0;
  for (const auto& [source, ids] : published) {
    CAPTURE(source);
    const auto count_a =
        std::count_if(ids.begin(), ids.end(), [&](auto id) { return on_a.count(id) > 0; });
    const auto count_b =
        std::count_if(ids.begin(), ids.end(), [&](auto id) { return on_b.count(id) > 0; });
    CHECK(((count_a == 3 && count_b == 0) || (count_a == 0 && count_b == 3)));
    (count_a == 3 ? clients_on_a : clients_on_b)++;
  }
  MESSAGE("clients on instance a: " << clients_on_a << ", on instance b: " << clients_on_b);
  CHECK(clients_on_a > 0);
  CHECK(clients_on_b > 0);
}
