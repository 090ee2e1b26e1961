// Error results of the durable log: a Status (ok or an error message with errno) and Result<T>.
#pragma once

#include <cassert>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace raftwc::storage {

/// Outcome of an operation: ok, or an error with a human-readable message naming the file involved
/// and, for system-call failures, the errno value.
class [[nodiscard]] Status {
  public:
    Status() = default;  ///< ok
    static Status error(std::string message, int sysErrno = 0) {
        Status s;
        s.failed_ = true;
        s.message_ = std::move(message);
        s.errno_ = sysErrno;
        return s;
    }
    bool ok() const { return !failed_; }
    const std::string& message() const { return message_; }
    int sysErrno() const { return errno_; }

  private:
    bool failed_ = false;
    int errno_ = 0;
    std::string message_;
};

/// A value or an error Status.
template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Status error) : status_(std::move(error)) { assert(!status_.ok()); }  // NOLINT
    bool ok() const { return value_.has_value(); }
    const Status& status() const { return status_; }
    T& value() { return *value_; }
    const T& value() const { return *value_; }
    T take() { return std::move(*value_); }

  private:
    std::optional<T> value_;
    Status status_;
};

enum class LogLevel { Debug, Info, Warning, Error };
/// Diagnostics sink. May be empty (messages are dropped). Called on the thread doing the operation.
using Logger = std::function<void(LogLevel, std::string_view)>;

}  // namespace raftwc::storage
