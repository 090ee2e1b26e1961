// raftwc — the headless node: options, logging, signals; everything else is in src/core.
#include <QCoreApplication>
#include <QProcessEnvironment>
#include <QTextStream>
#include <csignal>

#include "ctl.h"
#include "node/logging.h"
#include "node/node.h"
#include "node/options.h"
#include "node/signals.h"
#include "recover.h"

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("raftwc"));
    QCoreApplication::setApplicationVersion(QStringLiteral(PROJECT_VERSION_STR));
    // Until the options are read: text at info, to stderr (journald priorities when it is the journal).
    const bool journald = qEnvironmentVariableIsSet("JOURNAL_STREAM");
    raftwc::node::installLogging({QtInfoMsg, raftwc::node::LogFormat::Text, journald});

    QStringList args = QCoreApplication::arguments().mid(1);
    if (!args.isEmpty() && args.first() == QLatin1String("ctl")) return raftwc::ctl::run(args.mid(1));
    if (!args.isEmpty() && args.first() == QLatin1String("recover")) return raftwc::recover::run(args.mid(1));
    if (args.contains(QStringLiteral("--help")) || args.contains(QStringLiteral("-h"))) {
        QTextStream(stdout) << raftwc::node::helpText();
        return 0;
    }
    if (args.contains(QStringLiteral("--version"))) {
        QTextStream(stdout) << QStringLiteral("raftwc %1\n").arg(QCoreApplication::applicationVersion());
        return 0;
    }
    auto parsed = raftwc::node::parseOptions(args, QProcessEnvironment::systemEnvironment());
    if (auto* err = std::get_if<QString>(&parsed)) {
        QTextStream(stderr) << QStringLiteral("raftwc: %1\n").arg(*err);
        return 2;
    }
    const raftwc::node::NodeOptions options = std::get<raftwc::node::NodeOptions>(parsed);
    QtMsgType minLevel = QtInfoMsg;
    raftwc::node::parseLogLevel(options.logLevel, &minLevel);
    raftwc::node::installLogging({minLevel,
                                  options.logFormat == QLatin1String("json") ? raftwc::node::LogFormat::Json
                                                                             : raftwc::node::LogFormat::Text,
                                  journald});
    for (const QString& w : options.warnings)
        qWarning().noquote() << "raftwc:" << w;

    raftwc::node::Node node(options);
    QObject::connect(&node, &raftwc::node::Node::identified, &app, &raftwc::node::setLogNodeId);
    QString error;
    if (!node.start(&error)) {
        qCritical().noquote() << "raftwc: cannot start:" << error;
        return 1;
    }

    // An unrecoverable storage error (disk full or I/O error while persisting): the node cannot vote or
    // acknowledge what it could not write, so it exits non-zero (a supervisor restarts it once fixed).
    QObject::connect(&node, &raftwc::node::Node::fatalError, &app,
                     [](const QString&) { QCoreApplication::exit(3); });

    bool stopping = false;
    // SIGTERM/SIGINT → graceful shutdown from the event loop; SIGHUP logged and ignored.
    const bool routed = raftwc::node::routeSignals(&app, {SIGTERM, SIGINT, SIGHUP}, [&](int c) {
        if (c == SIGHUP) {
            qInfo(
                "SIGHUP: ignored (the node logs to stderr; there is no log file to reopen and no "
                "configuration to reload; restart the node to change options)");
            return;
        }
        if (stopping) {
            qWarning("second signal: exiting now");
            QCoreApplication::exit(1);
            return;
        }
        stopping = true;
        qInfo("signal %d: shutting down (leadership transfer if leader, flush)", int(c));
        node.shutdown([] { QCoreApplication::exit(0); });
    });
    if (!routed) {
        qCritical("cannot route signals (socketpair failed)");
        return 1;
    }
    return app.exec();
}
