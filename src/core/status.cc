#include "core/status.h"

namespace unicorn {

const char* status_code_name(StatusCode code) {
    switch (code) {
        case StatusCode::kOk:
            return "ok";
        case StatusCode::kInvalidArgument:
            return "invalid argument";
        case StatusCode::kNotFound:
            return "not found";
        case StatusCode::kIoError:
            return "I/O error";
        case StatusCode::kCorrupt:
            return "corrupt";
        case StatusCode::kUnsupported:
            return "unsupported";
        case StatusCode::kOutOfRange:
            return "out of range";
        case StatusCode::kResourceExhausted:
            return "resource exhausted";
        case StatusCode::kDeviceError:
            return "device error";
        case StatusCode::kInternal:
            return "internal error";
    }
    return "unknown";
}

std::string Status::to_string() const {
    if (ok()) return "ok";
    return std::string(status_code_name(code_)) + ": " + message_;
}

Status Status::with_context(const std::string& context) const {
    if (ok()) return *this;
    return {code_, context + ": " + message_};
}

Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
Status corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
Status resource_exhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
Status device_error(std::string m) { return {StatusCode::kDeviceError, std::move(m)}; }
Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

}  // namespace unicorn
