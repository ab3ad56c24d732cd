// `sessnic keygen FILE [--key-id N] [--previous OLD]`: writes a new cluster key file
// (format: docs/driver.md). Never overwrites; with --previous the old file's keys are
// kept after the new one so servers can still unseal sessions during a rotation.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "sessnic/key_file.hpp"
#include "subcommand.hpp"

namespace sessnic::cli {

Subcommand register_keygen(CLI::App& root) {
  struct Args {
    std::string path;
    std::optional<uint32_t> key_id;
    std::string previous;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = root.add_subcommand("keygen", "write a new cluster key file (mode 0600, never overwrites)");
  cmd->add_option("file", args->path, "key file to create")->required();
  cmd->add_option("--key-id", args->key_id, "id of the new key (default: 1, or previous max + 1)");
  cmd->add_option("--previous", args->previous, "current key file whose keys stay accepted for unsealing")
      ->check(CLI::ExistingFile);
  return {cmd, [args] {
            std::optional<Keyring> previous;
            uint32_t id = args->key_id.value_or(1);
            if (!args->previous.empty()) {
              previous.emplace(load_key_file(args->previous));
              if (!args->key_id) {
                uint32_t max_id = 0;
                for (const auto& k : previous->keys()) max_id = std::max(max_id, k.id);
                id = max_id + 1;
              }
            }
            generate_key_file(args->path, id, previous ? &*previous : nullptr);
            fmt::print("wrote cluster key id {} to {} (mode 0600){}\n", id, args->path,
                       previous ? fmt::format(", keeping {} previous key(s)", previous->keys().size()) : "");
            return 0;
          }};
}

}  // namespace sessnic::cli
