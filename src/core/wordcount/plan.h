// Shard planning: cuts a file into contiguous ranges and assigns them to nodes round-robin.
#pragma once

#include <cstdint>
#include <vector>

#include "wordcount/wordcount.h"

namespace raftwc::wordcount {

struct PlanOptions {
    std::uint32_t shardsPerNode = 2;           ///< Target shards per node (>= 1).
    std::uint64_t minShardBytes = 8ull << 20;  ///< No shard smaller than this unless the file is.
    std::uint64_t alignment = 64 * 1024;       ///< Cut points are multiples of this when >= 1.
};

struct ShardAssignment {
    std::uint32_t index = 0;  ///< 0..n-1 in file order.
    ShardSpec spec;
    std::uint64_t node = 0;  ///< One of the given node ids (raft::NodeId).

    bool operator==(const ShardAssignment&) const = default;
};

/// Contiguous shards that cover [0, fileSize) exactly once, in file order, assigned round-robin to
/// nodes. An empty file gives one empty shard [0, 0). No nodes gives an empty plan.
std::vector<ShardAssignment> planShards(std::uint64_t fileSize, const std::vector<std::uint64_t>& nodes,
                                        const PlanOptions& options = {});

}  // namespace raftwc::wordcount
