#include "s3rver_server.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace vs::testing {
namespace {

namespace fs = std::filesystem;

std::string S3rverScript() {
  return std::string(VS_TEST_SOURCE_DIR) + "/tests/node/node_modules/s3rver/bin/s3rver.js";
}

// The rule a browser upload straight to the bucket needs: a presigned PUT
// with Content-Type from the web app's origin, and reads of the results.
constexpr const char* kCorsXml = R"(<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>Content-Type</AllowedHeader>
    <AllowedHeader>Range</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>
)";

bool NodeInPath() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  size_t start = 0;
  while (start <= p.size()) {
    const size_t end = std::min(p.find(':', start), p.size());
    const std::string cand = p.substr(start, end - start) + "/node";
    if (!cand.empty() && access(cand.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

S3rverServer::S3rverServer(std::string bucket, bool log_requests)
    : bucket_(std::move(bucket)),
      log_requests_(log_requests),
      port_(FreeLoopbackPort()),
      dir_(MakeServiceDir("s3rver")) {
  std::ofstream(dir_ + "/cors.xml") << kCorsXml;
  fs::create_directories(dir_ + "/data");
}

S3rverServer::~S3rverServer() { Stop(); }

bool S3rverServer::Available(std::string* why) {
  if (!NodeInPath()) {
    *why = "node is not installed";
    return false;
  }
  if (access(S3rverScript().c_str(), R_OK) != 0) {
    *why = "s3rver is not installed: run scripts/setup-node-tests";
    return false;
  }
  return true;
}

Status S3rverServer::Start() {
  if (process_) return {};
  std::string why;
  if (!Available(&why)) return MakeError("service_unavailable", why);
  ServiceOptions o;
  o.argv = {"node",
            // s3rver encrypts ListObjectsV2 continuation tokens with DES,
            // which Node >= 17 (OpenSSL 3) only offers from the legacy
            // provider: without it every truncated listing is a 500.
            "--openssl-legacy-provider", S3rverScript(), "--directory", dir_ + "/data", "--address",
            "127.0.0.1", "--port", std::to_string(port_),
            // Virtual-hosted requests arrive for <bucket>.s3.localhost.
            "--service-endpoint", "localhost", "--configure-bucket", bucket_, dir_ + "/cors.xml"};
  if (!log_requests_) o.argv.push_back("--silent");
  o.log_path = dir_ + "/s3rver.log";
  try {
    process_ = std::make_unique<ServiceProcess>(o);
  } catch (const std::exception& e) {
    return MakeError("service_unavailable", e.what());
  }
  if (!process_->WaitForPort(port_, 20000)) {
    const std::string log = process_->Log();
    process_.reset();
    return MakeError("service_unavailable", "s3rver did not start: " + log);
  }
  return {};
}

void S3rverServer::Stop() {
  if (!process_) return;
  process_->Stop(3000);
  process_.reset();
}

std::string S3rverServer::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string S3rverServer::vhost_endpoint() const {
  return "http://s3.localhost:" + std::to_string(port_);
}

std::string S3rverServer::Log() const {
  std::ifstream in(dir_ + "/s3rver.log");
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace vs::testing
