#include "node/table_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QCryptographicHash>
#include <cstring>

#include "storage/crc32c.h"

namespace raftwc::node {

namespace {

constexpr char kMagic[8] = {'R', 'W', 'C', 'T', 'B', 'L', '1', '\0'};
constexpr std::size_t kRecord = 24;   // u64 index, u64 offset, u32 length, u32 crc
constexpr std::size_t kTrailer = 16;  // u32 n, u32 crc, magic

void put32(QByteArray& b, std::uint32_t v) {
    b.append(reinterpret_cast<const char*>(&v), 4);
}
void put64(QByteArray& b, std::uint64_t v) {
    b.append(reinterpret_cast<const char*>(&v), 8);
}
template <class T>
T get(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

bool preadAll(int fd, char* out, std::size_t n, std::uint64_t at) {
    while (n > 0) {
        const ssize_t r = ::pread(fd, out, n, off_t(at));
        if (r <= 0) return false;
        out += r;
        n -= std::size_t(r);
        at += std::uint64_t(r);
    }
    return true;
}

}  // namespace

storage::Status writeTableFile(storage::BlobStore::Writer& w,
                               const std::map<raft::Index, QByteArray>& payloads) {
    if (storage::Status s = w.append(kMagic, sizeof kMagic); !s.ok()) return s;
    QByteArray footer;
    std::uint64_t at = sizeof kMagic;
    for (const auto& [index, payload] : payloads) {
        if (storage::Status s = w.append(payload.constData(), std::size_t(payload.size())); !s.ok()) return s;
        put64(footer, index);
        put64(footer, at);
        put32(footer, std::uint32_t(payload.size()));
        put32(footer, storage::crc32c(payload.constData(), std::size_t(payload.size())));
        at += std::uint64_t(payload.size());
    }
    const std::uint32_t crc = storage::crc32c(footer.constData(), std::size_t(footer.size()));
    put32(footer, std::uint32_t(payloads.size()));
    put32(footer, crc);
    footer.append(kMagic, sizeof kMagic);
    return w.append(footer.constData(), std::size_t(footer.size()));
}

std::string tableFileName(const QByteArray& jobId) {
    return QCryptographicHash::hash(jobId, QCryptographicHash::Sha256).toStdString();
}

std::unique_ptr<TableFile> TableFile::open(const std::string& path, QString* why) {
    auto bad = [why](const QString& reason) -> std::unique_ptr<TableFile> {
        if (why) *why = reason;
        return nullptr;
    };
    std::unique_ptr<TableFile> t(new TableFile);
    t->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (t->fd_ < 0) return bad(QStringLiteral("cannot open %1").arg(QString::fromStdString(path)));
    struct stat st {};
    if (::fstat(t->fd_, &st) != 0 || std::uint64_t(st.st_size) < sizeof kMagic + kTrailer)
        return bad(QStringLiteral("too short"));
    const std::uint64_t size = std::uint64_t(st.st_size);
    char trailer[kTrailer];
    char head[sizeof kMagic];
    if (!preadAll(t->fd_, trailer, kTrailer, size - kTrailer) || !preadAll(t->fd_, head, sizeof head, 0) ||
        std::memcmp(trailer + 8, kMagic, 8) != 0 || std::memcmp(head, kMagic, 8) != 0)
        return bad(QStringLiteral("not a table file"));
    const std::uint32_t n = get<std::uint32_t>(trailer);
    if (std::uint64_t(n) * kRecord > size - sizeof kMagic - kTrailer)
        return bad(QStringLiteral("bad record count"));
    QByteArray footer(qsizetype(n * kRecord), Qt::Uninitialized);
    const std::uint64_t footerAt = size - kTrailer - std::uint64_t(footer.size());
    if (!preadAll(t->fd_, footer.data(), std::size_t(footer.size()), footerAt) ||
        storage::crc32c(footer.constData(), std::size_t(footer.size())) != get<std::uint32_t>(trailer + 4))
        return bad(QStringLiteral("damaged footer"));
    for (std::uint32_t i = 0; i < n; ++i) {
        const char* p = footer.constData() + i * kRecord;
        Slot s{get<std::uint64_t>(p + 8), get<std::uint32_t>(p + 16), get<std::uint32_t>(p + 20)};
        if (s.offset < sizeof kMagic || s.offset > footerAt || s.length > footerAt - s.offset)
            return bad(QStringLiteral("a record points outside the file"));
        t->slots_[get<std::uint64_t>(p)] = s;
    }
    return t;
}

TableFile::~TableFile() {
    if (fd_ >= 0) ::close(fd_);
}

std::optional<QByteArray> TableFile::read(raft::Index index) const {
    const auto it = slots_.find(index);
    if (it == slots_.end()) return std::nullopt;
    QByteArray out(qsizetype(it->second.length), Qt::Uninitialized);
    if (!preadAll(fd_, out.data(), std::size_t(out.size()), it->second.offset) ||
        storage::crc32c(out.constData(), std::size_t(out.size())) != it->second.crc)
        return std::nullopt;
    return out;
}

}  // namespace raftwc::node
