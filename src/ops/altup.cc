#include "ops/altup.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/validate_util.h"

namespace unicorn::ops {
namespace {

// The streams tensor [A·T, D]: A >= 1 and rows a multiple of A. Returns T through `tokens`.
Status expect_streams(const Tensor& s, int n_streams, const char* what, int64_t* tokens) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(s, what));
    if (n_streams < 1)
        return invalid_argument(fmt::format("{}: stream count {} must be >= 1", what, n_streams));
    if (s.rows() % n_streams != 0)
        return invalid_argument(
            fmt::format("{}: {} rows do not split into {} streams", what, s.describe(), n_streams));
    *tokens = s.rows() / n_streams;
    return ok_status();
}

Status expect_shape(const Tensor& t, int64_t rows, int64_t cols, const char* what) {
    if (t.rows() != rows || t.cols() != cols)
        return invalid_argument(
            fmt::format("{} is {}, expected [{}, {}]", what, t.describe(), rows, cols));
    return ok_status();
}

}  // namespace

Status validate_match_magnitude(const Tensor& x, const Tensor& target, float floor,
                                const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "match_magnitude input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(target, "match_magnitude target"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "match_magnitude output"));
    if (target.shape() != x.shape() || out.shape() != x.shape())
        return invalid_argument(fmt::format("match_magnitude shapes differ: {} {} {}", x.describe(),
                                            target.describe(), out.describe()));
    if (!std::isfinite(floor) || floor < 0)
        return invalid_argument(
            fmt::format("match_magnitude floor {} must be finite and >= 0", floor));
    return ok_status();
}

Status validate_altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                              const Tensor& out) {
    int64_t t = 0;
    UNI_RETURN_IF_ERROR(expect_streams(streams, n_streams, "altup_predict streams", &t));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(coefs, "altup_predict coefs"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "altup_predict output"));
    const int64_t a = n_streams;
    UNI_RETURN_IF_ERROR(expect_shape(coefs, t, a * a, "altup_predict coefs"));
    UNI_RETURN_IF_ERROR(expect_shape(out, streams.rows(), streams.cols(), "altup_predict output"));
    return ok_status();
}

Status validate_altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                              int n_streams, const Tensor& out) {
    int64_t t = 0;
    UNI_RETURN_IF_ERROR(expect_streams(pred, n_streams, "altup_correct predictions", &t));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(actual, "altup_correct actual"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(coefs, "altup_correct coefs"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "altup_correct output"));
    UNI_RETURN_IF_ERROR(expect_shape(actual, t, pred.cols(), "altup_correct actual"));
    UNI_RETURN_IF_ERROR(expect_shape(coefs, t, n_streams, "altup_correct coefs"));
    UNI_RETURN_IF_ERROR(expect_shape(out, pred.rows(), pred.cols(), "altup_correct output"));
    return ok_status();
}

Status validate_altup_coefs(const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                            const Tensor& coef_w, const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "altup_coefs input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "altup_coefs output"));
    if (norm_w.dtype() != DType::kF32 || norm_w.numel() != x.cols())
        return invalid_argument(fmt::format("altup_coefs norm weight {} does not fit input {}",
                                            norm_w.describe(), x.describe()));
    if (router_w.shape().rank() != 2 || coef_w.shape().rank() != 2)
        return invalid_argument(fmt::format("altup_coefs weights must be 2-D, got {} and {}",
                                            router_w.describe(), coef_w.describe()));
    UNI_RETURN_IF_ERROR(expect_shape(router_w, router_w.rows(), x.cols(), "altup_coefs router"));
    UNI_RETURN_IF_ERROR(expect_shape(coef_w, coef_w.rows(), router_w.rows(), "altup_coefs mixer"));
    return expect_shape(out, x.rows(), coef_w.rows(), "altup_coefs output");
}

}  // namespace unicorn::ops
