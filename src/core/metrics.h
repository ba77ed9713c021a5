// Process metrics in the Prometheus text format (version 0.0.4): counters,
// gauges and histograms with labels, plus gauges read at scrape time from
// elsewhere (queue depth, breaker states) through collectors.
//
// A Registry is made by the app and handed, as a pointer that may be null, to
// whoever records (API middleware, workers, the realtime server). Families are
// declared once, before any thread records into them; recording and Render()
// are thread-safe afterwards. Names follow the client libraries' conventions:
// counters end in _total, durations are in seconds (_seconds), sizes in bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vs::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { kCounter, kGauge, kHistogram };

// The default latency buckets, 5 ms to 10 s.
std::vector<double> LatencyBuckets();

// One metric name with its help text and its labelled series. Thread-safe.
class Family {
 public:
  Family(std::string name, std::string help, Type type, std::vector<double> buckets);

  void Inc(const Labels& labels, double by = 1);  // counters (and gauges)
  void Set(const Labels& labels, double value);   // gauges
  void Observe(const Labels& labels, double value);  // histograms
  // Current value of a counter or gauge series (0 when never recorded).
  double Value(const Labels& labels) const;
  // Number of observations of a histogram series.
  uint64_t Count(const Labels& labels) const;

  const std::string& name() const { return name_; }
  void Render(std::string& out) const;

 private:
  struct Series {
    double value = 0;                // counter/gauge; histogram sum
    uint64_t count = 0;              // histogram
    std::vector<uint64_t> buckets;   // histogram, per upper bound (not cumulative)
  };
  static std::string Key(const Labels& labels);

  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::string, Series> series_;  // by rendered label set
};

// Gauges computed when scraped: the collector sets them on the families it
// was given. Called from the scraping thread, one scrape at a time.
using Collector = std::function<void()>;

class Registry {
 public:
  // Declares a family; a second declaration of the same name returns the
  // first. Call before recording starts (not thread-safe against Render()).
  Family& Counter(const std::string& name, const std::string& help);
  Family& Gauge(const std::string& name, const std::string& help);
  Family& Histogram(const std::string& name, const std::string& help,
                    std::vector<double> buckets = LatencyBuckets());
  void AddCollector(Collector c);

  // Runs the collectors, then writes every family in declaration order.
  std::string Render();
  // The family of that name, or null.
  Family* Find(std::string_view name);

 private:
  Family& Declare(const std::string& name, const std::string& help, Type type,
                  std::vector<double> buckets);

  std::mutex scrape_mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<Collector> collectors_;
};

// The Content-Type of Render()'s text.
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace vs::metrics
