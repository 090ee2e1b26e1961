// Server-Sent Events, incrementally: bytes in (any chunking), complete events out. Pure.
#pragma once

#include <QByteArray>
#include <QString>
#include <vector>

namespace raftwc::gui {

struct SseEvent {
    QString id;     ///< "" when the event has no id: line
    QString event;  ///< "message" when not given
    QByteArray data;
};

class SseParser {
  public:
    /// Feeds the next bytes; returns the events they complete, in order.
    std::vector<SseEvent> feed(QByteArrayView bytes);
    /// The last id: field seen (what a reconnect passes as Last-Event-ID).
    const QString& lastId() const { return lastId_; }
    /// Bytes held for an incomplete line (bounded: a line longer than kMaxLine is dropped).
    qsizetype pending() const { return line_.size(); }
    static constexpr qsizetype kMaxLine = 16 << 20;

  private:
    void takeLine(QByteArrayView line, std::vector<SseEvent>& out);
    QByteArray line_;
    bool skipLf_ = false;  // the previous chunk ended with CR: a following LF belongs to it
    bool overlong_ = false;
    SseEvent cur_;
    bool hasData_ = false;
    QString lastId_;
};

}  // namespace raftwc::gui
