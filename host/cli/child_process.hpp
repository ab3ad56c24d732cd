// Starting and describing the processes `sessnic cluster up` supervises.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace sessnic::cli {

// Starts argv[0] with argv. The child gets its own process group, so a terminal's Ctrl-C
// reaches only the supervisor (which stops children in order: dispatcher drains first),
// and SIGTERM when the supervisor dies, so no child outlives it. Throws on fork failure;
// an exec failure shows up as exit status 127.
pid_t start_child(const std::vector<std::string>& argv);

// "exited with status 1", "killed by signal 9 (Killed)".
std::string describe_exit(int wait_status);

// sessnic-dispatch / sessnic-server: next to `sessnic` when installed, in sibling folders
// of the build tree; $SESSNIC_BIN_DIR and $PATH are tried too. Throws when not found.
std::filesystem::path find_program(const std::string& name);

}  // namespace sessnic::cli
