#include "solana_pda.hpp"

#include <gtest/gtest.h>

namespace eventnode::plugins::meter {
namespace {

constexpr const char* kWrappedSol = "So11111111111111111111111111111111111111112";

// Vectors from tools/solana_sim/wire.js (an implementation of its own, in
// JavaScript BigInt arithmetic); the integration tests also have the ATA
// program itself accept these addresses when CreateIdempotent runs.
TEST(AssociatedTokenAddress, MatchesTheAddressesAnotherImplementationDerives) {
  struct Case {
    const char* wallet;
    const char* expected;
  };
  const Case cases[] = {
      {"11111111111111111111111111111111", "aqxoAhCwpy3oB1BpNw9hL1HdLYLgPpbPjzxDrrQj3Fs"},
      {"9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "8LjUgMjzZuHj8VdyxzkmLLQVmW4C3gd56md1nLd76TNW"},
      {"TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "5a7YdcqrFf8iT3QEuoH5uaKq9CUhyRAqNdagi1DiurEs"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(toBase58(associatedTokenAddress(publicKey(c.wallet), publicKey(kWrappedSol))), c.expected) << c.wallet;
  }
}

TEST(IsOnCurve, AcceptsEveryRealPublicKeyAndRefusesTheDerivedAddresses) {
  // Program ids of native programs are hashes, but these wallets are real Ed25519 keys.
  EXPECT_TRUE(isOnCurve(publicKey("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")));
  EXPECT_FALSE(isOnCurve(publicKey("8LjUgMjzZuHj8VdyxzkmLLQVmW4C3gd56md1nLd76TNW")));
  EXPECT_FALSE(isOnCurve(publicKey("aqxoAhCwpy3oB1BpNw9hL1HdLYLgPpbPjzxDrrQj3Fs")));
}

TEST(IsOnCurve, CountsPointsOutsideThePrimeOrderSubgroupAsOnTheCurve) {
  // y = 0 is the point (±sqrt(-1), 0), of order 4: on the curve, though
  // libsodium's is_valid_point refuses it; Solana's runtime accepts it as a key.
  PublicKey y_zero{};
  EXPECT_TRUE(isOnCurve(y_zero));
  // y = 1 is the identity.
  PublicKey identity{};
  identity[0] = 1;
  EXPECT_TRUE(isOnCurve(identity));
}

TEST(FindProgramAddress, ReturnsTheFirstBumpFromTheTop) {
  const PublicKey program = publicKey(kAssociatedTokenProgram);
  const std::uint8_t seed[] = {'m', 'e', 't', 'e', 'r'};
  const std::span<const std::uint8_t> seeds[] = {seed};
  const auto found = findProgramAddress(seeds, program);
  EXPECT_FALSE(isOnCurve(found.address));
  EXPECT_LE(found.bump, 255);
}

}  // namespace
}  // namespace eventnode::plugins::meter
