#include "node/logging.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QMutex>
#include <cstdio>
#include <cstdlib>

namespace raftwc::node {

namespace {

int severity(QtMsgType t) {
    switch (t) {
        case QtDebugMsg:
            return 0;
        case QtInfoMsg:
            return 1;
        case QtWarningMsg:
            return 2;
        case QtCriticalMsg:
            return 3;
        case QtFatalMsg:
            return 4;
    }
    return 1;
}

const char* levelName(QtMsgType t) {
    switch (t) {
        case QtDebugMsg:
            return "debug";
        case QtInfoMsg:
            return "info";
        case QtWarningMsg:
            return "warning";
        case QtCriticalMsg:
            return "error";
        case QtFatalMsg:
            return "fatal";
    }
    return "info";
}

// syslog priorities, as journald reads them from a "<N>" prefix.
int priority(QtMsgType t) {
    switch (t) {
        case QtDebugMsg:
            return 7;
        case QtInfoMsg:
            return 6;
        case QtWarningMsg:
            return 4;
        case QtCriticalMsg:
            return 3;
        case QtFatalMsg:
            return 2;
    }
    return 6;
}

struct Logging {
    QMutex mutex;  // worker threads log too
    LogSettings settings;
    QString nodeId;
};
Logging& logging() {
    static Logging l;
    return l;
}

void handler(QtMsgType type, const QMessageLogContext& context, const QString& message) {
    Logging& l = logging();
    QMutexLocker lock(&l.mutex);
    if (!logLevelPasses(type, l.settings.minLevel) && type != QtFatalMsg) return;
    LogLine line{QDateTime::currentDateTime(), type, l.nodeId,
                 context.category && qstrcmp(context.category, "default") != 0
                     ? QString::fromLatin1(context.category)
                     : QString(),
                 message};
    const QByteArray bytes = formatLogLine(line, l.settings);
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stderr);
    std::fflush(stderr);
    if (type == QtFatalMsg) std::abort();
}

}  // namespace

bool parseLogLevel(const QString& name, QtMsgType* out) {
    const QString n = name.trimmed().toLower();
    if (n == QLatin1String("debug"))
        *out = QtDebugMsg;
    else if (n == QLatin1String("info"))
        *out = QtInfoMsg;
    else if (n == QLatin1String("warning") || n == QLatin1String("warn"))
        *out = QtWarningMsg;
    else if (n == QLatin1String("error"))
        *out = QtCriticalMsg;
    else
        return false;
    return true;
}

bool logLevelPasses(QtMsgType type, QtMsgType min) {
    return severity(type) >= severity(min);
}

QByteArray formatLogLine(const LogLine& line, const LogSettings& settings) {
    const QString time = line.time.toOffsetFromUtc(line.time.offsetFromUtc()).toString(Qt::ISODateWithMs);
    QByteArray out;
    if (settings.format == LogFormat::Json) {
        QJsonObject o{
            {QStringLiteral("time"), time},
            {QStringLiteral("level"), QLatin1String(levelName(line.type))},
            {QStringLiteral("node"), line.nodeId.isEmpty() ? QJsonValue() : QJsonValue(line.nodeId)},
            {QStringLiteral("msg"), line.message}};
        if (!line.category.isEmpty()) o.insert(QStringLiteral("category"), line.category);
        out = QJsonDocument(o).toJson(QJsonDocument::Compact);
    } else {
        static const char* const pad[] = {"DEBUG", "INFO ", "WARN ", "ERROR", "FATAL"};
        QString msg = line.message;
        msg.replace(QLatin1Char('\n'), QLatin1String("\\n"));  // one event, one line
        out = time.toLatin1() + ' ' + (line.nodeId.isEmpty() ? QByteArray("-") : line.nodeId.toLatin1()) +
              ' ' + pad[severity(line.type)] + ' ' +
              (line.category.isEmpty() ? QByteArray() : line.category.toUtf8() + ": ") + msg.toUtf8();
    }
    if (settings.journald) out.prepend('<' + QByteArray::number(priority(line.type)) + '>');
    out += '\n';
    return out;
}

void installLogging(const LogSettings& settings) {
    {
        QMutexLocker lock(&logging().mutex);
        logging().settings = settings;
    }
    qInstallMessageHandler(handler);
}

void setLogNodeId(const QString& id) {
    QMutexLocker lock(&logging().mutex);
    logging().nodeId = id;
}

}  // namespace raftwc::node
