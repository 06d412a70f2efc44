#include "metrics/exposition.h"

#include <charconv>
#include <cmath>

namespace livefeed::metrics {
namespace {

// HELP text escapes backslash and newline; label values also escape the double quote.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

constexpr std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  // The shortest round-trip form in %g style, as Go's client writes (0.0005, 2.5, 1e+06).
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general);
  return std::string(buffer, result.ptr);
}

void ExpositionWriter::Family(std::string_view name, MetricType type, std::string_view help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  AppendEscaped(text_, help, false);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += TypeName(type);
  text_ += '\n';
}

void ExpositionWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                              double value) {
  Line(name, labels, nullptr, FormatValue(value));
}

void ExpositionWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                              std::uint64_t value) {
  Line(name, labels, nullptr, std::to_string(value));
}

void ExpositionWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                              std::int64_t value) {
  Line(name, labels, nullptr, std::to_string(value));
}

void ExpositionWriter::Histogram(std::string_view name, std::initializer_list<Label> labels,
                                 const HistogramSnapshot& snapshot) {
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    const std::string le = i < snapshot.bounds.size() ? FormatValue(snapshot.bounds[i]) : "+Inf";
    const Label extra{"le", le};
    Line(bucket, labels, &extra, std::to_string(snapshot.cumulative[i]));
  }
  Line(std::string(name) + "_sum", labels, nullptr, FormatValue(snapshot.sum));
  Line(std::string(name) + "_count", labels, nullptr, std::to_string(snapshot.count()));
}

void ExpositionWriter::Line(std::string_view name, std::initializer_list<Label> labels,
                            const Label* extra, std::string_view value) {
  text_ += name;
  if (labels.size() > 0 || extra) {
    char separator = '{';
    auto append = [&](const Label& label) {
      text_ += separator;
      text_ += label.first;
      text_ += "=\"";
      AppendEscaped(text_, label.second, true);
      text_ += '"';
      separator = ',';
    };
    for (const Label& label : labels) append(label);
    if (extra) append(*extra);
    text_ += '}';
  }
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

}  // namespace livefeed::metrics
