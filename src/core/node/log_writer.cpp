#include "node/log_writer.h"

#include <memory>

#include "storage/raft_log_store.h"

namespace raftwc::node {

LogWriter::LogWriter(Persist persist, Post post, Done done)
    : persist_(std::move(persist)), post_(std::move(post)), done_(std::move(done)) {}

LogWriter::LogWriter(storage::RaftLogStore& store, Post post, Done done)
    : LogWriter(
          [&store](std::optional<raft::Snapshot> snap, std::optional<raft::HardState> hs,
                   std::vector<raft::Entry> entries, std::function<void(const storage::Status&)> cb) {
              store.persistAsync(std::move(snap), std::move(hs), std::move(entries), std::move(cb));
          },
          std::move(post), std::move(done)) {}

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
    // The store may call back on its writer thread: hop to the owner's thread. `post` is a copy, so the
    // callback never touches this object from the writer thread.
    Post post = post_;
    persist_(std::move(rd.snapshot), std::move(rd.hardState), std::move(rd.entries),
             [post, finish](const storage::Status& st) { post([finish, st] { finish(st); }); });
}

}  // namespace raftwc::node
