// Small helpers shared by the RaftCore implementation files (internal to the library).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace raftwc::raft::detail {

inline std::string str(std::uint64_t v) {
    return std::to_string(v);
}

inline std::string_view ccTypeName(ConfChangeType t) {
    switch (t) {
        case ConfChangeType::AddLearner:
            return "add learner";
        case ConfChangeType::PromoteLearner:
            return "promote learner";
        case ConfChangeType::RemoveNode:
            return "remove node";
        case ConfChangeType::AddVoter:
            return "add voter";
    }
    return "unknown change";
}

inline constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

}  // namespace raftwc::raft::detail
