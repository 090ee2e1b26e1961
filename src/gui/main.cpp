// raftwc-dashboard — placeholder window until the dashboard issue.
#include <QApplication>
#include <QLabel>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QLabel label(QStringLiteral("raftwc dashboard — coming with the dashboard issue"));
    label.setMinimumSize(480, 120);
    label.setAlignment(Qt::AlignCenter);
    label.show();
    return app.exec();
}
