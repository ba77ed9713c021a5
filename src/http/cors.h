// Cross-origin rules shared by the API and the realtime transports. The
// configured origin is FRONTEND_URL; empty or "*" means any origin. Pure
// functions; any thread.
#pragma once

#include <string_view>

#include "http/http.h"

namespace vs::http {

// For responses without credentials: Access-Control-Allow-Origin is the
// configured origin ("*" when any), with "Vary: Origin" when it names one.
Headers CorsHeaders(std::string_view configured_origin);

// For responses a credentialed request may read (socket.io-client's
// withCredentials, sticky-session cookies), where browsers refuse "*": an
// allowed Origin is echoed with Allow-Credentials; a foreign one gets the
// configured origin, which the browser then refuses.
Headers CredentialedCorsHeaders(const Request& req, std::string_view configured_origin);

// Access-Control-Allow-Origin: * (media files and their redirects, which any
// player may fetch).
void AllowAnyOrigin(Headers& h);

// The 204 answer to a preflight (OPTIONS): every method the API serves, the
// headers the browser asked for (or the ones the web UI sends), cached a day.
Response PreflightResponse(const Request& req);

// Whether a browser page from the request's Origin may use the server:
// no Origin (not a browser), any origin when the configured one is empty or
// "*", that origin itself, or the server's own origin (the web UI it serves).
bool OriginAllowed(const Request& req, std::string_view configured_origin);

}  // namespace vs::http
