// Logging category of the net layer ("raftwc.net").
#pragma once

#include <QLoggingCategory>

namespace raftwc::net {
Q_DECLARE_LOGGING_CATEGORY(lcNet)
}
