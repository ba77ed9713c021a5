// Helpers shared by the store's tests (not part of the library).
// Thread-compatible.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "s3rver_server.h"
#include "store/object_store.h"
#include "store/s3_store.h"

namespace vs::store::testutil {

using vs::testing::S3rverServer;

// One s3rver per test process (ctest runs each case in its own process).
inline S3rverServer* SharedS3rver(std::string* why) {
  static std::unique_ptr<S3rverServer> server;
  static std::string failure;
  if (!server && failure.empty()) {
    if (!S3rverServer::Available(&failure)) return nullptr;
    server = std::make_unique<S3rverServer>();
    if (Status s = server->Start(); !s.ok()) {
      failure = s.error().message;
      server.reset();
    }
  }
  *why = failure;
  return server.get();
}

// Small parts, so the contract exercises multipart uploads too (s3rver
// does not enforce S3's 5 MiB minimum).
inline S3Options OptionsFor(const S3rverServer& s) {
  S3Options o;
  o.bucket = s.bucket();
  o.endpoint = s.endpoint();
  o.access_key_id = S3rverServer::kAccessKeyId;
  o.secret_access_key = "secret-never-shown";  // s3rver does not check it
  o.part_size = 256 << 10;
  o.multipart_threshold = 512 << 10;
  o.content_type_for = [](const std::string& key) {
    return key.ends_with(".mpd") ? "application/dash+xml" : "";
  };
  return o;
}

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

inline std::string ReadAll(ObjectReader& r, size_t chunk = 64 << 10) {
  std::string out;
  std::string buf(chunk, '\0');
  for (;;) {
    auto n = r.Read(buf.data(), buf.size());
    EXPECT_TRUE(n.ok()) << n.error().message;
    if (!n.ok() || *n == 0) return out;
    out.append(buf.data(), *n);
  }
}

inline std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

}  // namespace vs::store::testutil
