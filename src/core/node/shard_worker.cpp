// ShardWorker: counts one shard of a file for a coordinator (this node's or another's), from this node's own
// copy of the file in the log, on the thread pool, with progress notes. The file is stored, or (pipelined)
// still being stored: then the shard is counted from the chunks applied so far.

#include <QJsonObject>

#include "node/jobs.h"
#include "wordcount/wordcount.h"

namespace raftwc::node {

using wordcount::ShardCounts;

ShardWorker::ShardWorker(JobHost& host, QObject* parent) : QObject(parent), host_(host) {}

ShardWorker::~ShardWorker() {
    *alive_ = false;
}

void ShardWorker::handle(const ShardRequest& req, ProgressFn progress, std::function<void(ShardReply)> done) {
    host_.whenApplied(req.manifestIndex, 15000, [this, req, progress, done](bool applied) {
        if (!applied) {
            done(
                {false,
                 QStringLiteral("file not stored on this node in time (log index %1)").arg(req.manifestIndex),
                 {},
                 0});
            return;
        }
        run(req, progress, done);
    });
}

void ShardWorker::run(const ShardRequest& req, ProgressFn progressNote,
                      std::function<void(ShardReply)> answer) {
    // This node's own view of its shard, for its event stream.
    auto show = [this, req](std::uint64_t bytesDone, const char* state, std::uint32_t ms) {
        host_.reportShard(QJsonObject{{QStringLiteral("job"), QString::fromLatin1(req.jobId)},
                                      {QStringLiteral("offset"), qint64(req.shard.offset)},
                                      {QStringLiteral("length"), qint64(req.shard.length)},
                                      {QStringLiteral("bytesDone"), qint64(bytesDone)},
                                      {QStringLiteral("state"), QLatin1String(state)},
                                      {QStringLiteral("ms"), qint64(ms)}});
    };
    ProgressFn progress = [show, progressNote](const ShardProgressNote& n) {
        show(n.bytesDone, "running", 0);
        if (progressNote) progressNote(n);
    };
    std::function<void(ShardReply)> done = [show, answer, len = req.shard.length](ShardReply r) {
        show(r.ok ? len : 0, r.ok ? "done" : "failed", r.ms);
        answer(std::move(r));
    };
    show(0, "running", 0);
    // The stored file; or, pipelined, the chunks of it applied here so far (the coordinator says that
    // [0, knownEnd) is committed, so they are here once manifestIndex is applied).
    const StoredFile* stored = host_.state().file(req.fileId);
    StoredFile prefix;
    bool growing = false;
    if (!stored && req.knownEnd > 0) {
        prefix.id = req.fileId;
        for (const ChunkRef& c : host_.state().chunksOf(req.fileId)) {
            if (c.fileOffset != prefix.size) break;
            prefix.chunks.push_back(c);
            prefix.size += c.length;
        }
        if (prefix.size < req.knownEnd || (req.finalEnd && prefix.size != req.knownEnd)) {
            done({false,
                  QStringLiteral("only %1 bytes of file %2 are applied here, %3 expected")
                      .arg(prefix.size)
                      .arg(QString::fromLatin1(req.fileId.toHex()))
                      .arg(req.knownEnd),
                  {},
                  0});
            return;
        }
        growing = !req.finalEnd;
        stored = &prefix;
    }
    const StoredFile* file = stored;
    if (!file) {
        done({false, QStringLiteral("unknown file %1").arg(QString::fromLatin1(req.fileId.toHex())), {}, 0});
        return;
    }
    if (req.shard.offset > file->size || req.shard.length > file->size - req.shard.offset) {
        done({false,
              QStringLiteral("shard [%1, +%2) outside the file (%3 bytes)")
                  .arg(req.shard.offset)
                  .arg(req.shard.length)
                  .arg(file->size),
              {},
              0});
        return;
    }
    auto source = host_.fileSource(*file);
    const std::uint64_t fileSize = file->size;
    std::size_t expectedDistinct = 0;
    for (const auto& [job, n] : lastDistinct_)
        if (job == req.jobId) expectedDistinct = n;
    std::shared_ptr<std::atomic<bool>> alive = alive_;
    QPointer<ShardWorker> self(this);
    NodeEnv& env = host_.env();
    // Count in pieces so progress shows; merging pieces is exact whatever the cuts.
    env.offLoop([=, &env]() -> std::function<void()> {
        const qint64 startMs = env.nowMs();
        constexpr std::uint64_t kPiece = 16u << 20;
        ShardCounts acc;
        acc.mode = req.mode;
        std::string error;
        std::uint64_t done_ = 0;
        qint64 lastNote = startMs - 1000;
        while (done_ < req.shard.length || (req.shard.length == 0 && done_ == 0)) {
            if (!*alive) return {};
            const std::uint64_t n = std::min(kPiece, req.shard.length - done_);
            wordcount::CountOptions opt;
            opt.mode = req.mode;
            opt.growing = growing;
            opt.expectedDistinct = expectedDistinct;
            auto res = wordcount::countRange(*source, fileSize, {req.shard.offset + done_, n}, opt);
            if (!res.ok) {
                error = res.needsMore ? std::string(kNeedsMoreBytes) + ": " + res.error : res.error;
                break;
            }
            wordcount::mergeInto(acc, res.counts);
            done_ += n;
            if (req.shard.length == 0) break;
            if (env.nowMs() - lastNote >= 200 && done_ < req.shard.length) {
                lastNote = env.nowMs();
                ShardProgressNote note{req.jobId, req.shardNo, done_};
                env.post([self, note, progress] {
                    if (self && progress) progress(note);
                });
            }
        }
        auto reply = std::make_shared<ShardReply>();
        reply->ok = error.empty();
        reply->error = QString::fromStdString(error);
        reply->counts = std::move(acc);
        reply->ms = std::uint32_t(env.nowMs() - startMs);
        return [self, reply, done, n = req.shard.length, jobId = req.jobId]() {
            if (!self) return;
            if (reply->ok) {
                self->bytesCounted_ += n;
                ++self->shardsCounted_;
                auto& seen = self->lastDistinct_;
                std::erase_if(seen, [&](const auto& kv) { return kv.first == jobId; });
                seen.emplace_back(jobId, reply->counts.freq.size());
                if (seen.size() > 16) seen.erase(seen.begin());
            }
            done(std::move(*reply));
        };
    });
}

}  // namespace raftwc::node
