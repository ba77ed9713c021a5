// visionsync: one binary, several roles (see README.md).
#include <CLI/CLI.hpp>

extern "C" {
#include <libavutil/log.h>
}

#include "app/media_commands.h"
#include "app/server_commands.h"

int main(int argc, char** argv) {
  av_log_set_level(AV_LOG_ERROR);
  CLI::App app{"VisionSync: self-hostable on-demand video platform"};
  app.require_subcommand(1);
  int exit_code = 0;
  vs::app::AddMediaCommands(app, &exit_code);
  vs::app::AddServerCommands(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
