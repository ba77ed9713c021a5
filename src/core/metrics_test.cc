#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace vs::metrics {
namespace {

TEST(MetricsTest, CountersRenderWithHelpTypeAndEscapedLabels) {
  Registry r;
  Family& c = r.Counter("vs_requests_total", "Requests answered.");
  c.Inc({{"route", "/a"}, {"status", "200"}});
  c.Inc({{"route", "/a"}, {"status", "200"}}, 2);
  c.Inc({{"route", "say \"hi\"\\\n"}});
  const std::string text = r.Render();
  EXPECT_NE(text.find("# HELP vs_requests_total Requests answered.\n# TYPE vs_requests_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("vs_requests_total{route=\"/a\",status=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("vs_requests_total{route=\"say \\\"hi\\\"\\\\\\n\"} 1\n"), std::string::npos);
  EXPECT_EQ(c.Value({{"route", "/a"}, {"status", "200"}}), 3);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  Family& h = r.Histogram("vs_seconds", "Durations.", {0.1, 1});
  h.Observe({}, 0.05);
  h.Observe({}, 0.1);  // on the bound: counts in le="0.1"
  h.Observe({}, 0.5);
  h.Observe({}, 7);
  const std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE vs_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("vs_seconds_bucket{le=\"0.1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("vs_seconds_bucket{le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("vs_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("vs_seconds_sum 7.65\n"), std::string::npos);
  EXPECT_NE(text.find("vs_seconds_count 4\n"), std::string::npos);
  EXPECT_EQ(h.Count({}), 4u);
}

TEST(MetricsTest, CollectorsRunAtEveryScrapeAndDeclaringTwiceGivesTheSameFamily) {
  Registry r;
  Family& g = r.Gauge("vs_depth", "Queue depth.");
  EXPECT_EQ(&r.Gauge("vs_depth", "again"), &g);
  int calls = 0;
  r.AddCollector([&] { g.Set({{"state", "queued"}}, ++calls); });
  r.Render();
  EXPECT_NE(r.Render().find("vs_depth{state=\"queued\"} 2\n"), std::string::npos);
  EXPECT_EQ(r.Find("vs_depth"), &g);
  EXPECT_EQ(r.Find("nope"), nullptr);
}

TEST(MetricsTest, ConcurrentRecordingLosesNothing) {
  Registry r;
  Family& c = r.Counter("vs_n_total", "n");
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.Inc({{"k", "v"}});
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Value({{"k", "v"}}), 40000);
}

}  // namespace
}  // namespace vs::metrics
