// Scalar reference: linear (see reference.h).
#include "ops/ref/reference.h"
#include "quant/quantize.h"

namespace unicorn::ops::ref {

void linear(const Tensor& x, const Tensor& w, const Tensor& y) {
    for (int64_t t = 0; t < x.rows(); ++t) {
        for (int64_t o = 0; o < w.rows(); ++o) {
            y.row<float>(t)[o] = static_cast<float>(
                quant::dot_row_ref(w.dtype(), w.row_bytes_ptr(o), x.row<float>(t), w.cols()));
        }
    }
}

}  // namespace unicorn::ops::ref
