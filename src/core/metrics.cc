#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace vs::metrics {
namespace {

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

// `key` is the rendered label set ("a=\"1\",b=\"2\"" or ""); `extra` one more
// label (the histogram's le) or "".
void AppendSeriesName(std::string& out, const std::string& name, std::string_view suffix,
                      const std::string& key, const std::string& extra) {
  out += name;
  out += suffix;
  if (key.empty() && extra.empty()) return;
  out += '{';
  out += key;
  if (!key.empty() && !extra.empty()) out += ',';
  out += extra;
  out += '}';
}

}  // namespace

std::vector<double> LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Family::Family(std::string name, std::string help, Type type, std::vector<double> buckets)
    : name_(std::move(name)), help_(std::move(help)), type_(type), bounds_(std::move(buckets)) {}

std::string Family::Key(const Labels& labels) {
  std::string key;
  for (const auto& [k, v] : labels) {
    if (!key.empty()) key += ',';
    key += k;
    key += "=\"";
    AppendLabelValue(key, v);
    key += '"';
  }
  return key;
}

void Family::Inc(const Labels& labels, double by) {
  const std::string key = Key(labels);
  std::lock_guard lock(mu_);
  series_[key].value += by;
}

void Family::Set(const Labels& labels, double value) {
  const std::string key = Key(labels);
  std::lock_guard lock(mu_);
  series_[key].value = value;
}

void Family::Observe(const Labels& labels, double value) {
  const std::string key = Key(labels);
  // The first bound the value fits under; past the last = only +Inf.
  const size_t slot = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  std::lock_guard lock(mu_);
  Series& s = series_[key];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  if (slot < bounds_.size()) ++s.buckets[slot];
  ++s.count;
  s.value += value;
}

double Family::Value(const Labels& labels) const {
  const std::string key = Key(labels);
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  return it == series_.end() ? 0 : it->second.value;
}

uint64_t Family::Count(const Labels& labels) const {
  const std::string key = Key(labels);
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  return it == series_.end() ? 0 : it->second.count;
}

void Family::Render(std::string& out) const {
  out += "# HELP " + name_ + " " + help_ + "\n";
  out += "# TYPE " + name_ + " ";
  out += type_ == Type::kCounter ? "counter" : type_ == Type::kGauge ? "gauge" : "histogram";
  out += '\n';
  std::lock_guard lock(mu_);
  for (const auto& [key, s] : series_) {
    if (type_ != Type::kHistogram) {
      AppendSeriesName(out, name_, "", key, "");
      out += ' ';
      AppendValue(out, s.value);
      out += '\n';
      continue;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      std::string le = "le=\"";
      AppendValue(le, bounds_[i]);
      le += '"';
      AppendSeriesName(out, name_, "_bucket", key, le);
      out += ' ' + std::to_string(cumulative) + '\n';
    }
    AppendSeriesName(out, name_, "_bucket", key, "le=\"+Inf\"");
    out += ' ' + std::to_string(s.count) + '\n';
    AppendSeriesName(out, name_, "_sum", key, "");
    out += ' ';
    AppendValue(out, s.value);
    out += '\n';
    AppendSeriesName(out, name_, "_count", key, "");
    out += ' ' + std::to_string(s.count) + '\n';
  }
}

Family& Registry::Declare(const std::string& name, const std::string& help, Type type,
                          std::vector<double> buckets) {
  if (Family* f = Find(name)) return *f;
  std::sort(buckets.begin(), buckets.end());
  families_.push_back(std::make_unique<Family>(name, help, type, std::move(buckets)));
  return *families_.back();
}

Family& Registry::Counter(const std::string& name, const std::string& help) {
  return Declare(name, help, Type::kCounter, {});
}

Family& Registry::Gauge(const std::string& name, const std::string& help) {
  return Declare(name, help, Type::kGauge, {});
}

Family& Registry::Histogram(const std::string& name, const std::string& help,
                            std::vector<double> buckets) {
  return Declare(name, help, Type::kHistogram, std::move(buckets));
}

void Registry::AddCollector(Collector c) { collectors_.push_back(std::move(c)); }

Family* Registry::Find(std::string_view name) {
  for (auto& f : families_)
    if (f->name() == name) return f.get();
  return nullptr;
}

std::string Registry::Render() {
  std::lock_guard lock(scrape_mu_);
  for (auto& c : collectors_) c();
  std::string out;
  for (const auto& f : families_) f->Render(out);
  return out;
}

}  // namespace vs::metrics
