#include "realtime/sse.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace vs::realtime {
namespace {

TEST(SseFrame, RoomEventsBecomeOneFrameWithTheirSeqAsId) {
  std::string frame;
  uint64_t seq = 0;
  ASSERT_TRUE(SseFrame(R"(42["video-status",{"videoId":"a","title":"two\nlines","seq":7,"timestamp":1}])",
                       &frame, &seq));
  EXPECT_EQ(seq, 7u);
  EXPECT_EQ(frame,
            "id: 7\nevent: video-status\n"
            "data: {\"videoId\":\"a\",\"title\":\"two\\nlines\",\"seq\":7,\"timestamp\":1}\n\n");
  // Exactly one data line: the newline inside the title stays escaped.
  EXPECT_EQ(std::count(frame.begin(), frame.end(), '\n'), 4);
}

TEST(SseFrame, AnythingElseIsRefused) {
  std::string frame;
  uint64_t seq = 0;
  for (const char* bad : {"", "2", "40", R"(42["x"])", R"(42[1,{"seq":1}])", R"(42["x",{"no":"seq"}])",
                          R"(42["x",{"seq":"1"}])", R"(42["x",{"seq":-1}])", R"(43["x",{"seq":1}])",
                          R"(42["x",{"seq":1})", R"(42["x",[1]])"}) {
    EXPECT_FALSE(SseFrame(bad, &frame, &seq)) << bad;
  }
}

}  // namespace
}  // namespace vs::realtime
