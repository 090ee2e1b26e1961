#include "node/retention.h"

#include <algorithm>

namespace raftwc::node {

std::vector<QByteArray> expiredJobs(const StateMachine& sm, const RetentionLimits& limits, qint64 nowWallMs) {
    std::vector<QByteArray> out;
    qint64 kept = 0;
    qint64 keptBytes = 0;
    for (const StoredJob* j : sm.jobs()) {  // newest first
        const StoredFile* f = sm.fileForJob(j->jobId);
        const qint64 size = f ? qint64(f->size) : 0;
        bool expired = limits.files > 0 && kept >= limits.files;
        // (The newest job stays whatever its size: a file over the limit is not deleted as it is answered.)
        expired = expired || (limits.bytes > 0 && kept > 0 && keptBytes + size > limits.bytes);
        if (!expired && limits.ageMs > 0)
            expired = j->createdAtMs >= 0 && nowWallMs - j->createdAtMs > limits.ageMs;
        if (expired) {
            out.push_back(j->jobId);
        } else {
            ++kept;
            keptBytes += size;
        }
    }
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
}

}  // namespace raftwc::node
