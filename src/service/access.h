// Who may see and change a video: the rules every entry point (API routes,
// media, realtime rooms, lists) applies, written once.
#pragma once

#include <string>

#include "core/video.h"
#include "db/repository.h"

namespace vs::service {

// The caller. An empty user_id is an anonymous caller.
struct Viewer {
  std::string user_id;
  bool admin = false;
  bool anonymous() const { return user_id.empty(); }
};

// Public and unlisted videos: anyone with the id. Private ones: their owner
// and admins.
inline bool CanView(const Viewer& who, const Video& v) {
  if (v.visibility != Visibility::kPrivate) return true;
  return who.admin || (!who.anonymous() && who.user_id == v.owner_id);
}

// Changes (upload, edit, delete, retry): the owner and admins. A video
// without an owner (anonymous uploads, or made before accounts) may be
// changed by anyone only when the operator allows anonymous uploads.
inline bool CanChange(const Viewer& who, const Video& v, bool anonymous_uploads) {
  if (v.owner_id.empty()) return anonymous_uploads || who.admin;
  return who.admin || (!who.anonymous() && who.user_id == v.owner_id);
}

// What lists, counts and notifications show the caller: public videos and
// its own; admins everything.
inline db::Audience AudienceFor(const Viewer& who) {
  if (who.admin) return db::Audience{};
  return db::Audience{false, who.user_id};
}

}  // namespace vs::service
