// `visionsync serve` (API + realtime + web UI + embedded workers),
// `visionsync api` (the same without workers) and `visionsync worker`
// (workers only, sharing the database and storage).
#pragma once

namespace CLI {
class App;
}

namespace vs::app {

void AddServerCommands(CLI::App& app, int* exit_code);

}  // namespace vs::app
