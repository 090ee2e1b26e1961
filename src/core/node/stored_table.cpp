#include "node/stored_table.h"

#include "node/commands.h"
#include "node/job_codecs.h"

namespace raftwc::node {

std::uint64_t storedTableWords(const StoredJob& job) {
    // tableWords is the whole table's size; piece 0 holds what the other pieces do not.
    return std::uint64_t(std::max<qint64>(0, job.result.value(QStringLiteral("tableWords")).toInteger(0)));
}

std::shared_ptr<const std::vector<wordcount::WordCount>> TablePieceCache::get(const QByteArray& job,
                                                                              std::size_t piece) const {
    for (const Slot& s : slots_)
        if (s.piece == piece && s.job == job) return s.words;
    return nullptr;
}

void TablePieceCache::put(const QByteArray& job, std::size_t piece,
                          std::shared_ptr<const std::vector<wordcount::WordCount>> v) {
    if (slots_.size() == kSlots) slots_.erase(slots_.begin());
    slots_.push_back(Slot{job, piece, std::move(v)});
}

namespace {

std::optional<std::vector<wordcount::WordCount>> loadPiece(const StoredJob& job, std::size_t k,
                                                           const PayloadReader& read, QString* error) {
    if (k == 0) {  // in the JobResult entry itself
        const std::optional<QByteArray> payload = read(job.index);
        const auto cmd = payload ? decodeCommand(*payload) : std::nullopt;
        const auto* result = cmd ? std::get_if<JobResult>(&*cmd) : nullptr;
        if (!result || result->jobId != job.jobId) {
            *error = QStringLiteral("log index %1 does not hold the job's result").arg(job.index);
            return std::nullopt;
        }
        auto t = decodeWordTable(result->freqTable);
        if (!t) *error = QStringLiteral("stored table piece 0 does not decode");
        return t;
    }
    const TablePieceRef& ref = job.pieces[k - 1];
    const std::optional<QByteArray> payload = read(ref.index);
    if (!payload) {
        *error = QStringLiteral("table piece %1 (log index %2) cannot be read").arg(k).arg(ref.index);
        return std::nullopt;
    }
    const auto cmd = decodeCommand(*payload);
    const auto* piece = cmd ? std::get_if<JobTablePiece>(&*cmd) : nullptr;
    if (!piece || piece->jobId != job.jobId || piece->piece != k) {
        *error = QStringLiteral("log index %1 does not hold table piece %2").arg(ref.index).arg(k);
        return std::nullopt;
    }
    auto t = decodeWordTable(piece->table);
    if (!t || t->size() != piece->entries) {
        *error = QStringLiteral("table piece %1 does not decode").arg(k);
        return std::nullopt;
    }
    return t;
}

}  // namespace

StoredWordsPage storedWordsPage(const StoredJob& job, std::size_t offset, std::size_t limit,
                                const PayloadReader& read, TablePieceCache* cache) {
    StoredWordsPage page;
    auto piece = [&](std::size_t k) -> std::shared_ptr<const std::vector<wordcount::WordCount>> {
        if (auto hit = cache ? cache->get(job.jobId, k) : nullptr) return hit;
        auto loaded = loadPiece(job, k, read, &page.error);
        if (!loaded) return nullptr;
        auto words = std::make_shared<const std::vector<wordcount::WordCount>>(std::move(*loaded));
        if (cache) cache->put(job.jobId, k, words);
        return words;
    };
    // Piece 0's size: what the whole table has beyond the other pieces; with no other pieces (one piece,
    // or a result stored before tables had pieces) piece 0 itself says.
    std::uint64_t rest = 0;
    for (const TablePieceRef& p : job.pieces)
        rest += p.entries;
    std::shared_ptr<const std::vector<wordcount::WordCount>> first;
    std::uint64_t firstCount;
    if (job.pieces.empty()) {
        first = piece(0);
        if (!first) return page;
        firstCount = first->size();
    } else {
        const std::uint64_t total = storedTableWords(job);
        firstCount = total >= rest ? total - rest : 0;
    }
    page.stored = firstCount + rest;
    std::uint64_t start = 0;  // table position of piece k's first word
    for (std::size_t k = 0; k <= job.pieces.size() && page.words.size() < limit; ++k) {
        const std::uint64_t n = k == 0 ? firstCount : job.pieces[k - 1].entries;
        if (start + n > offset && n > 0) {
            const auto words = k == 0 && first ? first : piece(k);
            if (!words) return page;
            const std::size_t from = offset > start ? std::size_t(offset - start) : 0;
            for (std::size_t i = from; i < words->size() && page.words.size() < limit; ++i)
                page.words.push_back((*words)[i]);
        }
        start += n;
    }
    return page;
}

}  // namespace raftwc::node
