// fake_api_server [--port N] [--bind ADDR] [--max-upload BYTES] [--delay-ms MS] [--sink]
// HttpFrontend + FakeBackend (real whitespace word counting, simulated shard progress): serves the web
// page without a cluster, for the browser test and for working on the page. Prints "listening on PORT".
#include "fake_backend.h"
#include "http/http_frontend.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("raftwc HTTP front end with a fake backend"));
    parser.addHelpOption();
    const QCommandLineOption portOpt(QStringLiteral("port"), QStringLiteral("TCP port (0 = any)"),
                                     QStringLiteral("port"), QStringLiteral("3000"));
    const QCommandLineOption bindOpt(QStringLiteral("bind"), QStringLiteral("address"),
                                     QStringLiteral("addr"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption maxOpt(QStringLiteral("max-upload"), QStringLiteral("largest body in bytes"),
                                    QStringLiteral("bytes"), QString::number(qint64(1) << 30));
    const QCommandLineOption delayOpt(QStringLiteral("delay-ms"), QStringLiteral("simulated counting time"),
                                      QStringLiteral("ms"), QStringLiteral("1500"));
    const QCommandLineOption sinkOpt(
        QStringLiteral("sink"), QStringLiteral("answer uploads at once without counting (measurements)"));
    parser.addOptions({portOpt, bindOpt, maxOpt, delayOpt, sinkOpt});
    parser.process(app);

    raftwc::http::testing::FakeBackend backend;
    backend.mode = raftwc::http::testing::FakeBackend::Mode::Simulated;
    backend.simulatedMs = parser.value(delayOpt).toInt();
    backend.keepUploads = false;
    backend.liveEvents = true;
    if (parser.isSet(sinkOpt)) {
        backend.useOverride = true;
        backend.overrideCount = raftwc::http::ApiReply::json(200, QJsonObject{{QStringLiteral("ok"), true}});
    }
    raftwc::http::HttpFrontend frontend(&backend);
    frontend.setMaxUpload(parser.value(maxOpt).toLongLong());
    QString error;
    if (!frontend.listen(QHostAddress(parser.value(bindOpt)), quint16(parser.value(portOpt).toUInt()),
                         &error)) {
        QTextStream(stderr) << "fake_api_server: cannot listen: " << error << '\n';
        return 1;
    }
    QTextStream(stdout) << "listening on " << frontend.port() << Qt::endl;
    return app.exec();
}
