// Appending JSON text directly to a string: for the few hot payloads (the
// video view in API answers and status events) where building a DOM first
// would cost more than the rest of the request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace boost::json {
class value;
}

namespace vs::json_text {

// "text" with the JSON escapes (quote, backslash, control characters).
void AppendString(std::string& out, std::string_view s);
// Shortest text that reads back as the same double ("42.5", "100", "0.1");
// null for NaN and infinities, which JSON cannot express.
void AppendNumber(std::string& out, double v);
void AppendInt(std::string& out, int64_t v);

// A Boost.JSON value as text, numbers written as AppendNumber does (Boost's
// own serializer prints 42.5 as 4.25E1). Object members keep their order.
std::string Serialize(const boost::json::value& v);
void AppendValue(std::string& out, const boost::json::value& v);

// An object written member by member: {"a":1,"b":"x"}.
class Object {
 public:
  explicit Object(std::string& out) : out_(out) { out_ += '{'; }
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  ~Object() { out_ += '}'; }

  Object& String(std::string_view key, std::string_view v) {
    Key(key);
    AppendString(out_, v);
    return *this;
  }
  Object& Number(std::string_view key, double v) {
    Key(key);
    AppendNumber(out_, v);
    return *this;
  }
  Object& Int(std::string_view key, int64_t v) {
    Key(key);
    AppendInt(out_, v);
    return *this;
  }
  Object& Null(std::string_view key) {
    Key(key);
    out_ += "null";
    return *this;
  }
  // null for an empty string (the API's "no value").
  Object& StringOrNull(std::string_view key, std::string_view v) {
    return v.empty() ? Null(key) : String(key, v);
  }
  // `json` must already be valid JSON text.
  Object& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_ += json;
    return *this;
  }
  // The key and its colon; the caller appends the value.
  std::string& Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    AppendString(out_, key);
    out_ += ':';
    return out_;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace vs::json_text
