// Local kernel reference for the cluster end-to-end benchmark: counts one file on this machine with the
// same kernel the nodes use (countRange, single thread, read with pread), no cluster, no network.
// Usage: cluster_kernel_ref FILE [--mode normalized|raw|none] [--reps N]
// Prints one JSON line: {"bytes":..., "words":..., "lines":..., "distinct":..., "mode":...,
//                        "seconds": best wall seconds of N, "all": [wall seconds of each repetition]}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "wordcount/wordcount.h"

using namespace raftwc::wordcount;

int main(int argc, char** argv) {
    std::string path;
    FreqMode mode = FreqMode::Normalized;
    const char* modeName = "normalized";
    int reps = 1;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--mode") && i + 1 < argc) {
            modeName = argv[++i];
            if (!std::strcmp(modeName, "normalized")) {
                mode = FreqMode::Normalized;
            } else if (!std::strcmp(modeName, "raw")) {
                mode = FreqMode::Raw;
            } else if (!std::strcmp(modeName, "none")) {
                mode = FreqMode::None;
            } else {
                std::fprintf(stderr, "unknown mode %s (normalized, raw or none)\n", modeName);
                return 2;
            }
        } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = std::atoi(argv[++i]);
            if (reps < 1 || reps > 100) {
                std::fprintf(stderr, "--reps must be 1..100\n");
                return 2;
            }
        } else if (argv[i][0] != '-' && path.empty()) {
            path = argv[i];
        } else {
            std::fprintf(stderr, "usage: %s FILE [--mode normalized|raw|none] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    if (path.empty()) {
        std::fprintf(stderr, "usage: %s FILE [--mode normalized|raw|none] [--reps N]\n", argv[0]);
        return 2;
    }
    FileByteSource src(path);
    if (!src.isOpen()) {
        std::fprintf(stderr, "%s\n", src.error().c_str());
        return 1;
    }
    CountOptions opt;
    opt.mode = mode;
    std::vector<double> all;
    CountResult r;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        r = countRange(src, src.size(), ShardSpec{0, src.size()}, opt);
        all.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (!r.ok) {
            std::fprintf(stderr, "count failed: %s\n", r.error.c_str());
            return 1;
        }
    }
    std::string list;
    for (double s : all)
        list += (list.empty() ? "" : ", ") + std::to_string(s);
    std::printf(
        "{\"bytes\": %llu, \"words\": %llu, \"lines\": %llu, \"distinct\": %zu, "
        "\"mode\": \"%s\", \"seconds\": %.6f, \"all\": [%s]}\n",
        static_cast<unsigned long long>(src.size()), static_cast<unsigned long long>(r.counts.words),
        static_cast<unsigned long long>(r.counts.lines), r.counts.freq.size(), modeName,
        *std::min_element(all.begin(), all.end()), list.c_str());
    return 0;
}
