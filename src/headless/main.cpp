// raftwc — the headless node. Placeholder until the node adapter lands.
#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("raftwc"));
    QTextStream(stdout) << QStringLiteral("raftwc %1\n").arg(QStringLiteral(PROJECT_VERSION_STR));
    return 0;
}
