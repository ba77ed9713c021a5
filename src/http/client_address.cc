#include "http/client_address.h"

#include <string_view>

namespace vs::http {

std::string ClientAddress(const Request& req, bool trust_proxy) {
  if (trust_proxy) {
    std::string_view xff = req.headers.Get("X-Forwarded-For");
    std::string_view first = xff.substr(0, xff.find(','));
    while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
    while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
    if (!first.empty() && first.size() < 64) return std::string(first);
  }
  return req.remote_addr;
}

}  // namespace vs::http
