// libFuzzer target (optional: configure with clang++ and -DRAFTWC_NET_LIBFUZZER=ON).
// The first input byte picks the decoder, the rest is its input. Aborts on a crash (sanitizers),
// on a non-canonical decode, or if a frame passes the mac check without having been sealed with it.
#include <cstdint>
#include <cstdlib>

#include "net/address.h"
#include "net/frame.h"
#include "net/messages.h"

using namespace raftwc::net;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const QByteArray in(reinterpret_cast<const char*>(data + 1), static_cast<qsizetype>(size - 1));
    static const QByteArray key = QByteArrayLiteral("libfuzzer key");
    switch (data[0] % 8) {
        case 0:
            if (auto m = decodeRaftMessage(in)) check(encodeRaftMessage(*m) == in);
            break;
        case 1:
            if (auto p = decodeProbe(in)) check(encodeProbe(*p) == in);
            break;
        case 2:
            if (auto a = decodeAnnounce(in)) check(encodeAnnounce(*a) == in);
            break;
        case 3:
            if (auto h = decodeHello(in)) check(encodeHello(*h) == in);
            break;
        case 4:
            if (auto e = decodeAppEnvelope(in)) check(encodeAppEnvelope(*e) == in);
            break;
        case 5: {
            const OpenResult r = verifyFrame(in, Channel::Datagram, key);
            if (r.ok()) check(sealFrame(r.frame->header, r.frame->payload, key) == in);
            break;
        }
        case 6: {
            DropReason why = DropReason::Truncated;
            const qsizetype n = FrameAuth::streamFrameSize(in, &why);
            check(n >= -1);
            FrameAuth auth(AuthConfig{{}, 1, 1, kDefaultMaxAgeMs, 64, 16});
            StreamState st;
            auth.openStreamFrame(in, 0, st);
            break;
        }
        default:
            parseHostPortList(QString::fromUtf8(in));
            defaultRouteInterfaceFrom(in);
            break;
    }
    return 0;
}
