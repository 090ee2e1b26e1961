#include "node/log_writer.h"

#include <memory>

#include "storage/raft_log_store.h"

namespace raftwc::node {

LogWriter::LogWriter(storage::RaftLogStore& store, Post post, Done done)
    : store_(store), post_(std::move(post)), done_(std::move(done)) {}

void LogWriter::submit(raft::Ready rd) {
    if (failed_) return;
    ++inFlight_;
    auto written =
        std::make_shared<WrittenReady>(WrittenReady{std::move(rd.messagesAfterPersist), rd.persistToken});
    auto finish = [this, written](const storage::Status& st) {
        --inFlight_;
        if (failed_) return;  // a write before this one failed: the node is stopping
        if (!st.ok()) failed_ = true;
        done_(std::move(*written), st);
    };
    // The store calls back on its writer thread: hop to the owner's thread. `post` is a copy, so the
    // callback never touches this object from the writer thread.
    Post post = post_;
    store_.persistAsync(std::move(rd.hardState), std::move(rd.entries),
                        [post, finish](const storage::Status& st) { post([finish, st] { finish(st); }); });
}

}  // namespace raftwc::node
