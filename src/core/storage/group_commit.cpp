#include "storage/group_commit.h"

#include <cerrno>

namespace raftwc::storage {

GroupCommitWriter::GroupCommitWriter(SegmentedLog& log, Options options) : log_(log), opt_(options) {
    thread_ = std::thread([this] { run(); });
}

GroupCommitWriter::~GroupCommitWriter() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

void GroupCommitWriter::submit(std::vector<raft::Entry> entries, Callback done) {
    {
        std::lock_guard lk(mu_);
        queue_.push_back(Submission{std::move(entries), std::move(done)});
    }
    cv_.notify_one();
}

std::uint64_t GroupCommitWriter::batchCount() const {
    std::lock_guard lk(mu_);
    return batches_;
}

void GroupCommitWriter::run() {
    std::vector<Submission> batch;
    std::vector<Submission> rejected;
    std::vector<Status> rejectReasons;
    std::vector<Record> records;
    for (;;) {
        batch.clear();
        rejected.clear();
        rejectReasons.clear();
        {
            std::unique_lock lk(mu_);
            cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and drained
            std::size_t bytes = 0;
            while (!queue_.empty() && (batch.empty() || bytes < opt_.maxBatchBytes)) {
                for (const raft::Entry& e : queue_.front().entries)
                    bytes += e.data.size();
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        // Admit submissions that continue the log; reject the others individually.
        records.clear();
        std::vector<Submission> admitted;
        raft::Index next = log_.lastIndex() + 1;
        raft::Term term = log_.lastTerm();
        for (Submission& s : batch) {
            std::string why;
            if (s.entries.empty()) {
                admitted.push_back(std::move(s));
                continue;
            }
            raft::Index expect = next;
            raft::Term t = term;
            for (const raft::Entry& e : s.entries) {
                if (e.index != expect) {
                    why = "index " + std::to_string(e.index) + " does not follow index " +
                          std::to_string(expect - 1);
                    break;
                }
                if (e.term < t) {
                    why = "entry " + std::to_string(e.index) + " has a lower term than its predecessor";
                    break;
                }
                t = e.term;
                ++expect;
            }
            if (!why.empty()) {
                rejectReasons.push_back(Status::error("group commit: submission rejected: " + why, EINVAL));
                rejected.push_back(std::move(s));
                continue;
            }
            for (const raft::Entry& e : s.entries)
                records.push_back(Record{e.type, e.term, e.index, e.data});
            next = expect;
            term = t;
            admitted.push_back(std::move(s));
        }
        const Status st = log_.append(records);
        {
            std::lock_guard lk(mu_);
            if (!records.empty()) ++batches_;
        }
        for (Submission& s : admitted)
            if (s.done) s.done(st);
        for (std::size_t i = 0; i < rejected.size(); ++i)
            if (rejected[i].done) rejected[i].done(rejectReasons[i]);
    }
}

}  // namespace raftwc::storage
