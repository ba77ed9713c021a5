#include "api/display_name.h"

#include <gtest/gtest.h>

namespace vs::api {
namespace {

TEST(DisplayNameTest, OrdinaryNamesAreKept) {
  EXPECT_EQ(DisplayFileName("Holiday 2026.mp4"), "Holiday 2026.mp4");
  EXPECT_EQ(DisplayFileName("Fête à Montréal – 夏.mkv"), "Fête à Montréal – 夏.mkv");
  EXPECT_EQ(DisplayFileName("clip.final.v2.mov"), "clip.final.v2.mov");
}

TEST(DisplayNameTest, PathsLeaveOnlyTheirLastComponent) {
  EXPECT_EQ(DisplayFileName("../../etc/passwd"), "passwd");
  EXPECT_EQ(DisplayFileName("C:\\Users\\me\\clip.mp4"), "clip.mp4");
  EXPECT_EQ(DisplayFileName("C:\\x"), "x");
  EXPECT_EQ(DisplayFileName("C:clip.mp4"), "clip.mp4");
  EXPECT_EQ(DisplayFileName("/"), "video");
  EXPECT_EQ(DisplayFileName(".."), "video");
  EXPECT_EQ(DisplayFileName("dir/"), "video");
}

TEST(DisplayNameTest, ControlsAndBidiMarksAreRemoved) {
  // "invoice\u202Efdp.mp4" shows as "invoice4pm.pdf".
  EXPECT_EQ(DisplayFileName("invoice\u202Efdp.mp4"), "invoicefdp.mp4");
  EXPECT_EQ(DisplayFileName("a\u200Eb\u200Fc\u202Ad\u202Be\u202Cf\u202Dg\u2066h\u2067i\u2068j\u2069k.mp4"),
            "abcdefghijk.mp4");
  EXPECT_EQ(DisplayFileName("zero\u200Bwidth\uFEFF.mp4"), "zerowidth.mp4");
  EXPECT_EQ(DisplayFileName(std::string("nul\0byte.mp4", 12)), "nulbyte.mp4");
  EXPECT_EQ(DisplayFileName("bell\x07\x1b[31m.mp4"), "bell[31m.mp4");
  EXPECT_EQ(DisplayFileName("line\nbreak\ttab.mp4"), "line break tab.mp4");
  EXPECT_EQ(DisplayFileName("c1\xC2\x85next.mp4"), "c1next.mp4");  // U+0085
  EXPECT_EQ(DisplayFileName("bad\xFF\xC0\x80utf8.mp4"), "badutf8.mp4");
}

TEST(DisplayNameTest, WindowsDeviceNamesAreMadeHarmless) {
  EXPECT_EQ(DisplayFileName("CON.mp4"), "_CON.mp4");
  EXPECT_EQ(DisplayFileName("con"), "_con");
  EXPECT_EQ(DisplayFileName("Lpt9.tar.mp4"), "_Lpt9.tar.mp4");
  EXPECT_EQ(DisplayFileName("COM1 .mp4"), "_COM1 .mp4");
  EXPECT_EQ(DisplayFileName("nul.."), "_nul");
  EXPECT_EQ(DisplayFileName("CONSOLE.mp4"), "CONSOLE.mp4");
  EXPECT_EQ(DisplayFileName("COM0.mp4"), "COM0.mp4");
}

TEST(DisplayNameTest, NeverEmptyAndNeverADotfile) {
  EXPECT_EQ(DisplayFileName(""), "video");
  EXPECT_EQ(DisplayFileName("\u202E\u200B"), "video");
  EXPECT_EQ(DisplayFileName("   "), "video");
  EXPECT_EQ(DisplayFileName(".mp4"), "video.mp4");
  EXPECT_EQ(DisplayFileName("\u202E.webm"), "video.webm");
  EXPECT_EQ(DisplayFileName("clip.mp4. . "), "clip.mp4");
}

TEST(DisplayNameTest, LongNamesAreCutOnACharacterBoundaryKeepingTheExtension) {
  const std::string long_ascii = std::string(300, 'a') + ".mp4";
  std::string cut = DisplayFileName(long_ascii);
  EXPECT_EQ(cut.size(), kMaxDisplayNameBytes);
  EXPECT_TRUE(cut.ends_with("a.mp4"));
  std::string wide;
  for (int i = 0; i < 100; ++i) wide += "夏";  // 3 bytes each
  cut = DisplayFileName(wide + ".mkv");
  EXPECT_LE(cut.size(), kMaxDisplayNameBytes);
  EXPECT_TRUE(cut.ends_with("夏.mkv"));
  EXPECT_EQ((cut.size() - 4) % 3, 0u);
  cut = DisplayFileName(wide);  // no extension
  EXPECT_EQ(cut.size(), 255u);
  EXPECT_EQ(cut, wide.substr(0, 255));
}

}  // namespace
}  // namespace vs::api
