// Log lines of a raftwc process: date, time and zone, the node id, the level, the message — as text (one
// line each, with journald priority prefixes when stderr is the journal) or as JSON objects (one per line).
// Qt's message handler is process-wide by nature; installLogging() sets it once, from main().
#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QString>
#include <QtGlobal>

namespace raftwc::node {

enum class LogFormat { Text, Json };

struct LogSettings {
    QtMsgType minLevel = QtInfoMsg;  ///< QtDebugMsg < QtInfoMsg < QtWarningMsg < QtCriticalMsg
    LogFormat format = LogFormat::Text;
    bool journald = false;  ///< prefix "<priority>" (stderr is connected to the journal: JOURNAL_STREAM)
};

/// One line, as a value (what formatLogLine renders).
struct LogLine {
    QDateTime time;
    QtMsgType type = QtInfoMsg;
    QString nodeId;  ///< empty until the node knows its id
    QString category;
    QString message;
};

/// "info" → QtInfoMsg etc.; false for an unknown name.
bool parseLogLevel(const QString& name, QtMsgType* out);
/// True if `type` is at least as severe as `min` (Qt's enum is not ordered by severity).
bool logLevelPasses(QtMsgType type, QtMsgType min);
/// The bytes of one line, newline included. Pure.
QByteArray formatLogLine(const LogLine& line, const LogSettings& settings);

/// Installs the process's message handler with these settings (stderr, flushed per line).
void installLogging(const LogSettings& settings);
/// The node id every later line carries (16 hex digits, as everywhere else).
void setLogNodeId(const QString& id);

}  // namespace raftwc::node
