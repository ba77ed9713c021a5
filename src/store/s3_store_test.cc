// S3-only behaviour against a real s3rver (the shared contract is in
// object_store_contract_test.cc; the signing proof in sigv4_test.cc, since
// s3rver accepts any signature).
#include "store/s3_store.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "core/hmac.h"
#include "store/store_test_util.h"

namespace vs::store {
namespace {

namespace fs = std::filesystem;
using namespace vs::store::testutil;

struct HttpResult {
  long status = 0;
  std::string body;
  std::vector<std::string> headers;
  bool HasHeader(const std::string& lower_prefix) const {
    for (const auto& h : headers) {
      std::string l = h;
      std::transform(l.begin(), l.end(), l.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (l.rfind(lower_prefix, 0) == 0) return true;
    }
    return false;
  }
};

// What a browser does with a presigned URL: plain HTTP, no signing.
HttpResult PlainRequest(const std::string& method, const std::string& url, const std::string& body,
                        const std::vector<std::string>& headers) {
  HttpResult out;
  CURL* h = curl_easy_init();
  struct curl_slist* list = nullptr;
  for (const auto& hd : headers) list = curl_slist_append(list, hd.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(
      h, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
        static_cast<std::string*>(u)->append(d, s * n);
        return s * n;
      });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(
      h, CURLOPT_HEADERFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
        static_cast<std::vector<std::string>*>(u)->emplace_back(d, s * n);
        return s * n;
      });
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &out.headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return out;
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    server_ = SharedS3rver(&why);
    if (!server_) GTEST_SKIP() << "s3rver unavailable: " << why;
    store_ = Make(OptionsFor(*server_));
    char tmpl[] = "/tmp/vs-s3-test-XXXXXX";
    tmp_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }
  static std::unique_ptr<ObjectStore> Make(const S3Options& o) {
    auto s = NewS3Store(o);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // A store on a server of its own, for cases that stop it (stopping the
  // shared one would disturb other cases): few retries, short timeouts.
  std::unique_ptr<ObjectStore> OwnServerStore(S3rverServer& own, int max_retries) {
    EXPECT_TRUE(own.Start().ok());
    S3Options o = OptionsFor(own);
    o.max_retries = max_retries;
    o.connect_timeout_ms = 1000;
    return Make(o);
  }
  void Put(ObjectStore& store, const std::string& key, const std::string& data) {
    auto w = std::move(store.OpenWriter(key).value());
    ASSERT_TRUE(w->Write(data.data(), data.size()).ok());
    auto s = w->Commit();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  S3rverServer* server_ = nullptr;
  std::unique_ptr<ObjectStore> store_;
  std::string tmp_;
};

TEST_F(S3StoreTest, OptionsAreChecked) {
  S3Options o = OptionsFor(*server_);
  o.bucket = "";
  EXPECT_EQ(NewS3Store(o).error().code, kStoreError);
  o = OptionsFor(*server_);
  o.endpoint = "127.0.0.1:9000";
  EXPECT_FALSE(NewS3Store(o).ok());
  o.endpoint = "ftp://127.0.0.1";
  EXPECT_FALSE(NewS3Store(o).ok());
  o = OptionsFor(*server_);
  o.secret_access_key = "";
  EXPECT_FALSE(NewS3Store(o).ok());
}

TEST_F(S3StoreTest, CheckAndErrorsCarryStatusAndCodeButNoSecret) {
  EXPECT_TRUE(store_->Check().ok());
  S3Options o = OptionsFor(*server_);
  o.bucket = "no-such-bucket";
  auto other = Make(o);
  EXPECT_FALSE(other->Check().ok());
  const std::string src = tmp_ + "/f";
  std::ofstream(src) << "x";
  auto s = other->PutFile("raw/a/source", src, false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, kStoreError);
  EXPECT_NE(s.error().message.find("404"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("NoSuchBucket"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find(o.secret_access_key), std::string::npos);
  EXPECT_EQ(store_->Stat("absent/key").error().code, kNotFound);
}

TEST_F(S3StoreTest, ContentTypeComesFromTheKey) {
  Put(*store_, "ct/manifest.mpd", "<MPD/>");
  Put(*store_, "ct/source", "bytes");
  EXPECT_EQ(store_->Stat("ct/manifest.mpd")->content_type, "application/dash+xml");
  EXPECT_EQ(store_->Stat("ct/source")->content_type, "application/octet-stream");
}

TEST_F(S3StoreTest, MultipartWriterAndPutFileKeepBytesAndType) {
  // A server that logs requests, to see the parts go by.
  S3rverServer own("videos", /*log_requests=*/true);
  ASSERT_TRUE(own.Start().ok());
  auto store = Make(OptionsFor(own));
  // 256 KiB parts: five full ones and a short last one, through both paths.
  const std::string data = RandomBytes((5 << 18) + 4321, 11);
  Put(*store, "mp/writer.mpd", data);
  const std::string src = tmp_ + "/src";
  std::ofstream(src, std::ios::binary) << data;
  ASSERT_TRUE(store->PutFile("mp/file.mpd", src, /*move=*/false).ok());
  for (const char* key : {"mp/writer.mpd", "mp/file.mpd"}) {
    SCOPED_TRACE(key);
    auto info = store->Stat(key);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->size, data.size());
    EXPECT_EQ(info->content_type, "application/dash+xml");  // set when the upload began
    auto path = store->FetchToFile(key, tmp_ + "/fetched");
    ASSERT_TRUE(path.ok());
    EXPECT_EQ(Sha256Hex(Slurp(*path)), Sha256Hex(data));
  }
  const std::string log = own.Log();
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t p = log.find(needle); p != std::string::npos; p = log.find(needle, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("Stored part 6 of"), 2u) << log;
  EXPECT_EQ(count("Stored part 7 of"), 0u);
}

TEST_F(S3StoreTest, PresignedPutWorksWithPlainHttpAndBindsContentType) {
  auto url = store_->PresignPut("up/raw/source", "video/mp4", 600);
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(url->rfind(server_->endpoint() + "/videos/up/raw/source?", 0), 0u) << *url;
  EXPECT_NE(url->find("X-Amz-Expires=600&"), std::string::npos);
  EXPECT_NE(url->find("X-Amz-SignedHeaders=content-type%3Bhost&"), std::string::npos);
  EXPECT_NE(url->find("X-Amz-Credential=S3RVER%2F"), std::string::npos);
  EXPECT_EQ(url->find("secret-never-shown"), std::string::npos);

  // The browser's CORS preflight, then the upload itself.
  HttpResult pre = PlainRequest("OPTIONS", *url, "",
                                {"Origin: http://app.example", "Access-Control-Request-Method: PUT",
                                 "Access-Control-Request-Headers: content-type"});
  EXPECT_EQ(pre.status, 200) << pre.body;
  EXPECT_TRUE(pre.HasHeader("access-control-allow-origin:"));
  const std::string body = RandomBytes(100000, 5);
  HttpResult put =
      PlainRequest("PUT", *url, body, {"Content-Type: video/mp4", "Origin: http://app.example"});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(put.HasHeader("etag:"));
  auto info = store_->Stat("up/raw/source");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, body.size());
  EXPECT_EQ(info->content_type, "video/mp4");

  auto get = store_->PresignGet("up/raw/source", 60);
  ASSERT_TRUE(get.has_value());
  HttpResult got = PlainRequest("GET", *get, "", {});
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(Sha256Hex(got.body), Sha256Hex(body));
}

TEST_F(S3StoreTest, PresignedUrlExpires) {
  // s3rver checks X-Amz-Date + X-Amz-Expires (not the signature).
  auto url = store_->PresignGet("exp/none", 1);
  ASSERT_TRUE(url.has_value());
  EXPECT_NE(url->find("X-Amz-Expires=1&"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  HttpResult r = PlainRequest("GET", *url, "", {});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;
}

TEST_F(S3StoreTest, PublicEndpointAndAddressingInPresignedUrls) {
  S3Options o = OptionsFor(*server_);
  o.public_endpoint = "https://media.example.com";
  auto vhost = Make(o);
  EXPECT_EQ(vhost->PresignGet("a/b", 60)->rfind("https://videos.media.example.com/a/b?", 0), 0u);
  o.force_path_style = true;
  auto path = Make(o);
  EXPECT_EQ(path->PresignGet("a/b", 60)->rfind("https://media.example.com/videos/a/b?", 0), 0u);
  o.public_endpoint = "http://localhost:9000";  // path-style anyway: a name no bucket can prefix
  o.force_path_style = false;
  EXPECT_EQ(Make(o)->PresignGet("a/b", 60)->rfind("http://localhost:9000/videos/a/b?", 0), 0u);
  // Longer than S3 allows: clamped to a week.
  EXPECT_NE(store_->PresignGet("a/b", 10'000'000)->find("X-Amz-Expires=604800&"),
            std::string::npos);
}

TEST_F(S3StoreTest, VirtualHostedAddressingAgainstS3rver) {
  S3Options o = OptionsFor(*server_);
  o.endpoint = server_->vhost_endpoint();  // <bucket>.s3.localhost:<port>
  auto vhost = Make(o);
  Put(*vhost, "vh/one", "virtual");
  EXPECT_EQ(Slurp(*vhost->FetchToFile("vh/one", tmp_ + "/vh")), "virtual");
  EXPECT_EQ(*vhost->List("vh/"), std::vector<std::string>{"vh/one"});
  EXPECT_TRUE(store_->Stat("vh/one").ok());  // the same bucket, path-style
  ASSERT_TRUE(vhost->DeletePrefix("vh").ok());
  EXPECT_EQ(store_->Stat("vh/one").error().code, kNotFound);
}

TEST_F(S3StoreTest, ListPagesAndDeletePrefixInBatches) {
  // More than one ListObjectsV2 page (1000 keys) and one DeleteObjects batch.
  constexpr int kObjects = 1050;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kObjects; i += 4) {
        char key[64];
        snprintf(key, sizeof(key), "many/obj-%05d", i);
        auto w = store_->OpenWriter(key);
        if (!w.ok() || !(*w)->Write("x", 1).ok() || !(*w)->Commit().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  Put(*store_, "many-other/keep", "k");
  auto keys = store_->List("many/");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), static_cast<size_t>(kObjects));
  EXPECT_TRUE(std::is_sorted(keys->begin(), keys->end()));
  EXPECT_EQ(keys->front(), "many/obj-00000");
  EXPECT_EQ(keys->back(), "many/obj-01049");
  ASSERT_TRUE(store_->DeletePrefix("many").ok());
  EXPECT_TRUE(store_->List("many/")->empty());
  EXPECT_TRUE(store_->Stat("many-other/keep").ok());
}

TEST_F(S3StoreTest, ServerDownFailsFastAndRecovers) {
  S3rverServer own;
  auto store = OwnServerStore(own, 1);
  Put(*store, "down/obj", "survives");
  // s3rver may still be writing the object's files after it answered the
  // PUT; a read-back settles them before the server is stopped.
  auto before = store->Stat("down/obj");
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size, 8u);
  auto early = store->OpenReader("down/obj", 0, std::nullopt);
  ASSERT_TRUE(early.ok());
  ASSERT_EQ(ReadAll(**early), "survives");
  own.Stop();

  auto st = store->Stat("down/obj");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, kStoreError);
  EXPECT_NE(st.error().message.find("HEAD down/obj"), std::string::npos) << st.error().message;
  EXPECT_EQ(store->OpenReader("down/obj", 0, std::nullopt).error().code, kStoreError);
  EXPECT_EQ(store->List("down/").error().code, kStoreError);
  EXPECT_FALSE(store->Check().ok());
  auto w = std::move(store->OpenWriter("down/new").value());
  ASSERT_TRUE(w->Write("x", 1).ok());  // buffered
  EXPECT_EQ(w->Commit().error().code, kStoreError);

  ASSERT_TRUE(own.Start().ok());  // same port, same data
  EXPECT_TRUE(store->Check().ok());
  auto r = store->OpenReader("down/obj", 0, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ReadAll(**r), "survives");
}

TEST_F(S3StoreTest, ReaderSurvivesServerDyingMidway) {
  S3rverServer own;
  auto store = OwnServerStore(own, 0);
  Put(*store, "mid/big", RandomBytes(8 << 20, 9));
  auto r = std::move(store->OpenReader("mid/big", 0, std::nullopt).value());
  char buf[4096];
  ASSERT_TRUE(r->Read(buf, sizeof(buf)).ok());
  own.Stop();
  // The reader ends with an error (or the bytes already buffered), never hangs.
  Result<size_t> n = size_t{1};
  while (n.ok() && *n > 0) n = r->Read(buf, sizeof(buf));
  if (!n.ok()) {
    EXPECT_EQ(n.error().code, kStoreError);
  }
}

// A scripted HTTP server on loopback for what s3rver cannot be made to do
// (5xx, refusing DeleteObjects): each request (method, target, body) gets
// the response the test's function returns; every connection is closed
// after one exchange. Thread-compatible; serves on its own thread.
class FakeS3 {
 public:
  struct Request {
    std::string method, target, body;
  };
  using Handler = std::function<std::string(const Request&)>;

  explicit FakeS3(Handler handler) : handler_(std::move(handler)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeS3() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

  static std::string Response(int status, const std::string& extra_headers,
                              const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           extra_headers + "\r\n" + body;
  }
  static std::string Error(int status, const std::string& code) {
    return Response(status, "Content-Type: application/xml\r\n",
                    "<Error><Code>" + code + "</Code><Message>scripted</Message></Error>");
  }

 private:
  void Serve() {
    for (;;) {
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string in;
      char buf[65536];
      size_t head_end;
      while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      if (head_end == std::string::npos) {
        close(c);
        continue;
      }
      Request r;
      const std::string head = in.substr(0, head_end);
      r.method = head.substr(0, head.find(' '));
      r.target = head.substr(r.method.size() + 1,
                             head.find(' ', r.method.size() + 1) - r.method.size() - 1);
      size_t length = 0;
      std::string lower = head;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return std::tolower(ch); });
      if (const size_t p = lower.find("\r\ncontent-length:"); p != std::string::npos) {
        length = std::strtoul(head.c_str() + p + 17, nullptr, 10);
      }
      r.body = in.substr(head_end + 4);
      while (r.body.size() < length) {
        const ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        r.body.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(r);
      }
      const std::string out = handler_(r);
      for (size_t off = 0; off < out.size();) {
        const ssize_t n = write(c, out.data() + off, out.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      close(c);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Request> requests_;
};

S3Options FakeOptions(const FakeS3& fake, int max_retries) {
  S3Options o;
  o.bucket = "videos";
  o.endpoint = fake.endpoint();
  o.access_key_id = "AKID";
  o.secret_access_key = "secret-never-shown";
  o.max_retries = max_retries;
  o.part_size = 4;
  return o;
}

TEST(S3StoreRetries, IdempotentRequestsRetryServerErrors) {
  std::atomic<int> calls{0};
  FakeS3 fake([&](const FakeS3::Request&) {
    return ++calls <= 2 ? FakeS3::Error(503, "SlowDown")
                        : FakeS3::Response(200, "ETag: \"abc\"\r\nContent-Type: video/mp4\r\n", "");
  });
  auto store = std::move(NewS3Store(FakeOptions(fake, 4)).value());
  auto info = store->Stat("raw/a/source");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->etag, "\"abc\"");
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(fake.requests()[0].target, "/videos/raw/a/source");

  calls = 0;
  auto fewer = std::move(NewS3Store(FakeOptions(fake, 1)).value());
  auto failed = fewer->Stat("raw/a/source");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, kStoreError);
  EXPECT_EQ(calls.load(), 2);
}

TEST(S3StoreRetries, UnsafeRequestsAreNotRepeatedAndErrorsAreReported) {
  FakeS3 fake([](const FakeS3::Request&) { return FakeS3::Error(500, "InternalError"); });
  auto store = std::move(NewS3Store(FakeOptions(fake, 4)).value());
  // 6 bytes with 4-byte parts: Commit needs a multipart upload, whose
  // initiation (a POST) must not be repeated.
  auto w = std::move(store->OpenWriter("raw/a/source").value());
  auto s = w->Write("abcdef", 6);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "S3 initiate multipart upload raw/a/source: HTTP 500 InternalError: scripted");
  EXPECT_EQ(fake.requests().size(), 1u);
  EXPECT_EQ(fake.requests()[0].method, "POST");
  EXPECT_EQ(fake.requests()[0].target, "/videos/raw/a/source?uploads=");
}

TEST(S3StoreRetries, CompleteReportsAnErrorInsideA200) {
  FakeS3 fake([](const FakeS3::Request& r) {
    if (r.target.ends_with("?uploads=")) {
      return FakeS3::Response(200, "",
                              "<InitiateMultipartUploadResult><UploadId>u-1</UploadId></"
                              "InitiateMultipartUploadResult>");
    }
    if (r.method == "PUT") return FakeS3::Response(200, "ETag: \"p\"\r\n", "");
    if (r.method == "POST")
      return FakeS3::Response(200, "",
                              "<Error><Code>InternalError</Code><Message>late</Message></Error>");
    return FakeS3::Response(204, "", "");  // the abort
  });
  auto store = std::move(NewS3Store(FakeOptions(fake, 0)).value());
  {
    auto w = std::move(store->OpenWriter("raw/a/source").value());
    ASSERT_TRUE(w->Write("abcdefghij", 10).ok());
    auto s = w->Commit();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("InternalError: late"), std::string::npos)
        << s.error().message;
  }
  const auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 6u);  // initiate, 3 parts, complete, abort
  EXPECT_EQ(reqs[1].target, "/videos/raw/a/source?partNumber=1&uploadId=u-1");
  EXPECT_EQ(reqs[3].body, "ij");
  EXPECT_EQ(reqs[4].body,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"p\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"p\"</ETag></Part>"
            "<Part><PartNumber>3</PartNumber><ETag>\"p\"</ETag></Part></"
            "CompleteMultipartUpload>");
  EXPECT_EQ(reqs[5].method, "DELETE");
  EXPECT_EQ(reqs[5].target, "/videos/raw/a/source?uploadId=u-1");
}

TEST(S3StoreRetries, DeletePrefixFallsBackToSingleDeletes) {
  FakeS3 fake([](const FakeS3::Request& r) {
    if (r.method == "GET") {
      return FakeS3::Response(
          200, "",
          "<ListBucketResult><IsTruncated>false</IsTruncated>"
          "<Contents><Key>p/b</Key></Contents><Contents><Key>p/a</Key></Contents>"
          "</ListBucketResult>");
    }
    if (r.method == "POST") return FakeS3::Error(501, "NotImplemented");
    return FakeS3::Response(204, "", "");
  });
  auto store = std::move(NewS3Store(FakeOptions(fake, 0)).value());
  ASSERT_TRUE(store->DeletePrefix("p").ok());
  const auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].target, "/videos?list-type=2&prefix=p%2F");
  EXPECT_EQ(reqs[1].target, "/videos?delete=");
  EXPECT_NE(reqs[1].body.find("<Object><Key>p/a</Key></Object><Object><Key>p/b</Key></Object>"),
            std::string::npos);
  EXPECT_EQ(reqs[2].method + " " + reqs[2].target, "DELETE /videos/p/a");
  EXPECT_EQ(reqs[3].method + " " + reqs[3].target, "DELETE /videos/p/b");
}

}  // namespace
}  // namespace vs::store
