// livefeed as installed: `cmake --install` into a temporary prefix, and the Debian package
// that scripts/package builds (the ctest fixture "package: scripts/package builds the .deb"
// leaves it in LIVEFEED_DEB_DIR), checked with Debian's own tools (dpkg-deb, lintian,
// systemd-analyze) and by running what was installed.
#include <doctest/doctest.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "support/feed_helpers.h"
#include "support/sse_client.h"
#include "support/temp_dir.h"

using namespace livefeed::testing;
namespace fs = std::filesystem;

namespace {

struct ShellResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together.
};

// Runs `command` with sh; for Debian's tools, whose verdict is an exit code and some text.
ShellResult Shell(const std::string& command) {
  ShellResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
    result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The .deb the fixture built (there is exactly one).
std::string DebPath() {
  std::vector<std::string> debs;
  for (const auto& entry : fs::directory_iterator(LIVEFEED_DEB_DIR)) {
    if (entry.path().extension() == ".deb") debs.push_back(entry.path().string());
  }
  REQUIRE_MESSAGE(debs.size() == 1, "expected one .deb in " LIVEFEED_DEB_DIR);
  return debs.front();
}

// `cmake --install` of this build into `prefix`.
void InstallInto(const std::string& prefix) {
  ShellResult install =
      Shell("'" CMAKE_COMMAND "' --install '" LIVEFEED_BUILD_DIR "' --prefix '" + prefix + "'");
  REQUIRE_MESSAGE(install.exit_code == 0, install.output);
}

// An installed livefeed, started with its installed config, serves its pages, publishes and
// answers a poll.
void CheckServes(const std::string& binary, const std::string& config,
                 const std::string& web_root) {
  ServerProcess server({"--config", config}, binary);
  CHECK(Contains(server.startup_line(), "web-root=" + web_root + ")"));
  HttpResponse index = Get(server.port(), "/");
  CHECK(index.status == 200);
  CHECK(index.body == ReadFile(web_root + "/index.html"));
  CHECK(Get(server.port(), "/client.js").status == 200);
  const std::uint64_t id = Publish(server.port(), "\"installed\"");
  CHECK(Get(server.port(), "/real_time_feed?since=0").Json()["cursor"] == id);
}

}  // namespace

TEST_CASE("cmake --install: the installed binary serves its pages without --web-root") {
  TempDir prefix;
  InstallInto(prefix.path());
  for (const char* file :
       {"bin/livefeed", "share/livefeed/web/index.html", "share/livefeed/web/client.js",
        "share/livefeed/nginx/livefeed.conf", "share/livefeed/nginx/livefeed-locations.conf",
        "share/man/man8/livefeed.8.gz", "share/doc/livefeed/copyright",
        "share/doc/livefeed/changelog.gz", "etc/livefeed/livefeed.conf",
        "lib/systemd/system/livefeed.service"}) {
    CAPTURE(file);
    CHECK(fs::exists(prefix / file));
  }
  CheckServes(prefix / "bin/livefeed", prefix / "etc/livefeed/livefeed.conf",
              prefix / "share/livefeed/web");
}

// systemd-analyze checks the directives, that ExecStart's binary exists and that the man
// page of Documentation= opens; it reports some problems without failing, so its output
// must be empty as well.
TEST_CASE("the installed unit passes systemd-analyze verify and runs the installed binary") {
  TempDir prefix;
  InstallInto(prefix.path());
  const std::string unit = prefix / "lib/systemd/system/livefeed.service";
  CHECK(Contains(ReadFile(unit), "ExecStart=" + (prefix / "bin/livefeed") + " --config " +
                                     (prefix / "etc/livefeed/livefeed.conf") + "\n"));
  ShellResult verify =
      Shell("MANPATH='" + (prefix / "share/man") + ":' systemd-analyze verify '" + unit + "'");
  CHECK_MESSAGE(verify.exit_code == 0, verify.output);
  CHECK_MESSAGE(verify.output.empty(), verify.output);
}

TEST_CASE("the man page documents every option --help lists") {
  TempDir prefix;
  InstallInto(prefix.path());
  const std::string help = Shell("'" + (prefix / "bin/livefeed") + "' --help").output;
  const std::string manual =
      Shell("zcat '" + (prefix / "share/man/man8/livefeed.8.gz") + "'").output;
  // The heading lines of the OPTIONS list: each follows a ".TP".
  std::string headings;
  std::istringstream lines(manual);
  for (std::string line, previous; std::getline(lines, line); previous = line) {
    if (previous == ".TP") headings += line + "\n";
  }
  const std::regex option("--([a-z][a-z-]+)");
  int options = 0;
  for (auto it = std::sregex_iterator(help.begin(), help.end(), option);
       it != std::sregex_iterator(); ++it) {
    // roff spells a hyphen "\-"; "--publish-token" must not be found in "--publish-token-file".
    const std::string roff = std::regex_replace(it->str(), std::regex("-"), "\\-");
    bool found = false;
    for (std::size_t at = headings.find(roff); at != std::string::npos && !found;
         at = headings.find(roff, at + 1)) {
      found = headings.compare(at + roff.size(), 2, "\\-") != 0;
    }
    CAPTURE(it->str());
    CHECK(found);
    ++options;
  }
  CHECK(options > 20);
}

TEST_CASE("the installed config names every option --help lists") {
  TempDir prefix;
  InstallInto(prefix.path());
  const std::string help = Shell("'" + (prefix / "bin/livefeed") + "' --help").output;
  const std::string config = ReadFile(prefix / "etc/livefeed/livefeed.conf");
  const std::regex option("--([a-z][a-z-]+)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(help.begin(), help.end(), option);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  CHECK(names.size() > 20);
  for (const std::string& name : names) {
    if (name == "help" || name == "config") continue;  // Not settings of a config file.
    CAPTURE(name);
    // Set ("name = value") or shown commented out ("# name = default", "# name =").
    CHECK(std::regex_search(config, std::regex("(^|\n)(# )?" + name + " =")));
  }
}

TEST_CASE("the .deb holds the binary, pages, nginx snippets, config, unit, manual and docs") {
  ShellResult listing = Shell("dpkg-deb -c '" + DebPath() + "'");
  REQUIRE(listing.exit_code == 0);
  for (const char* path :
       {"./usr/bin/livefeed", "./usr/share/livefeed/web/index.html",
        "./usr/share/livefeed/web/client.js", "./usr/share/livefeed/nginx/livefeed.conf",
        "./usr/share/livefeed/nginx/livefeed-locations.conf", "./etc/livefeed/livefeed.conf",
        "./lib/systemd/system/livefeed.service", "./usr/share/man/man8/livefeed.8.gz",
        "./usr/share/doc/livefeed/copyright", "./usr/share/doc/livefeed/changelog.gz"}) {
    CAPTURE(path);
    CHECK(Contains(listing.output, std::string(" ") + path + "\n"));
  }
  // Everything belongs to root and is writable by root alone.
  std::istringstream lines(listing.output);
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    CHECK(Contains(line, " root/root "));
    CHECK(line.substr(4, 6).find('w') == std::string::npos);
  }
}

TEST_CASE("the .deb's control: a conffile, library dependencies, the user and the unit") {
  TempDir control;
  REQUIRE(Shell("dpkg-deb -e '" + DebPath() + "' '" + control.path() + "'").exit_code == 0);
  CHECK(ReadFile(control / "conffiles") == "/etc/livefeed/livefeed.conf\n");
  const std::string fields = ReadFile(control / "control");
  // From dpkg-shlibdeps, not written by hand: the libraries the binary links.
  for (const char* dependency :
       {"libcpp-httplib", "libboost-program-options", "libssl", "libhiredis", "libc6", "adduser"}) {
    CAPTURE(dependency);
    CHECK(Contains(fields.substr(fields.find("\nDepends:")), dependency));
  }
  const std::string postinst = ReadFile(control / "postinst");
  CHECK(Contains(postinst, "adduser --system"));
  CHECK(Contains(postinst, "deb-systemd-helper enable 'livefeed.service'"));
  // Enabled but never started by an install: only an upgrade restarts a running daemon.
  CHECK_FALSE(Contains(postinst, "invoke start"));
  CHECK(Contains(postinst, "[ -d /run/systemd/system ]"));
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    CAPTURE(script);
    CHECK(Shell("sh -n '" + (control / script) + "'").exit_code == 0);
    CHECK((fs::status(control / script).permissions() & fs::perms::owner_exec) != fs::perms::none);
  }
}

TEST_CASE("the binary unpacked from the .deb runs with the packaged config") {
  TempDir root;
  REQUIRE(Shell("dpkg-deb -x '" + DebPath() + "' '" + root.path() + "'").exit_code == 0);
  // The unit starts exactly what the package ships.
  const std::string unit = ReadFile(root / "lib/systemd/system/livefeed.service");
  CHECK(Contains(unit, "ExecStart=/usr/bin/livefeed --config /etc/livefeed/livefeed.conf\n"));
  CHECK(Contains(unit, "User=livefeed\n"));
  CheckServes(root / "usr/bin/livefeed", root / "etc/livefeed/livefeed.conf",
              root / "usr/share/livefeed/web");
}

TEST_CASE("lintian finds neither errors nor warnings in the .deb") {
  ShellResult lintian = Shell("lintian --fail-on error,warning '" + DebPath() + "'");
  CHECK_MESSAGE(lintian.exit_code == 0, lintian.output);
  // As root it says so; any other line is a finding (overrides are silent).
  const std::string findings =
      std::regex_replace(lintian.output, std::regex("running with root privileges[^\\n]*\\n"), "");
  CHECK_MESSAGE(findings.empty(), findings);
}

namespace {

// Every system call name in `filter` (a SystemCallFilter= value), its @groups expanded as
// this systemd defines them.
std::set<std::string> ExpandSyscallFilter(const std::string& filter) {
  std::map<std::string, std::vector<std::string>> groups;
  std::istringstream listing(Shell("systemd-analyze syscall-filter").output);
  std::string group;
  for (std::string line; std::getline(listing, line);) {
    if (line.starts_with("@")) group = line;
    const std::size_t start = line.find_first_not_of(' ');
    if (start == 0 || start == std::string::npos || line[start] == '#') continue;
    groups[group].push_back(line.substr(start));
  }
  std::set<std::string> names;
  std::vector<std::string> pending;
  std::istringstream words(filter);
  for (std::string word; words >> word;) pending.push_back(word);
  std::set<std::string> expanded;
  while (!pending.empty()) {
    const std::string entry = pending.back();
    pending.pop_back();
    if (!entry.starts_with("@")) {
      names.insert(entry);
    } else if (expanded.insert(entry).second) {
      REQUIRE_MESSAGE(groups.count(entry), "unknown group " << entry);
      pending.insert(pending.end(), groups[entry].begin(), groups[entry].end());
    }
  }
  return names;
}

std::string UnitSetting(const std::string& unit, const std::string& name) {
  std::smatch match;
  REQUIRE(std::regex_search(unit, match, std::regex("\\n" + name + "=([^\\n]*)")));
  return match[1];
}

// The pid of the one child of `parent` (the traced server under strace).
pid_t ChildOf(pid_t parent) {
  pid_t child = 0;
  WaitUntil([&] {
    std::ifstream("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) +
                  "/children") >>
        child;
    return child > 0;
  });
  return child;
}

}  // namespace

// The unit's sandbox against what the server really does: the installed server runs under
// strace through a held poll, a stream, a publish, a page, a reload and a stop, and each
// system call, socket family and memory mapping it made must be one the unit allows.
TEST_CASE("every system call, socket family and mapping of the server is allowed by the unit") {
  TempDir prefix;
  InstallInto(prefix.path());
  const std::string trace = prefix / "trace";
  const std::string traced =
      prefix.Write("traced-livefeed", "#!/bin/sh\nexec strace -f -qq -o '" + trace + "' '" +
                                          (prefix / "bin/livefeed") + "' \"$@\"\n");
  fs::permissions(traced, fs::perms::owner_exec, fs::perm_options::add);
  {
    // As under systemd: readiness and reloads go to $NOTIFY_SOCKET (nobody listens here; the
    // calls are made all the same).
    ::setenv("NOTIFY_SOCKET", (prefix / "notify").c_str(), 1);
    ServerProcess server({"--config", prefix / "etc/livefeed/livefeed.conf"}, traced);
    ::unsetenv("NOTIFY_SOCKET");
    const pid_t livefeed = ChildOf(server.pid());
    REQUIRE(livefeed > 0);
    HttpConnection poll(server.port());
    poll.Send("GET", "/real_time_feed?channel=sandbox");
    SseClient stream(server.port(), "/real_time_feed/stream?channel=sandbox");
    REQUIRE(WaitForWaiters(server.port(), 2));
    Publish(server.port(), "1", "sandbox");
    CHECK(poll.Read().status == 200);
    CHECK(stream.NextEvent().has_value());
    CHECK(Get(server.port(), "/").status == 200);
    ::kill(livefeed, SIGHUP);
    CHECK(WaitUntil([&] { return Contains(server.Log(), "reloaded:"); }));
    // strace holds back the signals sent to it while it runs a program: stop the server.
    ::kill(livefeed, SIGTERM);
    CHECK(server.Stop(SIGTERM) == 0);
  }
  const std::string calls = ReadFile(trace);
  const std::string unit = ReadFile(prefix / "lib/systemd/system/livefeed.service");

  const std::set<std::string> allowed = ExpandSyscallFilter(UnitSetting(unit, "SystemCallFilter"));
  std::set<std::string> used;
  const std::regex call("(^|\\n)[0-9]+ +([a-z0-9_]+)\\(");
  for (auto it = std::sregex_iterator(calls.begin(), calls.end(), call);
       it != std::sregex_iterator(); ++it) {
    used.insert((*it)[2]);
  }
  CHECK(used.count("epoll_wait"));           // The trace is real,
  CHECK(Contains(calls, "socket(AF_UNIX"));  // and has the notify socket.
  for (const std::string& name : used) {
    CAPTURE(name);
    CHECK(allowed.count(name));
  }

  const std::string families = UnitSetting(unit, "RestrictAddressFamilies");
  const std::regex socket_call("socket\\((AF_[A-Z0-9]+)");
  for (auto it = std::sregex_iterator(calls.begin(), calls.end(), socket_call);
       it != std::sregex_iterator(); ++it) {
    CAPTURE((*it)[1].str());
    CHECK(Contains(" " + families + " ", " " + (*it)[1].str() + " "));
  }

  // MemoryDenyWriteExecute=yes refuses a mapping both writable and executable.
  CHECK(Contains(unit, "\nMemoryDenyWriteExecute=yes\n"));
  CHECK_FALSE(
      std::regex_search(calls, std::regex("PROT_WRITE\\|PROT_EXEC|PROT_EXEC\\|PROT_WRITE")));
}
