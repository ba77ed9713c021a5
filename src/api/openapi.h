// The OpenAPI 3.1 description of the HTTP routes (src/api/openapi.json,
// compiled into the binary by src/api/CMakeLists.txt) that
// GET /api/openapi.json serves. Thread-safe: it is a constant.
#pragma once

#include <string_view>

namespace vs::api {

// The document as JSON text; valid for the life of the program.
std::string_view OpenApiJson();

}  // namespace vs::api
