// Label values come from small fixed sets known at compile time, so a labelled family is an
// array indexed by an enum: bumping `waiting[Transport::kSse]` is an index, never a lookup,
// and the number of series can never grow with traffic. There are no per-channel labels on
// purpose: channel names are unbounded. Thread-safety is that of the instruments held.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <utility>

#include "metrics/counter.h"

namespace livefeed::metrics {

enum class Transport { kLongPoll, kSse };
enum class RefusalReason { kCap, kHeaderTimeout };
enum class Endpoint {
  kPublish,
  kLongPoll,
  kStream,
  kStatic,
  kHealthz,
  kMetrics,
  kChannels,
  kOther
};

// For each label enum: the label's name and its values, in the enum's order.
template <typename Enum>
struct LabelSet;
template <>
struct LabelSet<Transport> {
  static constexpr std::string_view kName = "transport";
  static constexpr std::array<std::string_view, 2> kValues = {"longpoll", "sse"};
};
template <>
struct LabelSet<RefusalReason> {
  static constexpr std::string_view kName = "reason";
  static constexpr std::array<std::string_view, 2> kValues = {"cap", "header_timeout"};
};
template <>
struct LabelSet<Endpoint> {
  static constexpr std::string_view kName = "endpoint";
  static constexpr std::array<std::string_view, 8> kValues = {
      "publish", "longpoll", "stream", "static", "healthz", "metrics", "channels", "other"};
};

// One instrument per value of `Enum`, each built from the same constructor arguments.
template <typename Enum, typename Instrument>
class ByLabel {
 public:
  static constexpr std::size_t kSize = LabelSet<Enum>::kValues.size();

  template <typename... Args>
  explicit ByLabel(const Args&... args)
      : items_(Make(std::make_index_sequence<kSize>(), args...)) {}

  Instrument& operator[](Enum value) { return items_[static_cast<std::size_t>(value)]; }
  const Instrument& at(std::size_t index) const { return items_[index]; }

 private:
  // Instruments hold atomics and cannot be moved: each element is built in place.
  template <std::size_t... I, typename... Args>
  static std::array<Instrument, kSize> Make(std::index_sequence<I...>, const Args&... args) {
    return {((void)I, Instrument(args...))...};
  }

  std::array<Instrument, kSize> items_;
};

// Counters by HTTP status: one slot per code 100-599, so any status is an index. Slot 0
// takes anything outside that range (a bug elsewhere, still counted, as "other").
class ByStatus {
 public:
  Counter& operator[](int status) {
    return counters_[status >= 100 && status < 600 ? static_cast<std::size_t>(status) : 0];
  }
  const Counter& at(std::size_t slot) const { return counters_[slot]; }
  static constexpr std::size_t kSlots = 600;

 private:
  std::array<Counter, kSlots> counters_;
};

}  // namespace livefeed::metrics
