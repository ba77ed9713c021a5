// Key checks shared by the adapters (not part of the public seam).
// Thread-safe (pure functions).
#pragma once

#include <string>

#include "core/result.h"

namespace vs::store {

// kInvalidKey unless IsSafeKey(key).
Status CheckKey(const std::string& key);
// A List/DeletePrefix prefix names a folder: "processed/v1/" and
// "processed/v1" both mean the folder "processed/v1". Returns it without the
// trailing slash ("" for the whole store when `allow_root`), or kInvalidKey.
Result<std::string> PrefixFolder(const std::string& prefix, bool allow_root);

}  // namespace vs::store
