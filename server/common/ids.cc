#include "server/common/ids.h"

#include <sys/random.h>
#include <uuid/uuid.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"

namespace evbus::common {
namespace {

// xoshiro256** seeded per thread from the kernel's CSPRNG (getrandom). Event
// and task ids need uniqueness, not secrecy; a syscall and libuuid's locked
// random() mixing per id were a measurable share of PutEvents' CPU.
class IdRandom {
 public:
  IdRandom() {
    size_t got = 0;
    auto* bytes = reinterpret_cast<unsigned char*>(s_);
    while (got < sizeof(s_)) {
      const ssize_t n = getrandom(bytes + got, sizeof(s_) - got, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got < sizeof(s_)) {
      // No getrandom: fall back to libuuid's own randomness.
      uuid_t raw[2];
      uuid_generate(raw[0]);
      uuid_generate(raw[1]);
      std::memcpy(s_, raw, sizeof(s_));
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace

std::string NewUuidV4() {
  thread_local IdRandom random;
  unsigned char raw[16];
  const uint64_t hi = random.Next();
  const uint64_t lo = random.Next();
  std::memcpy(raw, &hi, 8);
  std::memcpy(raw + 8, &lo, 8);
  raw[6] = static_cast<unsigned char>((raw[6] & 0x0f) | 0x40);  // version 4
  raw[8] = static_cast<unsigned char>((raw[8] & 0x3f) | 0x80);  // RFC 4122
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(36, '-');
  size_t pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    text[pos++] = kHex[raw[i] >> 4];
    text[pos++] = kHex[raw[i] & 0x0f];
  }
  return text;
}

bool IsUuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace evbus::common
