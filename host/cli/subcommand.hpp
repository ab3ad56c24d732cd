// How a `sessnic` subcommand plugs into the CLI: one registration function per
// subcommand, in its own file, listed once in main.cpp's kSubcommands.
#pragma once
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

namespace sessnic::cli {

// A registered subcommand: its CLI11 node and what runs when the user picked it.
// run() returns the process exit code; exceptions it throws are printed as errors.
struct Subcommand {
  CLI::App* app;
  std::function<int()> run;
};

// Adds one subcommand (options bound to state captured by `run`) to `root`.
using Registrar = Subcommand (*)(CLI::App& root);

Subcommand register_keygen(CLI::App& root);  // keygen.cpp
Subcommand register_cluster(CLI::App& root);  // cluster_up.cpp: `cluster up CONFIG`
Subcommand register_stats(CLI::App& root);    // stats.cpp
Subcommand register_card(CLI::App& root);     // card.cpp: `card info|selftest`

}  // namespace sessnic::cli
