// Cluster key file: the secret every server of a cluster shares (sealing, and the
// backplane's frame MAC).
//
// Format: text, one key per line, the first line is the current key, further lines are
// previous keys still accepted for unsealing during a rotation. Blank lines and lines
// starting with '#' are ignored.
//     sessnic-key v1 <key_id> <64 hex digits>
// key_id is a decimal integer 0..4294967295. The file must be a regular file, at most
// 64 KiB, and must grant no permission to group or others (mode 0600 or 0400).
#pragma once
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "sessnic/seal.hpp"

namespace sessnic {

// Every refusal (missing, unreadable, group/world accessible, malformed) throws this,
// with the file name and the reason in what().
class KeyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Loads and checks a key file. Throws KeyFileError.
Keyring load_key_file(const std::filesystem::path& path);

// Writes a new key file holding one fresh random key (RAND_bytes) with `key_id`,
// followed by the keys of `previous` (kept for unsealing). Created with
// O_CREAT|O_EXCL, mode 0600: never overwrites. Throws KeyFileError.
void generate_key_file(const std::filesystem::path& path, uint32_t key_id, const Keyring* previous = nullptr);

// One key-file line for `key` (no newline).
std::string format_key_line(const ClusterKey& key);

}  // namespace sessnic
