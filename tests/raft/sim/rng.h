// Deterministic pseudo-random numbers for the simulation: SplitMix64 to seed, xoshiro256** to draw.
// No std::random_device, no clock: the same seed always gives the same sequence on every platform.
#pragma once

#include <cstdint>

namespace raftwc::raftsim {

__extension__ typedef unsigned __int128 Uint128;

/// SplitMix64 step: also a good 64-bit mixing function for deriving sub-seeds.
inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// Mixes several values into one seed (order matters).
inline std::uint64_t mixSeed(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0) {
    std::uint64_t s = a;
    std::uint64_t x = splitmix64(s) ^ b;
    x = splitmix64(x) ^ c;
    return splitmix64(x);
}

/// xoshiro256** 1.0 (Blackman & Vigna), seeded through SplitMix64.
class Rng {
  public:
    explicit Rng(std::uint64_t seed = 1) {
        std::uint64_t sm = seed;
        for (auto& w : s_)
            w = splitmix64(sm);
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform in [0, n); n == 0 gives 0. (Lemire's multiply-shift; the tiny bias is irrelevant here.)
    std::uint64_t below(std::uint64_t n) {
        if (n == 0) return 0;
        return static_cast<std::uint64_t>((static_cast<Uint128>(next()) * n) >> 64);
    }
    /// Uniform in [lo, hi] (inclusive).
    std::uint64_t range(std::uint64_t lo, std::uint64_t hi) {
        return hi <= lo ? lo : lo + below(hi - lo + 1);
    }
    /// Uniform in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// True with probability p.
    bool chance(double p) { return p > 0 && uniform() < p; }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4] = {};
};

}  // namespace raftwc::raftsim
