#include "net/log.h"

namespace raftwc::net {
Q_LOGGING_CATEGORY(lcNet, "raftwc.net")
}
