// `visionsync transcode` and `visionsync probe`: the media module behind a
// command line with machine-readable (JSON lines) output.
//
// Exit status: 0 success; 2 the input was rejected (the last stdout line is
// {"error":{"code":"...","message":"..."}}); 1 internal failure (same line).
// The lines of `transcode --progress json` are written with the codec in
// core/transcode_protocol.h; the worker reads them with the same codec.
#pragma once

#include <string>

#include <boost/json/value.hpp>

#include "core/result.h"
#include "core/transcode_protocol.h"
#include "media/probe.h"
#include "media/transcoder.h"

namespace CLI {
class App;
}

namespace vs::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitRejected = 2;

boost::json::value ToJson(const media::ProbeInfo& info);
transcode_protocol::DoneLine ToDoneLine(const media::TranscodeSummary& summary);
int ExitCodeFor(const Error& e);

// Registers the subcommands; each sets *exit_code when it runs.
void AddMediaCommands(CLI::App& app, int* exit_code);

}  // namespace vs::app
