// libFuzzer target over port 3000's socket-level readers (optional, clang++ only; see CMakeLists.txt):
// RequestReader and MultipartStream on arbitrary bytes, whole and split at a fuzzer-chosen point. Never
// a crash, never a step past the input, and the same requests, bodies and verdict however the bytes are
// split (a difference aborts, so libFuzzer reports it).
#include <QByteArray>
#include <QList>

#include <cstdint>
#include <cstdlib>

#include "http/multipart.h"
#include "http/request_reader.h"

using namespace raftwc::http;

namespace {

struct Seen {
    QList<QByteArray> heads;  // method + target of each head
    QList<QByteArray> bodies;
    int ends = 0;
    int status = 0;  // of a rejection
};

void feed(RequestReader& r, QByteArray& pending, QByteArrayView bytes, Seen& seen) {
    pending.append(bytes.data(), bytes.size());
    qsizetype pos = 0;
    for (int guard = 0; guard < 1000000 && seen.status == 0; ++guard) {
        const auto e = r.next(QByteArrayView(pending).sliced(pos));
        if (e.consumed < 0 || e.consumed > pending.size() - pos) abort();
        pos += e.consumed;
        using K = RequestReader::Event::Kind;
        if (e.kind == K::NeedMore) {
            if (e.consumed == 0) break;
        } else if (e.kind == K::Head) {
            if (e.consumed <= 0) abort();  // a head always consumes its bytes
            seen.heads.append(e.head.method + ' ' + e.head.target);
            seen.bodies.append(QByteArray());
        } else if (e.kind == K::Body) {
            if (e.body.isEmpty() || seen.bodies.isEmpty()) abort();
            seen.bodies.last().append(e.body.data(), e.body.size());
        } else if (e.kind == K::End) {
            ++seen.ends;
        } else {
            if (e.status < 400 || e.status > 599) abort();
            seen.status = e.status;
        }
    }
    pending.remove(0, pos);
}

Seen readAll(QByteArrayView data, qsizetype cut) {
    RequestReader r(StreamLimits{4096, 1024, 16});
    QByteArray pending;
    Seen seen;
    feed(r, pending, data.first(cut), seen);
    if (seen.status == 0) feed(r, pending, data.sliced(cut), seen);
    return seen;
}

QByteArray multipart(QByteArrayView data, qsizetype cut, bool* ok) {
    MultipartStream m("b0undary");
    QByteArray file;
    auto sink = [&](QByteArrayView v) { file.append(v.data(), v.size()); };
    auto s1 = m.feed(data.first(cut), sink);
    bool good = s1.ok;
    if (good) good = m.feed(data.sliced(cut), sink).ok;
    QString error;
    *ok = good && m.finish(&error);
    return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size < 1) return 0;
    const QByteArrayView data(reinterpret_cast<const char*>(bytes + 1), qsizetype(size - 1));
    const qsizetype cut = data.isEmpty() ? 0 : qsizetype(bytes[0]) % (data.size() + 1);
    const Seen whole = readAll(data, data.size());
    const Seen split = readAll(data, cut);
    if ((whole.status != 0) != (split.status != 0) || whole.ends != split.ends) abort();
    if (whole.status == 0 && (whole.heads != split.heads || whole.bodies != split.bodies)) abort();
    bool okWhole = false, okSplit = false;
    const QByteArray a = multipart(data, data.size(), &okWhole);
    const QByteArray b = multipart(data, cut, &okSplit);
    if (okWhole != okSplit || (okWhole && a != b)) abort();
    return 0;
}
