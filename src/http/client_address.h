// The address a request came from, for rate limits and per-address caps.
// Pure functions; any thread.
#pragma once

#include <string>

#include "http/http.h"

namespace vs::http {

// The first X-Forwarded-For entry when the proxy in front is trusted
// (TRUST_PROXY), else the peer address. An entry that is empty or 64
// characters and longer is ignored.
std::string ClientAddress(const Request& req, bool trust_proxy);

}  // namespace vs::http
