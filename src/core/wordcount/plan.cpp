#include "wordcount/plan.h"

#include <algorithm>

namespace raftwc::wordcount {

std::vector<ShardAssignment> planShards(std::uint64_t fileSize, const std::vector<std::uint64_t>& nodes,
                                        const PlanOptions& options) {
    std::vector<ShardAssignment> plan;
    if (nodes.empty()) return plan;
    const std::uint64_t perNode = std::max<std::uint32_t>(1, options.shardsPerNode);
    const std::uint64_t minBytes = std::max<std::uint64_t>(1, options.minShardBytes);
    const std::uint64_t align = std::max<std::uint64_t>(1, options.alignment);
    std::uint64_t n =
        std::min<std::uint64_t>(nodes.size() * perNode, std::max<std::uint64_t>(1, fileSize / minBytes));
    n = std::min<std::uint64_t>(n, 1u << 20);
    const std::uint64_t q = fileSize / n, r = fileSize % n;
    std::uint64_t prev = 0;
    for (std::uint64_t i = 1; i <= n; ++i) {
        // i * fileSize / n without overflow, rounded down to the alignment (the last cut is the end).
        std::uint64_t cut = fileSize;
        if (i < n) {
            cut = q * i + (r * i) / n;
            cut -= cut % align;
        }
        if (cut <= prev && !(fileSize == 0 && plan.empty())) continue;
        ShardAssignment a;
        a.index = static_cast<std::uint32_t>(plan.size());
        a.spec = ShardSpec{prev, cut - prev};
        a.node = nodes[plan.size() % nodes.size()];
        plan.push_back(a);
        prev = cut;
    }
    return plan;
}

}  // namespace raftwc::wordcount
