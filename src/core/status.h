// Status and Result<T>: the error type of everything that touches files, requests, user
// parameters or device allocation. Invariant violations use UNI_CHECK (check.h) instead.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace unicorn {

enum class StatusCode {
    kOk = 0,
    kInvalidArgument,    // bad user input: flags, request fields, shapes
    kNotFound,           // missing file, tensor or key
    kIoError,            // the OS refused a read/write/mmap
    kCorrupt,            // a file's bytes contradict its own format
    kUnsupported,        // valid, but outside what this build handles (type, architecture, op)
    kOutOfRange,         // a value outside what the engine can hold
    kResourceExhausted,  // memory, KV cache, queue
    kDeviceError,        // a backend failed at run time
    kInternal,
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status ok_status() { return {}; }
    bool ok() const { return code_ == StatusCode::kOk; }
    StatusCode code() const { return code_; }
    const std::string& message() const { return message_; }
    // "corrupt: tensor 'x' ends past the file" style, for one-line user errors.
    std::string to_string() const;
    // Prefixes context: "loading model.gguf: " + message.
    Status with_context(const std::string& context) const;

  private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
};

inline Status ok_status() { return {}; }
Status invalid_argument(std::string message);
Status not_found(std::string message);
Status io_error(std::string message);
Status corrupt(std::string message);
Status unsupported(std::string message);
Status out_of_range(std::string message);
Status resource_exhausted(std::string message);
Status device_error(std::string message);
Status internal_error(std::string message);

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
    Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
        if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result from OK status");
    }

    bool ok() const { return std::holds_alternative<T>(v_); }
    Status status() const { return ok() ? Status() : std::get<Status>(v_); }
    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    std::variant<T, Status> v_;
};

}  // namespace unicorn

#define UNI_CONCAT_INNER_(a, b) a##b
#define UNI_CONCAT_(a, b) UNI_CONCAT_INNER_(a, b)

#define UNI_RETURN_IF_ERROR(expr)                  \
    do {                                           \
        ::unicorn::Status uni_status_ = (expr);    \
        if (!uni_status_.ok()) return uni_status_; \
    } while (0)

#define UNI_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
    auto tmp = (expr);                             \
    if (!tmp.ok()) return tmp.status();            \
    lhs = std::move(tmp).value()

#define UNI_ASSIGN_OR_RETURN(lhs, expr) \
    UNI_ASSIGN_OR_RETURN_IMPL_(UNI_CONCAT_(uni_result_, __LINE__), lhs, expr)
