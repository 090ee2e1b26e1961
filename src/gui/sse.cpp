#include "sse.h"

namespace raftwc::gui {

std::vector<SseEvent> SseParser::feed(QByteArrayView bytes) {
    std::vector<SseEvent> out;
    qsizetype i = 0;
    if (skipLf_ && !bytes.isEmpty() && bytes[0] == '\n') i = 1;
    skipLf_ = false;
    while (i < bytes.size()) {
        qsizetype j = i;
        while (j < bytes.size() && bytes[j] != '\n' && bytes[j] != '\r')
            ++j;
        if (j == bytes.size()) {  // no line end yet
            if (!overlong_) {
                line_.append(bytes.sliced(i).data(), bytes.size() - i);
                if (line_.size() > kMaxLine) {
                    overlong_ = true;
                    line_.clear();
                }
            }
            break;
        }
        if (!overlong_) {
            line_.append(bytes.sliced(i, j - i).data(), j - i);
            takeLine(line_, out);
        }
        line_.clear();
        overlong_ = false;
        if (bytes[j] == '\r') {
            if (j + 1 < bytes.size()) {
                if (bytes[j + 1] == '\n') ++j;
            } else {
                skipLf_ = true;
            }
        }
        i = j + 1;
    }
    return out;
}

void SseParser::takeLine(QByteArrayView line, std::vector<SseEvent>& out) {
    if (line.isEmpty()) {  // dispatch
        if (hasData_) {
            if (cur_.data.endsWith('\n')) cur_.data.chop(1);
            if (cur_.event.isEmpty()) cur_.event = QStringLiteral("message");
            out.push_back(std::move(cur_));
        }
        cur_ = SseEvent{};
        cur_.id = lastId_;
        hasData_ = false;
        return;
    }
    if (line[0] == ':') return;  // comment
    qsizetype colon = line.indexOf(':');
    QByteArrayView field = colon < 0 ? line : line.first(colon);
    QByteArrayView value = colon < 0 ? QByteArrayView() : line.sliced(colon + 1);
    if (!value.isEmpty() && value[0] == ' ') value = value.sliced(1);
    if (field == "data") {
        cur_.data.append(value.data(), value.size());
        cur_.data.append('\n');
        hasData_ = true;
    } else if (field == "event") {
        cur_.event = QString::fromUtf8(value);
    } else if (field == "id") {
        if (!value.contains('\0')) {
            lastId_ = QString::fromUtf8(value);
            cur_.id = lastId_;
        }
    }  // retry and unknown fields: ignored
}

}  // namespace raftwc::gui
