#include "realtime/sse.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace vs::realtime {
namespace {

TEST(SseFrame, RoomEventsBecomeOneFrameWithTheirSeqAsId) {
  const std::string frame =
      SseFrame(RoomEvent{"video-status", R"({"videoId":"a","title":"two\nlines","seq":7,"timestamp":1})", 7});
  EXPECT_EQ(frame,
            "id: 7\nevent: video-status\n"
            "data: {\"videoId\":\"a\",\"title\":\"two\\nlines\",\"seq\":7,\"timestamp\":1}\n\n");
  // Exactly one data line: the newline inside the title stays escaped.
  EXPECT_EQ(std::count(frame.begin(), frame.end(), '\n'), 4);
}

}  // namespace
}  // namespace vs::realtime
