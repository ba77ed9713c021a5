// Writes one track as CMAF: init-<rep>.m4s (ftyp + moov) and one
// chunk-<rep>-<n>.m4s (styp + moof + mdat) per segment. Internal to media.
//
// A new segment starts at the first key frame whose presentation time is at or
// past the next multiple of the segment duration, so every rendition whose
// encoder forces IDRs on that grid cuts at the same timestamps. Not
// thread-safe; each rendition owns its writer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/libav_util.h"
#include "media/manifest.h"

namespace vs::media {

class CmafWriter {
 public:
  // `enc` is an opened encoder; packets given to Write() carry timestamps in
  // its time base.
  static Result<std::unique_ptr<CmafWriter>> Open(const std::string& dir,
                                                  const std::string& rep_id,
                                                  const AVCodecContext* enc,
                                                  double segment_seconds);
  ~CmafWriter();
  CmafWriter(const CmafWriter&) = delete;
  CmafWriter& operator=(const CmafWriter&) = delete;

  Status Write(AVPacket* pkt);
  // Flushes the last segment. After it, segments() and timescale() are final.
  Status Finish();

  const std::vector<SegmentInfo>& segments() const { return segments_; }
  int timescale() const { return timescale_; }
  uint64_t init_bytes() const { return init_bytes_; }
  uint64_t total_bytes() const;

 private:
  CmafWriter() = default;
  static int OnWrite(void* opaque, uint8_t* buf, int size);
  Status FlushSegment();
  Status WriteInitSegment();
  Status WriteFile(const std::string& name, const uint8_t* data, size_t size);

  std::string dir_;
  std::string rep_id_;
  AVFormatContext* ctx_ = nullptr;
  AVRational enc_tb_{1, 1};
  int timescale_ = 0;
  int64_t segment_ticks_ = 0;       // nominal segment length in the track timescale
  std::vector<uint8_t> pending_;    // bytes the muxer produced since the last flush
  std::vector<SegmentInfo> segments_;
  bool in_segment_ = false;
  int64_t seg_start_ = 0;
  int64_t seg_end_ = 0;             // max(pts + duration) so far in the open segment
  bool init_written_ = false;
  uint64_t init_bytes_ = 0;
  bool finished_ = false;
};

}  // namespace vs::media
