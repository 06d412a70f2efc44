// LiveSettingsSlot and LiveSettingsView: a reload's settings reach a loop whole, at the
// loop's next Refresh, and never while it is in the middle of something.
#include "http/live_settings.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

namespace livefeed {
namespace {

LiveSettings WithToken(const std::string& token) {
  LiveSettings settings;
  settings.publish_token = token;
  return settings;
}

TEST_CASE("a view keeps its snapshot until it refreshes, then has the newest one") {
  LiveSettingsSlot slot(WithToken("first"));
  LiveSettingsView view(slot);
  slot.Publish(WithToken("second"));
  slot.Publish(WithToken("third"));
  CHECK(view->publish_token == "first");
  view.Refresh();
  CHECK(view->publish_token == "third");
}

TEST_CASE("a refresh with nothing published keeps the same snapshot") {
  LiveSettingsSlot slot(WithToken("only"));
  LiveSettingsView view(slot);
  const LiveSettings* before = &*view;
  view.Refresh();
  CHECK(&*view == before);
}

// Run under ThreadSanitizer by scripts/test: publishing from one thread while a loop
// refreshes and reads on another is race-free, and the reader only ever sees whole sets.
TEST_CASE("publishing while another thread refreshes and reads is safe") {
  LiveSettings first = WithToken("0");
  first.max_body = 0;
  LiveSettingsSlot slot(std::move(first));
  std::atomic<bool> done{false};
  std::thread reader([&] {
    LiveSettingsView view(slot);
    while (!done.load()) {
      view.Refresh();
      CHECK(view->publish_token == std::to_string(view->max_body));
    }
  });
  for (std::size_t i = 1; i <= 2000; ++i) {
    LiveSettings next = WithToken(std::to_string(i));
    next.max_body = i;
    slot.Publish(std::move(next));
  }
  done = true;
  reader.join();
}

}  // namespace
}  // namespace livefeed
