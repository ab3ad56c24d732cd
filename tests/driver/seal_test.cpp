// Sealing: AES-256-GCM blobs bound to session id, ctx and expiry.
#include <gtest/gtest.h>

#include <algorithm>

#include "sessnic/seal.hpp"

namespace sessnic {
namespace {

ClusterKey key(uint32_t id, uint8_t fill) {
  std::array<uint8_t, 32> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(fill + i);
  return ClusterKey(id, b);
}

const std::vector<uint8_t> kSid(32, 0xAB);
const std::vector<uint8_t> kPlain = [] {
  std::vector<uint8_t> v(130);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i);
  return v;
}();
constexpr uint32_t kNow = 1'700'000'000;
constexpr uint32_t kExpiry = kNow + 300;

// A blob of kPlain bound to (kSid, 4), expiring at kExpiry: in the current format, no
// plaintext left in it, and it opens to kPlain.
void expect_sealed_plain(Sealer& s, const std::vector<uint8_t>& blob) {
  ASSERT_EQ(blob.size(), kPlain.size() + Sealer::kOverhead);
  EXPECT_EQ(blob[0], Sealer::kFormatVersion);
  EXPECT_EQ(std::search(blob.begin(), blob.end(), kPlain.begin() + 10, kPlain.begin() + 30), blob.end());
  const Unsealed u = s.unseal(blob, {kSid, 4}, kNow);
  ASSERT_TRUE(u.ok()) << to_string(u.error);
  EXPECT_EQ(u.plain, kPlain);
  EXPECT_EQ(u.expiry, kExpiry);
}

TEST(Seal, RoundTrip) {
  Sealer s(Keyring(key(1, 0)));
  const auto blob = s.seal(kPlain, {kSid, 4}, kExpiry);
  ASSERT_NO_FATAL_FAILURE(expect_sealed_plain(s, blob));
  EXPECT_EQ(s.counters().sealed, 1u);
  EXPECT_EQ(s.counters().opened, 1u);
}

// The in-place form (attach()'s store: i2d_SSL_SESSION writes straight into the blob)
// makes the same blob format: seal() opens it, and it opens like seal()'s.
TEST(Seal, InPlaceIsTheSameFormat) {
  Sealer s(Keyring(key(1, 0)));
  std::vector<uint8_t> blob = Sealer::blob_for(kPlain.size());
  ASSERT_EQ(blob.size(), kPlain.size() + Sealer::kOverhead);
  ASSERT_EQ(Sealer::plain_of(blob).size(), kPlain.size());
  std::copy(kPlain.begin(), kPlain.end(), Sealer::plain_of(blob).begin());
  ASSERT_TRUE(s.seal_in_place(blob, {kSid, 4}, kExpiry));
  // The plaintext was encrypted where it was: nothing of it is left.
  ASSERT_NO_FATAL_FAILURE(expect_sealed_plain(s, blob));
  EXPECT_FALSE(s.unseal(blob, {kSid, 5}, kNow).ok());  // bound to its ctx like any blob
}

// A buffer too short for a blob, or a binding the format cannot carry, is refused and
// the buffer wiped (it may hold a plaintext).
TEST(Seal, InPlaceRefusalWipesTheBuffer) {
  Sealer s(Keyring(key(1, 0)));
  std::vector<uint8_t> short_buf(Sealer::kOverhead - 1, 0x77);
  EXPECT_TRUE(Sealer::plain_of(short_buf).empty());
  EXPECT_FALSE(s.seal_in_place(short_buf, {kSid, 4}, kExpiry));
  EXPECT_EQ(std::count(short_buf.begin(), short_buf.end(), 0), static_cast<long>(short_buf.size()));
  std::vector<uint8_t> blob = Sealer::blob_for(kPlain.size());
  std::copy(kPlain.begin(), kPlain.end(), Sealer::plain_of(blob).begin());
  const std::vector<uint8_t> long_id(256, 0x01);
  EXPECT_FALSE(s.seal_in_place(blob, {long_id, 4}, kExpiry));
  EXPECT_EQ(std::count(blob.begin(), blob.end(), 0), static_cast<long>(blob.size()));
  EXPECT_EQ(s.counters().sealed, 0u);
}

TEST(Seal, NoncesDiffer) {
  Sealer s(Keyring(key(1, 0)));
  EXPECT_NE(s.seal(kPlain, {kSid, 4}, kExpiry), s.seal(kPlain, {kSid, 4}, kExpiry));
}

TEST(Seal, EveryTamperedByteIsRejected) {
  Sealer s(Keyring(key(1, 0)));
  const auto blob = s.seal(kPlain, {kSid, 4}, kExpiry);
  for (size_t i = 0; i < blob.size(); ++i) {
    auto bad = blob;
    bad[i] ^= 0x01;
    const Unsealed u = s.unseal(bad, {kSid, 4}, kNow);
    EXPECT_FALSE(u.ok()) << "byte " << i;
    EXPECT_TRUE(u.plain.empty());
    // Byte 0 is the format, 1..4 the key id; everything else fails authentication.
    const UnsealError want = i == 0 ? UnsealError::bad_format : i < 5 ? UnsealError::unknown_key : UnsealError::auth_failed;
    EXPECT_EQ(u.error, want) << "byte " << i;
  }
  EXPECT_EQ(s.counters().rejected_total(), blob.size());
  EXPECT_EQ(s.counters().opened, 0u);
}

TEST(Seal, TruncatedIsRejected) {
  Sealer s(Keyring(key(1, 0)));
  const auto blob = s.seal(kPlain, {kSid, 4}, kExpiry);
  for (size_t n : {size_t{0}, size_t{1}, Sealer::kOverhead - 1})
    EXPECT_EQ(s.unseal(std::span(blob.data(), n), {kSid, 4}, kNow).error, UnsealError::truncated);
  // Cut inside the ciphertext: the tag no longer matches.
  EXPECT_EQ(s.unseal(std::span(blob.data(), blob.size() - 1), {kSid, 4}, kNow).error, UnsealError::auth_failed);
  const auto c = s.counters();
  EXPECT_EQ(c.rejected[static_cast<size_t>(UnsealError::truncated)], 3u);
}

TEST(Seal, BindingToSessionIdAndCtx) {
  Sealer s(Keyring(key(1, 0)));
  const auto blob = s.seal(kPlain, {kSid, 4}, kExpiry);
  auto other = kSid;
  other[31] ^= 1;
  EXPECT_EQ(s.unseal(blob, {other, 4}, kNow).error, UnsealError::auth_failed);
  EXPECT_EQ(s.unseal(blob, {kSid, 5}, kNow).error, UnsealError::auth_failed);
  EXPECT_EQ(s.unseal(blob, {std::span(kSid.data(), 31), 4}, kNow).error, UnsealError::auth_failed);
}

TEST(Seal, ExpiredIsRejectedAfterAuthentication) {
  Sealer s(Keyring(key(1, 0)));
  const auto blob = s.seal(kPlain, {kSid, 4}, kExpiry);
  EXPECT_TRUE(s.unseal(blob, {kSid, 4}, kExpiry - 1).ok());
  EXPECT_EQ(s.unseal(blob, {kSid, 4}, kExpiry).error, UnsealError::expired);
  // Moving the expiry forward in the header breaks the tag.
  auto later = blob;
  later[5 + 3] ^= 0x01;
  EXPECT_EQ(s.unseal(later, {kSid, 4}, kNow).error, UnsealError::auth_failed);
}

TEST(Seal, WrongKeyAndUnknownKeyId) {
  Sealer d(Keyring(key(1, 0)));
  Sealer same_id_other_bytes(Keyring(key(1, 99)));
  Sealer other_id(Keyring(key(2, 0)));
  const auto blob = d.seal(kPlain, {kSid, 4}, kExpiry);
  EXPECT_EQ(same_id_other_bytes.unseal(blob, {kSid, 4}, kNow).error, UnsealError::auth_failed);
  EXPECT_EQ(other_id.unseal(blob, {kSid, 4}, kNow).error, UnsealError::unknown_key);
}

TEST(Seal, PreviousKeyOpensDuringRotation) {
  Sealer old_server(Keyring(key(1, 0)));
  Sealer rotated(Keyring(key(2, 50), {key(1, 0)}));
  const auto old_blob = old_server.seal(kPlain, {kSid, 4}, kExpiry);
  EXPECT_TRUE(rotated.unseal(old_blob, {kSid, 4}, kNow).ok());
  const auto new_blob = rotated.seal(kPlain, {kSid, 4}, kExpiry);
  EXPECT_EQ(new_blob[1], 2);  // sealed with the current key
  EXPECT_EQ(old_server.unseal(new_blob, {kSid, 4}, kNow).error, UnsealError::unknown_key);
}

TEST(Seal, DuplicateKeyIdsAreRefused) {
  EXPECT_THROW(Keyring(key(1, 0), {key(1, 5)}), std::invalid_argument);
}

TEST(Seal, BadFormatVersion) {
  Sealer s(Keyring(key(1, 0)));
  auto blob = s.seal(kPlain, {kSid, 4}, kExpiry);
  blob[0] = 2;
  EXPECT_EQ(s.unseal(blob, {kSid, 4}, kNow).error, UnsealError::bad_format);
}

}  // namespace
}  // namespace sessnic
