#include "solana_pda.hpp"

#include <openssl/bn.h>
#include <sodium.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace eventnode::plugins::meter {
namespace {

struct BnDeleter {
  void operator()(BIGNUM* n) const { BN_free(n); }
};
struct CtxDeleter {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;

Bn decimal(const char* text) {
  BIGNUM* n = nullptr;
  BN_dec2bn(&n, text);
  return Bn(n);
}

}  // namespace

// Not libsodium's crypto_core_ed25519_is_valid_point: besides "on the curve" it
// refuses small-order points and points outside the prime-order subgroup, which
// Solana's runtime counts as on the curve. A PDA found with it would now and then
// be an address the runtime refuses (about 7 bumps in 16 would be judged wrongly).
// The test here is the curve equation itself: with y from the low 255 bits,
// x^2 = (y^2 - 1) / (d y^2 + 1) must have a root mod p = 2^255 - 19 (Euler's criterion).
bool isOnCurve(const PublicKey& bytes) {
  static const Bn p = decimal("57896044618658097711785492504343953926634992332820282019728792003956564819949");
  static const Bn d = decimal("37095705934669439343138083508754565189542113879843219016388785533085940283555");
  static const Bn p_minus_2 = [] {
    Bn n(BN_dup(p.get()));
    BN_sub_word(n.get(), 2);
    return n;
  }();
  static const Bn euler = [] {  // (p - 1) / 2
    Bn n(BN_dup(p.get()));
    BN_sub_word(n.get(), 1);
    BN_rshift1(n.get(), n.get());
    return n;
  }();
  std::array<std::uint8_t, 32> big_endian{};
  std::reverse_copy(bytes.begin(), bytes.end(), big_endian.begin());
  big_endian[0] &= 0x7f;  // the top bit is the sign of x, not part of y
  std::unique_ptr<BN_CTX, CtxDeleter> ctx(BN_CTX_new());
  Bn y(BN_bin2bn(big_endian.data(), 32, nullptr)), y2(BN_new()), u(BN_new()), v(BN_new()), w(BN_new()), r(BN_new());
  BN_mod(y.get(), y.get(), p.get(), ctx.get());
  BN_mod_sqr(y2.get(), y.get(), p.get(), ctx.get());
  BN_copy(u.get(), y2.get());
  BN_sub_word(u.get(), 1);  // y^2 - 1 (y^2 = 0 gives -1: still fine mod p)
  BN_mod(u.get(), u.get(), p.get(), ctx.get());
  BN_mod_mul(v.get(), d.get(), y2.get(), p.get(), ctx.get());  // d y^2
  BN_add_word(v.get(), 1);
  BN_mod(v.get(), v.get(), p.get(), ctx.get());
  BN_mod_exp(w.get(), v.get(), p_minus_2.get(), p.get(), ctx.get());  // 1 / v
  BN_mod_mul(w.get(), w.get(), u.get(), p.get(), ctx.get());
  if (BN_is_zero(w.get())) return true;  // x = 0
  BN_mod_exp(r.get(), w.get(), euler.get(), p.get(), ctx.get());
  return BN_is_one(r.get());
}

ProgramAddress findProgramAddress(std::span<const std::span<const std::uint8_t>> seeds, const PublicKey& program) {
  static constexpr std::string_view kMarker = "ProgramDerivedAddress";
  for (int bump = 255; bump >= 0; --bump) {
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    for (const auto& seed : seeds) crypto_hash_sha256_update(&state, seed.data(), seed.size());
    const auto bump_byte = static_cast<std::uint8_t>(bump);
    crypto_hash_sha256_update(&state, &bump_byte, 1);
    crypto_hash_sha256_update(&state, program.data(), program.size());
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(kMarker.data()), kMarker.size());
    ProgramAddress found;
    crypto_hash_sha256_final(&state, found.address.data());
    if (!isOnCurve(found.address)) {
      found.bump = bump_byte;
      return found;
    }
  }
  throw std::runtime_error("no bump gives a program address off the curve");
}

PublicKey associatedTokenAddress(const PublicKey& wallet, const PublicKey& mint) {
  static const PublicKey token = publicKey(kTokenProgram);
  static const PublicKey ata_program = publicKey(kAssociatedTokenProgram);
  const std::span<const std::uint8_t> seeds[] = {wallet, token, mint};
  return findProgramAddress(seeds, ata_program).address;
}

}  // namespace eventnode::plugins::meter
