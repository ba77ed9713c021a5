#include "store/s3_store.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "resilience/circuit_breaker.h"
#include "store/keys.h"
#include "store/sigv4.h"

namespace vs::store {
namespace {

using sigv4::Fields;

constexpr size_t kMaxReplyBody = 8u << 20;      // XML pages and error documents
constexpr size_t kReaderBuffer = 1u << 20;      // OpenReader's bounded buffer
constexpr size_t kDeleteBatch = 1000;           // DeleteObjects' limit
constexpr size_t kHashChunk = 256u << 10;       // file reads while hashing
constexpr int64_t kMaxPresignSeconds = 604800;  // SigV4's limit: a week
constexpr uint64_t kMaxParts = 10000;           // S3's limit per upload

// ---------------------------------------------------------------- helpers

// Element text in the XML bodies we send: only '&' and '<' must be escaped
// there ('>' too, lest "]]>" appear). Keys from a listing may hold anything.
std::string XmlText(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string XmlUnescape(std::string_view s) {
  static const std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out += c;
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

// The texts of every <tag>...</tag> in a (flat enough) S3 XML document.
// S3's replies are simple and machine-written, which is all this handles.
std::vector<std::string> XmlValues(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  for (size_t pos = xml.find(open); pos != std::string_view::npos; pos = xml.find(open, pos)) {
    pos += open.size();
    const size_t end = xml.find(close, pos);
    if (end == std::string_view::npos) break;
    out.push_back(XmlUnescape(xml.substr(pos, end - pos)));
    pos = end + close.size();
  }
  return out;
}

std::string XmlValue(std::string_view xml, std::string_view tag) {
  auto v = XmlValues(xml, tag);
  return v.empty() ? std::string() : v.front();
}

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

// Base64 MD5 for Content-MD5, so S3 refuses a body damaged on the way.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string Base64Digest() {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, d, &n);
    return Base64(d, n);
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::string Md5Of(std::string_view data) {
  Md5 m;
  m.Update(data.data(), data.size());
  return m.Base64Digest();
}

// Reads a file region in bounded chunks.
Result<std::string> Md5OfFile(int fd, uint64_t offset, uint64_t length) {
  Md5 m;
  std::string buf(kHashChunk, '\0');
  while (length > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return StoreError(std::string("read local file: ") +
                        (n == 0 ? "short file" : strerror(errno)));
    m.Update(buf.data(), static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return m.Base64Digest();
}

std::string Quoted(std::string etag) {
  if (etag.empty() || etag.front() == '"' || etag.rfind("W/", 0) == 0) return etag;
  return "\"" + etag + "\"";
}

// scheme://host[:port] → its parts; the host keeps a non-default port, as
// the Host header (and so the signature) carries it.
struct Endpoint {
  std::string scheme;
  std::string host;       // without port
  std::string authority;  // host or host:port, as sent in Host
};

Result<Endpoint> ParseEndpoint(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return StoreError("S3 endpoint needs a scheme: " + url);
  Endpoint e;
  e.scheme = sigv4::AsciiLower(url.substr(0, sep));
  if (e.scheme != "http" && e.scheme != "https") {
    return StoreError("S3 endpoint scheme must be http or https: " + url);
  }
  std::string rest = url.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) {
    return StoreError("S3 endpoint must be scheme://host[:port]: " + url);
  }
  e.host = rest;
  std::string port;
  if (rest.front() == ':') return StoreError("S3 endpoint has no host: " + url);
  const size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    e.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  const bool default_port = port.empty() || (e.scheme == "http" && port == "80") ||
                            (e.scheme == "https" && port == "443");
  e.authority = default_port ? e.host : e.host + ":" + port;
  return e;
}

bool IsIpOrLocalhost(const std::string& host) {
  if (host == "localhost" || host.front() == '[') return true;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
}

// Bucket names usable as a DNS label under TLS (no dots: the wildcard
// certificate covers one label only).
bool VirtualHostable(const std::string& bucket, const std::string& scheme) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          (c == '.' && scheme == "http"))) {
      return false;
    }
  }
  return bucket.front() != '-' && bucket.back() != '-';
}

// ---------------------------------------------------------------- HTTP

// A request body: memory or a region of a file (read with pread, so one
// descriptor can feed several parts).
struct Body {
  std::string_view memory;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t size() const { return fd >= 0 ? length : memory.size(); }
};

struct Call {
  std::string method;
  std::string key;  // empty: a bucket-level request
  Fields query;
  Fields headers;  // sent and signed (Content-Type, Content-MD5, Range, ...)
  Body body;
  bool idempotent = true;
  bool transfer = false;     // bulk data: stall timeout instead of a total one
  std::vector<long> accept;  // non-2xx statuses that are answers, not failures
  // Streamed 2xx response body; false aborts the transfer.
  std::function<bool(const char*, size_t)> sink;
  // Before each attempt (e.g. truncating a partial download).
  std::function<void()> on_attempt;
  // Polled about once a second during a transfer; true aborts it.
  std::function<bool()> cancelled;
  // When the response headers are complete (status known); false ends the
  // transfer there.
  std::function<bool(long status)> on_headers;
};

struct Reply {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // non-streamed body, bounded
  bool sink_stopped = false;                   // the sink ended the transfer
  std::string transport_error;                 // curl's detail when the exchange failed
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Transfer {
  Call* call;
  Reply* reply;
  uint64_t body_pos = 0;
  CURL* curl;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->reply->headers.clear();
  } else if (line == "\r\n" || line == "\n") {
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && t->call->on_headers && !t->call->on_headers(status)) {
      t->reply->sink_stopped = true;
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string value(line.substr(colon + 1));
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
      value.pop_back();
    const size_t start = value.find_first_not_of(" \t");
    t->reply->headers[sigv4::AsciiLower(line.substr(0, colon))] =
        start == std::string::npos ? "" : value.substr(start);
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->call->sink) {
    if (!t->call->sink(data, len)) {
      t->reply->sink_stopped = true;
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
    return len;
  }
  const size_t room = kMaxReplyBody - std::min(kMaxReplyBody, t->reply->body.size());
  t->reply->body.append(data, std::min(len, room));
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const Body& b = t->call->body;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, b.size() - t->body_pos));
  if (want == 0) return 0;
  if (b.fd < 0) {
    memcpy(buf, b.memory.data() + t->body_pos, want);
    t->body_pos += want;
    return want;
  }
  for (;;) {
    const ssize_t r = ::pread(b.fd, buf, want, static_cast<off_t>(b.offset + t->body_pos));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return CURL_READFUNC_ABORT;  // the file shrank or failed
    t->body_pos += static_cast<uint64_t>(r);
    return static_cast<size_t>(r);
  }
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->call->cancelled && t->call->cancelled() ? 1 : 0;
}

// A few easy handles kept for reuse: each keeps its connections alive, so
// consecutive requests skip the TCP (and TLS) handshakes.
class HandlePool {
 public:
  ~HandlePool() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }
  CURL* Acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        curl_easy_reset(h);
        return h;
      }
    }
    return curl_easy_init();
  }
  void Release(CURL* h) {
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdle) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

 private:
  static constexpr size_t kMaxIdle = 8;
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

// ---------------------------------------------------------------- client

// Everything the store, its writers and readers share; immutable apart from
// the handle pool. Thread-safe.
class Client {
 public:
  Client(S3Options o, Endpoint api, Endpoint pub)
      : o_(std::move(o)), api_(std::move(api)), public_(std::move(pub)) {
    creds_ = {o_.access_key_id, o_.secret_access_key, o_.session_token};
    scope_ = {o_.region, "s3"};
  }

  const S3Options& options() const { return o_; }

  std::string ContentTypeFor(const std::string& key) const {
    std::string t = o_.content_type_for ? o_.content_type_for(key) : "";
    return t.empty() ? "application/octet-stream" : t;
  }

  // One request with retries (jittered backoff) on network errors, 5xx and
  // 429 when the call is idempotent, or when the connection was never made.
  Result<Reply> Perform(Call& call, const std::string& what) {
    for (int attempt = 0;; ++attempt) {
      if (call.on_attempt) call.on_attempt();
      Reply reply;
      const CURLcode rc = Attempt(call, &reply);
      const bool never_sent = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
      const bool transient =
          (rc != CURLE_OK && !reply.sink_stopped && rc != CURLE_ABORTED_BY_CALLBACK) ||
          (rc == CURLE_OK && (reply.status >= 500 || reply.status == 429));
      if (transient && attempt < o_.max_retries && (call.idempotent || never_sent)) {
        std::this_thread::sleep_for(
            std::chrono::milliseconds(resilience::BackoffMs(attempt + 1, 100, 2000)));
        continue;
      }
      if (rc != CURLE_OK && !reply.sink_stopped) {
        return StoreError("S3 " + what + ": " + reply.transport_error);
      }
      if (reply.status / 100 != 2 &&
          std::find(call.accept.begin(), call.accept.end(), reply.status) == call.accept.end()) {
        return HttpError(what, reply);
      }
      return reply;
    }
  }

  // One HTTP exchange, signed now.
  CURLcode Attempt(Call& call, Reply* reply) {
    const Endpoint& ep = api_;
    std::string host, path;
    Target(ep, call.key, &host, &path);

    sigv4::Request req;
    req.method = call.method;
    req.host = host;
    req.path = path;
    req.query = call.query;
    req.headers = call.headers;
    req.headers.emplace_back("x-amz-content-sha256", std::string(sigv4::kUnsignedPayload));
    const int64_t now_s = SystemClock::Instance().NowMs() / 1000;
    Fields all = req.headers;
    for (auto& h : sigv4::SignHeaders(req, creds_, scope_, now_s)) all.push_back(std::move(h));

    std::string url = ep.scheme + "://" + host + path;
    if (!call.query.empty()) {
      std::string q;
      for (const auto& [k, v] : call.query) {
        q += (q.empty() ? "" : "&") + sigv4::UriEncode(k, false) + "=" + sigv4::UriEncode(v, false);
      }
      url += "?" + q;
    }

    struct curl_slist* list = nullptr;
    for (const auto& [k, v] : all) list = curl_slist_append(list, (k + ": " + v).c_str());
    // No "Expect: 100-continue" pause, and no default POST Content-Type.
    list = curl_slist_append(list, "Expect:");
    bool has_type = false;
    for (const auto& [k, v] : call.headers) has_type |= sigv4::AsciiLower(k) == "content-type";
    if (!has_type) list = curl_slist_append(list, "Content-Type:");

    CURL* h = pool_.Acquire();
    Transfer t{&call, reply, 0, h};
    char error_detail[CURL_ERROR_SIZE] = {0};  // names host and port, never credentials
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_detail);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o_.connect_timeout_ms));
    if (call.transfer) {
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o_.stall_timeout_s));
    } else {
      curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.request_timeout_ms));
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    if (call.cancelled) {
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    const curl_off_t body_size = static_cast<curl_off_t>(call.body.size());
    if (call.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (call.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, body_size);
    } else if (call.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, body_size);
    } else if (call.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    }
    if (call.method == "PUT" || call.method == "POST") {
      curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
    }
    const CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply->status);
    if (rc != CURLE_OK)
      reply->transport_error = error_detail[0] ? error_detail : curl_easy_strerror(rc);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(list);
    // A handle whose transfer was cut short may hold a half-read connection;
    // curl closes such connections itself, so the handle is reusable.
    pool_.Release(h);
    return rc;
  }

  static Error HttpError(const std::string& what, const Reply& reply) {
    const std::string code = XmlValue(reply.body, "Code");
    const std::string message = XmlValue(reply.body, "Message");
    const bool missing = reply.status == 404 && (code.empty() || code == "NoSuchKey");
    std::string text = "S3 " + what + ": HTTP " + std::to_string(reply.status);
    if (!code.empty()) text += " " + code;
    if (!message.empty()) text += ": " + message;
    return MakeError(missing ? ErrorKind::kNotFound : ErrorKind::kUnavailable,
                     missing ? kNotFound : kStoreError, text);
  }

  // Query-signed URL on the public endpoint.
  std::string Presign(const std::string& method, const std::string& key, Fields headers,
                      int64_t ttl_s) const {
    std::string host, path;
    Target(public_, key, &host, &path);
    sigv4::Request req;
    req.method = method;
    req.host = host;
    req.path = path;
    req.headers = std::move(headers);
    const int64_t now_s = SystemClock::Instance().NowMs() / 1000;
    const int64_t ttl = std::clamp<int64_t>(ttl_s, 1, kMaxPresignSeconds);
    return public_.scheme + "://" + host + path + "?" +
           sigv4::PresignQuery(req, creds_, scope_, now_s, ttl);
  }

 private:
  // Host and encoded path of a key (or of the bucket when key is empty).
  void Target(const Endpoint& ep, const std::string& key, std::string* host,
              std::string* path) const {
    const bool vhost =
        !o_.force_path_style && !IsIpOrLocalhost(ep.host) && VirtualHostable(o_.bucket, ep.scheme);
    const std::string encoded_key = sigv4::UriEncode(key, true);
    if (vhost) {
      *host = o_.bucket + "." + ep.authority;
      *path = "/" + encoded_key;
    } else {
      *host = ep.authority;
      *path = "/" + sigv4::UriEncode(o_.bucket, false) + (key.empty() ? "" : "/" + encoded_key);
    }
  }

  S3Options o_;
  Endpoint api_, public_;
  sigv4::Credentials creds_;
  sigv4::Scope scope_;
  HandlePool pool_;
};

// ---------------------------------------------------------------- multipart

// One multipart upload: begun lazily, parts uploaded one at a time, aborted
// on destruction unless completed. Thread-compatible.
class Multipart {
 public:
  Multipart(std::shared_ptr<Client> c, std::string key) : c_(std::move(c)), key_(std::move(key)) {}
  ~Multipart() { Abort(); }
  Multipart(const Multipart&) = delete;
  Multipart& operator=(const Multipart&) = delete;

  bool started() const { return !upload_id_.empty(); }

  Status Begin() {
    Call call;
    call.method = "POST";
    call.key = key_;
    call.query = {{"uploads", ""}};
    call.headers = {{"Content-Type", c_->ContentTypeFor(key_)}};
    call.idempotent = false;  // a repeat would leave a second, orphaned upload
    VS_ASSIGN_OR_RETURN(Reply r, c_->Perform(call, "initiate multipart upload " + key_));
    upload_id_ = XmlValue(r.body, "UploadId");
    if (upload_id_.empty())
      return StoreError("S3 initiate multipart upload " + key_ + ": no UploadId");
    return {};
  }

  // Uploads the next part (re-sending it on transient failures: a part
  // number written twice keeps the last copy).
  Status UploadPart(const Body& body, std::string content_md5) {
    if (etags_.size() >= kMaxParts) {
      return MakeError(ErrorKind::kUnavailable, kStoreError,
                       "S3 upload of " + key_ + ": more than 10000 parts; raise part_size");
    }
    const int number = static_cast<int>(etags_.size()) + 1;
    Call call;
    call.method = "PUT";
    call.key = key_;
    call.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}};
    call.headers = {{"Content-MD5", std::move(content_md5)}};
    call.body = body;
    call.transfer = true;
    VS_ASSIGN_OR_RETURN(Reply r,
                        c_->Perform(call, "upload part " + std::to_string(number) + " of " + key_));
    const std::string etag = r.Header("etag");
    if (etag.empty()) return StoreError("S3 upload part of " + key_ + ": no ETag");
    etags_.push_back(Quoted(etag));
    return {};
  }

  Status Complete() {
    std::string xml = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags_.size(); ++i) {
      xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
             XmlText(etags_[i]) + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    Call call;
    call.method = "POST";
    call.key = key_;
    call.query = {{"uploadId", upload_id_}};
    call.headers = {{"Content-Type", "application/xml"}, {"Content-MD5", Md5Of(xml)}};
    call.body.memory = xml;
    // Completing twice fails the second time (NoSuchUpload) although the
    // object is in place; only unsent requests are repeated.
    call.idempotent = false;
    VS_ASSIGN_OR_RETURN(Reply r, c_->Perform(call, "complete multipart upload " + key_));
    // S3 may answer 200 and still report a failure in the body.
    if (r.body.find("<Error>") != std::string::npos)
      return Client::HttpError("complete multipart upload " + key_, r);
    upload_id_.clear();
    return {};
  }

  // Best effort: S3 keeps the parts of an abandoned upload (and bills them)
  // until aborted; a lifecycle rule should clean up what this misses.
  void Abort() {
    if (upload_id_.empty()) return;
    Call call;
    call.method = "DELETE";
    call.key = key_;
    call.query = {{"uploadId", upload_id_}};
    (void)c_->Perform(call, "abort multipart upload " + key_);
    upload_id_.clear();
  }

 private:
  std::shared_ptr<Client> c_;
  std::string key_;
  std::string upload_id_;
  std::vector<std::string> etags_;
};

Status PutSingle(Client& c, const std::string& key, const Body& body, std::string content_md5) {
  Call call;
  call.method = "PUT";
  call.key = key;
  call.headers = {{"Content-Type", c.ContentTypeFor(key)}, {"Content-MD5", std::move(content_md5)}};
  call.body = body;
  call.transfer = true;
  auto r = c.Perform(call, "PUT " + key);
  if (!r.ok()) return r.error();
  return {};
}

// ---------------------------------------------------------------- writer

// Buffers one part; a small object is one PUT at Commit, a larger one a
// multipart upload whose parts go out as the buffer fills.
class S3Writer final : public ObjectWriter {
 public:
  S3Writer(std::shared_ptr<Client> c, std::string key)
      : c_(std::move(c)), key_(std::move(key)), upload_(c_, key_) {}

  Status Write(const char* data, size_t size) override {
    if (failed_ || committed_) return StoreError("S3 writer for " + key_ + " is spent");
    const size_t part = static_cast<size_t>(c_->options().part_size);
    while (size > 0) {
      // A full buffer is sent only once more bytes follow, so an object of
      // exactly one part is still a single PUT.
      if (buffer_.size() == part) VS_TRY(FlushPart());
      const size_t take = std::min(size, part - buffer_.size());
      buffer_.append(data, take);
      data += take;
      size -= take;
      written_ += take;
    }
    return {};
  }

  uint64_t written() const override { return written_; }

  Status CommitIfAbsent() override {
    if (failed_ || committed_) return StoreError("S3 writer for " + key_ + " is spent");
    Call call;
    call.method = "HEAD";
    call.key = key_;
    auto head = c_->Perform(call, "HEAD " + key_);
    if (head.ok()) {
      failed_ = true;
      return MakeError(ErrorKind::kConflict, kObjectExists, "an object is already stored under " + key_);
    }
    if (head.error().kind != ErrorKind::kNotFound) return head.error();
    return Commit();
  }

  Status Commit() override {
    if (failed_ || committed_) return StoreError("S3 writer for " + key_ + " is spent");
    Status s;
    if (!upload_.started()) {
      Body b;
      b.memory = buffer_;
      s = PutSingle(*c_, key_, b, Md5Of(buffer_));
    } else {
      if (!buffer_.empty()) s = FlushPart();
      if (s.ok()) s = upload_.Complete();
    }
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
    committed_ = true;
    std::string().swap(buffer_);
    return {};
  }

 private:
  Status FlushPart() {
    Status s = upload_.started() ? Status() : upload_.Begin();
    if (s.ok()) {
      Body b;
      b.memory = buffer_;
      s = upload_.UploadPart(b, Md5Of(buffer_));
    }
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
    buffer_.clear();
    return {};
  }

  std::shared_ptr<Client> c_;
  std::string key_;
  Multipart upload_;  // aborted by its destructor unless completed
  std::string buffer_;
  uint64_t written_ = 0;
  bool failed_ = false;
  bool committed_ = false;
};

// ---------------------------------------------------------------- reader

// A ranged GET on its own thread, feeding a bounded buffer. A transfer cut
// off midway resumes from where it stopped (Range + If-Match, so the bytes
// cannot come from a replaced object). Destruction cancels the transfer.
class S3Reader final : public ObjectReader {
 public:
  S3Reader(std::shared_ptr<Client> c, std::string key, uint64_t offset,
           std::optional<uint64_t> length)
      : c_(std::move(c)), key_(std::move(key)), pos_(offset), remaining_(length) {}

  ~S3Reader() override {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // Starts the transfer and waits for its status: kNotFound and other
  // failures surface here, before the caller commits to a response.
  Status Start() {
    thread_ = std::thread([this] { Run(); });
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return started_ || done_; });
    if (done_ && !error_.ok()) return error_;
    return {};
  }

  Result<size_t> Read(char* buf, size_t cap) override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !buffer_.empty() || done_; });
    if (buffer_.empty()) {
      if (!error_.ok()) return error_.error();
      return size_t{0};
    }
    const size_t n = std::min(cap, buffer_.size());
    std::copy(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n), buf);
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    cv_.notify_all();
    return n;
  }

 private:
  void Run() {
    Status result = RunTransfer();
    std::lock_guard lock(mu_);
    error_ = result;
    done_ = true;
    cv_.notify_all();
  }

  Status RunTransfer() {
    const S3Options& o = c_->options();
    for (int attempt = 0;; ++attempt) {
      if (remaining_ && *remaining_ == 0) return {};
      Reply reply;
      uint64_t skip = 0;  // bytes to drop when a server ignores Range
      Call call;
      call.method = "GET";
      call.key = key_;
      call.transfer = true;
      call.accept = {416};
      if (pos_ > 0 || remaining_) {
        call.headers.emplace_back("Range",
                                  "bytes=" + std::to_string(pos_) + "-" +
                                      (remaining_ ? std::to_string(pos_ + *remaining_ - 1) : ""));
      }
      if (!etag_.empty()) call.headers.emplace_back("If-Match", etag_);
      call.cancelled = [this] {
        std::lock_guard lock(mu_);
        return cancelled_;
      };
      call.on_headers = [&](long status) {
        if (status == 200 && pos_ > 0) skip = pos_;
        if (etag_.empty()) etag_ = reply.Header("etag");
        if (status / 100 == 2) MarkStarted();
        // s3rver answers a range of an empty object with "bytes 0-0/0" and
        // a Content-Length of 1 it never sends: there is nothing to wait for.
        return !(status == 206 && reply.Header("content-range").ends_with("/0"));
      };
      call.sink = [&](const char* data, size_t n) {
        const size_t drop = static_cast<size_t>(std::min<uint64_t>(skip, n));
        skip -= drop;
        data += drop;
        n -= drop;
        // Some servers send more than the range asked for (s3rver answers
        // "bytes=0-0" with the whole object): stop at the range's end.
        if (remaining_) n = static_cast<size_t>(std::min<uint64_t>(n, *remaining_));
        if (n > 0 && !Push(data, n)) return false;
        pos_ += n;
        if (remaining_) *remaining_ -= n;
        return !(remaining_ && *remaining_ == 0);
      };
      // Not through Perform: a retry here resumes instead of restarting.
      const CURLcode rc = c_->Attempt(call, &reply);
      if (Cancelled()) return {};
      if (rc == CURLE_OK || reply.sink_stopped) {
        if (reply.status == 416) return {};  // the range starts at or past the end
        if (reply.status / 100 == 2) return {};
      }
      const bool transient = rc != CURLE_OK || reply.status >= 500 || reply.status == 429;
      if (transient && attempt < o.max_retries) {
        std::this_thread::sleep_for(
            std::chrono::milliseconds(resilience::BackoffMs(attempt + 1, 100, 2000)));
        continue;
      }
      if (rc != CURLE_OK) return StoreError("S3 GET " + key_ + ": " + reply.transport_error);
      if (reply.status == 412)
        return StoreError("S3 GET " + key_ + ": the object changed while being read");
      return Client::HttpError("GET " + key_, reply);
    }
  }

  void MarkStarted() {
    std::lock_guard lock(mu_);
    started_ = true;
    cv_.notify_all();
  }

  bool Cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  // Waits for room; false when the reader is being destroyed.
  bool Push(const char* data, size_t n) {
    std::unique_lock lock(mu_);
    while (n > 0) {
      cv_.wait(lock, [&] { return cancelled_ || buffer_.size() < kReaderBuffer; });
      if (cancelled_) return false;
      const size_t take = std::min(n, kReaderBuffer - buffer_.size());
      buffer_.insert(buffer_.end(), data, data + take);
      data += take;
      n -= take;
      cv_.notify_all();
    }
    return true;
  }

  std::shared_ptr<Client> c_;
  std::string key_;
  // Owned by the transfer thread.
  uint64_t pos_;
  std::optional<uint64_t> remaining_;
  std::string etag_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<char> buffer_;
  bool started_ = false;
  bool done_ = false;
  bool cancelled_ = false;
  Status error_;
  std::thread thread_;
};

// An empty range of an existing object.
class EmptyReader final : public ObjectReader {
 public:
  Result<size_t> Read(char*, size_t) override { return size_t{0}; }
};

// ---------------------------------------------------------------- store

class S3Store final : public ObjectStore {
 public:
  explicit S3Store(std::shared_ptr<Client> c) : c_(std::move(c)) {}

  Result<ObjectInfo> Stat(const std::string& key) override {
    VS_TRY(CheckKey(key));
    Call call;
    call.method = "HEAD";
    call.key = key;
    VS_ASSIGN_OR_RETURN(Reply r, c_->Perform(call, "HEAD " + key));
    ObjectInfo info;
    info.size = std::strtoull(r.Header("content-length").c_str(), nullptr, 10);
    info.etag = Quoted(r.Header("etag"));
    info.content_type = r.Header("content-type");
    const time_t t = curl_getdate(r.Header("last-modified").c_str(), nullptr);
    info.mtime_ms = t > 0 ? static_cast<int64_t>(t) * 1000 : 0;
    return info;
  }

  Result<std::unique_ptr<ObjectWriter>> OpenWriter(const std::string& key) override {
    VS_TRY(CheckKey(key));
    return std::unique_ptr<ObjectWriter>(new S3Writer(c_, key));
  }

  Result<std::unique_ptr<ObjectReader>> OpenReader(const std::string& key, uint64_t offset,
                                                   std::optional<uint64_t> length) override {
    VS_TRY(CheckKey(key));
    if (length && *length == 0) {
      VS_TRY(Stat(key));
      return std::unique_ptr<ObjectReader>(new EmptyReader());
    }
    auto reader = std::make_unique<S3Reader>(c_, key, offset, length);
    VS_TRY(reader->Start());
    return std::unique_ptr<ObjectReader>(std::move(reader));
  }

  Status PutFile(const std::string& key, const std::string& local_path, bool move) override {
    VS_TRY(CheckKey(key));
    const int fd = ::open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return StoreError("open " + local_path + ": " + strerror(errno));
    struct stat st {};
    Status s = ::fstat(fd, &st) == 0 ? Status() : Status(StoreError("stat " + local_path));
    if (s.ok()) s = Upload(key, fd, static_cast<uint64_t>(st.st_size));
    ::close(fd);
    if (s.ok() && move) ::unlink(local_path.c_str());
    return s;
  }

  Result<std::string> FetchToFile(const std::string& key,
                                  const std::string& scratch_path) override {
    VS_TRY(CheckKey(key));
    const int fd = ::open(scratch_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return StoreError("open " + scratch_path + ": " + strerror(errno));
    bool write_failed = false;
    Call call;
    call.method = "GET";
    call.key = key;
    call.transfer = true;
    call.on_attempt = [&] {
      if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) write_failed = true;
    };
    call.sink = [&](const char* data, size_t n) {
      while (n > 0 && !write_failed) {
        const ssize_t w = ::write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) write_failed = true;
        if (w > 0) {
          data += w;
          n -= static_cast<size_t>(w);
        }
      }
      return !write_failed;
    };
    auto r = c_->Perform(call, "GET " + key);
    const bool closed = ::close(fd) == 0;
    if (r.ok() && !write_failed && closed) return scratch_path;
    ::unlink(scratch_path.c_str());
    if (!r.ok()) return r.error();
    return StoreError("write " + scratch_path + ": " + strerror(errno));
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    VS_ASSIGN_OR_RETURN(const std::string dir, PrefixFolder(prefix, /*allow_root=*/true));
    std::vector<std::string> keys;
    std::string token;
    do {
      Call call;
      call.method = "GET";
      call.query = {{"list-type", "2"}};
      if (!dir.empty()) call.query.emplace_back("prefix", dir + "/");
      if (!token.empty()) call.query.emplace_back("continuation-token", token);
      VS_ASSIGN_OR_RETURN(Reply r, c_->Perform(call, "list " + (dir.empty() ? "/" : dir + "/")));
      for (auto& k : XmlValues(r.body, "Key")) keys.push_back(std::move(k));
      token = XmlValue(r.body, "IsTruncated") == "true" ? XmlValue(r.body, "NextContinuationToken")
                                                        : "";
    } while (!token.empty());
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Status Delete(const std::string& key) override {
    VS_TRY(CheckKey(key));
    return DeleteOne(key);
  }

  Status DeletePrefix(const std::string& prefix) override {
    VS_ASSIGN_OR_RETURN(const std::string dir, PrefixFolder(prefix, /*allow_root=*/false));
    VS_ASSIGN_OR_RETURN(const std::vector<std::string> keys, List(dir + "/"));
    for (size_t i = 0; i < keys.size(); i += kDeleteBatch) {
      const std::vector<std::string> batch(
          keys.begin() + static_cast<std::ptrdiff_t>(i),
          keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + kDeleteBatch)));
      VS_TRY(DeleteBatch(batch));
    }
    return {};
  }

  std::optional<std::string> LocalPath(const std::string&) override { return std::nullopt; }

  std::optional<std::string> PresignPut(const std::string& key, const std::string& content_type,
                                        int64_t ttl_s) override {
    if (!IsSafeKey(key)) return std::nullopt;
    Fields headers;
    if (!content_type.empty()) headers.emplace_back("content-type", content_type);
    return c_->Presign("PUT", key, std::move(headers), ttl_s);
  }

  std::optional<std::string> PresignGet(const std::string& key, int64_t ttl_s) override {
    if (!IsSafeKey(key)) return std::nullopt;
    return c_->Presign("GET", key, {}, ttl_s);
  }

  Status Check() override {
    Call call;
    call.method = "HEAD";
    auto r = c_->Perform(call, "HEAD bucket " + c_->options().bucket);
    if (!r.ok()) return r.error();
    return {};
  }

 private:
  // Also for listed keys that are not ours to name (foreign objects under a
  // prefix being removed).
  Status DeleteOne(const std::string& key) {
    Call call;
    call.method = "DELETE";
    call.key = key;
    call.accept = {404};
    VS_ASSIGN_OR_RETURN(Reply r, c_->Perform(call, "DELETE " + key));
    // S3 answers 204 for a missing key; some look-alikes say NoSuchKey.
    if (r.status == 404 && !XmlValue(r.body, "Code").empty() &&
        XmlValue(r.body, "Code") != "NoSuchKey") {
      return Client::HttpError("DELETE " + key, r);
    }
    return {};
  }

  Status Upload(const std::string& key, int fd, uint64_t size) {
    const S3Options& o = c_->options();
    if (size <= o.multipart_threshold) {
      VS_ASSIGN_OR_RETURN(std::string md5, Md5OfFile(fd, 0, size));
      Body b{{}, fd, 0, size};
      return PutSingle(*c_, key, b, std::move(md5));
    }
    // Larger parts when the configured size would need more than S3 allows.
    const uint64_t part = std::max<uint64_t>(o.part_size, (size + kMaxParts - 1) / kMaxParts);
    Multipart upload(c_, key);  // aborted on any early return
    VS_TRY(upload.Begin());
    for (uint64_t off = 0; off < size; off += part) {
      const uint64_t len = std::min<uint64_t>(part, size - off);
      VS_ASSIGN_OR_RETURN(std::string md5, Md5OfFile(fd, off, len));
      VS_TRY(upload.UploadPart(Body{{}, fd, off, len}, std::move(md5)));
    }
    return upload.Complete();
  }

  Status DeleteBatch(const std::vector<std::string>& keys) {
    std::string xml = "<Delete><Quiet>true</Quiet>";
    for (const auto& k : keys) xml += "<Object><Key>" + XmlText(k) + "</Key></Object>";
    xml += "</Delete>";
    Call call;
    call.method = "POST";
    call.query = {{"delete", ""}};
    call.headers = {{"Content-Type", "application/xml"}, {"Content-MD5", Md5Of(xml)}};
    call.body.memory = xml;
    call.accept = {400, 405, 411, 501};
    VS_ASSIGN_OR_RETURN(Reply r, c_->Perform(call, "delete objects"));
    if (r.status / 100 != 2) {
      // Some S3 look-alikes lack DeleteObjects: one DELETE per key instead.
      for (const auto& k : keys) VS_TRY(DeleteOne(k));
      return {};
    }
    if (r.body.find("<Error>") != std::string::npos) {
      return StoreError("S3 delete objects: " + XmlValue(r.body, "Key") + ": " +
                        XmlValue(r.body, "Code") + " " + XmlValue(r.body, "Message"));
    }
    return {};
  }

  std::shared_ptr<Client> c_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> NewS3Store(const S3Options& options) {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (options.bucket.empty()) return StoreError("S3 bucket is not set");
  if (options.region.empty()) return StoreError("S3 region is not set");
  if (options.access_key_id.empty() || options.secret_access_key.empty()) {
    return StoreError("S3 credentials are not set");
  }
  if (options.part_size == 0 || options.part_size > (5ull << 30)) {
    return StoreError("S3 part size must be between 1 byte and 5 GiB");
  }
  const std::string endpoint = options.endpoint.empty()
                                   ? "https://s3." + options.region + ".amazonaws.com"
                                   : options.endpoint;
  VS_ASSIGN_OR_RETURN(Endpoint api, ParseEndpoint(endpoint));
  VS_ASSIGN_OR_RETURN(
      Endpoint pub,
      ParseEndpoint(options.public_endpoint.empty() ? endpoint : options.public_endpoint));
  auto client = std::make_shared<Client>(options, std::move(api), std::move(pub));
  return std::unique_ptr<ObjectStore>(new S3Store(std::move(client)));
}

}  // namespace vs::store
