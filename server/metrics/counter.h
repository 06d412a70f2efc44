// The two plain instruments: a Counter only grows, a Gauge goes up and down. Each is one
// relaxed atomic, bumped by whoever holds a reference to it: no lock, no allocation and no
// lookup per event. Safe for concurrent use; a scrape may see one bump and not another
// made at the same moment, which a monitoring system does not mind.
#pragma once

#include <atomic>
#include <cstdint>

namespace livefeed::metrics {

class Counter {
 public:
  void Increment() { value_.fetch_add(1, std::memory_order_relaxed); }
  void Add(std::uint64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Increment() { value_.fetch_add(1, std::memory_order_relaxed); }
  void Decrement() { value_.fetch_sub(1, std::memory_order_relaxed); }
  void Set(std::int64_t value) { value_.store(value, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

}  // namespace livefeed::metrics
