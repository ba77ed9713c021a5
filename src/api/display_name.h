// The name an uploaded file is shown and stored under. A client's file
// name is free text that ends up in lists, titles and the browser's
// download box: it must not be able to reorder what is shown around it,
// hide characters, or look like a path or a Windows device. Pure function;
// any thread.
#pragma once

#include <string>
#include <string_view>

namespace vs::api {

inline constexpr size_t kMaxDisplayNameBytes = 255;

// `name` (valid UTF-8 as JSON delivers it; invalid bytes are dropped) made
// safe to show:
// - only its last path component ("../../etc/passwd" -> "passwd",
//   "C:\\x\\clip.mp4" -> "clip.mp4");
// - no control characters (tab and line breaks become spaces) and no
//   bidi or invisible format marks (U+061C, U+200B-U+200F, U+2028-U+202E,
//   U+2060-U+2064, U+2066-U+2069, U+FEFF);
// - no leading/trailing spaces, no trailing dots, no leading dot (a name
//   that is only an extension becomes "video.<ext>");
// - a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, any case,
//   with or without an extension) gets a leading "_";
// - at most kMaxDisplayNameBytes bytes, cut on a character boundary and
//   keeping a short extension;
// - never empty: "video" when nothing is left.
std::string DisplayFileName(std::string_view name);

}  // namespace vs::api
