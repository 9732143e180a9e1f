// VulkanBackend's compute ops: each resolves its tensors to (buffer, offset), stages host
// arrays in the step's arena and records one dispatch. Offsets and strides travel as push
// constants in elements (floats) or, for weights, in bytes.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "backend/vulkan/vulkan_backend.h"

namespace unicorn::vulkan {
namespace {

uint32_t u32(size_t v) { return static_cast<uint32_t>(v); }
uint32_t floats(size_t bytes) { return static_cast<uint32_t>(bytes / sizeof(float)); }
uint32_t groups(int64_t n, uint32_t per) { return static_cast<uint32_t>((n + per - 1) / per); }
constexpr uint32_t kMaxGroupsY = 65535;  // the minimum maxComputeWorkGroupCount[1]
constexpr int64_t kLinearRows = 8;       // linear.comp's ROWS
// matmul_tiled.comp's BM × BN tile, and the token count from which it replaces linear.comp:
// below it a token tile is mostly padding and linear.comp's 4-token loop wastes little.
constexpr uint32_t kTiledRows = 64, kTiledTokens = 32;
constexpr int64_t kTiledMinTokens = 8;

// UNICORN_VULKAN_TILED=0 keeps every matrix product on linear.comp (A/B of the prefill path).
bool tiled_enabled() {
    static const bool on = [] {
        const char* v = std::getenv("UNICORN_VULKAN_TILED");
        return v == nullptr || std::string_view(v) != "0";
    }();
    return on;
}

// eltwise.comp's OP values.
enum : uint32_t { kGeluTanhMul, kSiluMul, kAdd, kSoftcap, kMul, kScale };

}  // namespace

Status VulkanBackend::linear(const Tensor& x, const Tensor& w, const Tensor& y) {
    UNI_ASSIGN_OR_RETURN(Located lx, locate(x, "linear"));
    UNI_ASSIGN_OR_RETURN(Located ly, locate(y, "linear"));
    if (!shader_supports(w.dtype()))
        return unsupported(
            fmt::format("vulkan: no matrix shader for {} weights (the Vulkan backend reads F32, "
                        "F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K); run this "
                        "model with "
                        "--device cpu",
                        dtype_name(w.dtype())));
    if (x.rows() == 0 || w.rows() == 0) return ok_status();
    UNI_ASSIGN_OR_RETURN(Parts parts, weight_parts(w));
    for (size_t i = 0; i < parts.parts.size(); ++i) {
        const Located& lw = parts.parts[i];
        const int64_t r0 = static_cast<int64_t>(i) * parts.rows_per_part;
        const int64_t n = std::min(parts.rows_per_part, w.rows() - r0);
        struct {
            uint32_t n, k, w_off, w_stride, x_off, x_stride, t, y_off, y_stride;
        } pc{u32(n),
             u32(w.cols()),
             u32(lw.offset),
             u32(parts.row_stride),
             floats(lx.offset),
             floats(x.row_stride()),
             u32(x.rows()),
             floats(ly.offset) + u32(r0),
             floats(y.row_stride())};
        // Prefill: a 2-D grid of row × token tiles (4096 row tiles for a 262144-word
        // vocabulary head, far below the 65535 limit; anything larger falls through to
        // linear.comp).
        const uint32_t row_tiles = groups(n, kTiledRows),
                       tok_tiles = groups(x.rows(), kTiledTokens);
        if (x.rows() >= kTiledMinTokens && row_tiles <= kMaxGroupsY && tok_tiles <= kMaxGroupsY &&
            tiled_enabled()) {
            UNI_RETURN_IF_ERROR(cmd_->dispatch("matmul_tiled", type_code(w.dtype()),
                                               {lw.buffer, lx.buffer, ly.buffer}, pc, row_tiles,
                                               tok_tiles));
            continue;
        }
        // kLinearRows output rows per workgroup; workgroups beyond the x limit wrap into y
        // (vocabulary heads).
        const int64_t wgs = (n + kLinearRows - 1) / kLinearRows;
        const uint32_t gx = static_cast<uint32_t>(std::min<int64_t>(wgs, 65535));
        const uint32_t spec = type_code(w.dtype()) | (dev_->use_subgroups() ? 0x100u : 0u);
        UNI_RETURN_IF_ERROR(cmd_->dispatch("linear", spec, {lw.buffer, lx.buffer, ly.buffer}, pc,
                                           gx, groups(wgs, gx)));
    }
    return ok_status();
}

Status VulkanBackend::rms_norm(const Tensor& x, const Tensor& weight_t, const ops::RmsNormParams& p,
                               const Tensor& out) {
    UNI_ASSIGN_OR_RETURN(Located lx, locate(x, "rms_norm"));
    UNI_ASSIGN_OR_RETURN(Located lo, locate(out, "rms_norm"));
    if (x.rows() == 0) return ok_status();
    Located lw = lx, lr = lx;  // unused bindings point at x
    const bool has_w = weight_t.defined() && weight_t.numel() > 0;
    if (has_w) {
        size_t stride = 0;
        UNI_ASSIGN_OR_RETURN(lw, weight(weight_t.reshape(Shape{1, weight_t.numel()}), &stride));
    }
    size_t r_stride = 0;
    if (p.residual != nullptr) {
        UNI_ASSIGN_OR_RETURN(lr, locate(*p.residual, "rms_norm"));
        r_stride = p.residual->row_stride();
    }
    struct {
        uint32_t cols, x_off, x_stride, w_off, has_w, r_off, r_stride, has_r, o_off, o_stride;
        float eps;
    } pc{u32(x.cols()),
         floats(lx.offset),
         floats(x.row_stride()),
         floats(lw.offset),
         has_w ? 1u : 0u,
         floats(lr.offset),
         floats(r_stride),
         p.residual != nullptr ? 1u : 0u,
         floats(lo.offset),
         floats(out.row_stride()),
         p.eps};
    if (x.rows() > 65535) return unsupported("vulkan rms_norm: more than 65535 rows");
    return cmd_->dispatch("rms_norm", 0, {lx.buffer, lw.buffer, lr.buffer, lo.buffer}, pc,
                          u32(x.rows()), 1);
}

Status VulkanBackend::rope(const Tensor& x, std::span<const int32_t> positions,
                           const ops::RopeParams& p) {
    UNI_ASSIGN_OR_RETURN(Located lx, locate(x, "rope"));
    if (x.rows() == 0) return ok_status();
    // cos/sin in double of the fp32 angle, as ops::ref and HF form it: exact where the GPU's
    // sin/cos are not (their error grows with the angle, i.e. with the position).
    const int half = p.rot_dim / 2;
    UNI_ASSIGN_OR_RETURN(Located cs, cmd_->stage(nullptr, sizeof(float) * 2 * half * x.rows()));
    float* table = reinterpret_cast<float*>(static_cast<uint8_t*>(cs.buffer->mapped) + cs.offset);
    for (int64_t t = 0; t < x.rows(); ++t) {
        for (int i = 0; i < half; ++i) {
            const double theta =
                static_cast<float>(positions[static_cast<size_t>(t)]) * p.inv_freq[i];
            table[2 * (t * half + i)] = static_cast<float>(std::cos(theta));
            table[2 * (t * half + i) + 1] = static_cast<float>(std::sin(theta));
        }
    }
    struct {
        uint32_t x_off, x_stride, n_heads, head_dim, half_rot, neox, cs_off;
    } pc{floats(lx.offset), floats(x.row_stride()),
         u32(p.n_heads),    u32(p.head_dim),
         u32(half),         p.mode == ops::RopeMode::kNeox ? 1u : 0u,
         floats(cs.offset)};
    if (x.rows() > kMaxGroupsY) return unsupported("vulkan rope: more than 65535 rows");
    return cmd_->dispatch("rope", 0, {lx.buffer, cs.buffer}, pc,
                          groups(int64_t{p.n_heads} * half, 64), u32(x.rows()));
}

Status VulkanBackend::attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                                const Tensor& v, std::span<const int32_t> k_pos,
                                const ops::AttentionParams& p, const Tensor& out) {
    UNI_ASSIGN_OR_RETURN(Located lq, locate(q, "attention"));
    UNI_ASSIGN_OR_RETURN(Located lo, locate(out, "attention"));
    if (q.rows() == 0) return ok_status();
    if (p.head_dim > 512)
        return unsupported(fmt::format("vulkan attention: head_dim {} > 512", p.head_dim));
    if (q.rows() > kMaxGroupsY) return unsupported("vulkan attention: more than 65535 queries");
    Located lk = lq, lv = lq;  // no keys: never read
    if (k.rows() > 0) {
        UNI_ASSIGN_OR_RETURN(lk, locate(k, "attention"));
        UNI_ASSIGN_OR_RETURN(lv, locate(v, "attention"));
    }
    // Both position lists in one arena entry: queries first, then keys.
    std::vector<int32_t> pos(q_pos.begin(), q_pos.end());
    pos.insert(pos.end(), k_pos.begin(), k_pos.end());
    UNI_ASSIGN_OR_RETURN(Located lp, cmd_->stage(pos.data(), pos.size() * sizeof(int32_t)));
    struct {
        uint32_t q_off, q_stride, k_off, k_stride, v_off, v_stride, o_off, o_stride;
        uint32_t n_keys, group, head_dim, qpos_off, kpos_off;
        float scale, softcap;
        int32_t window;
    } pc{floats(lq.offset),
         floats(q.row_stride()),
         floats(lk.offset),
         floats(k.row_stride()),
         floats(lv.offset),
         floats(v.row_stride()),
         floats(lo.offset),
         floats(out.row_stride()),
         u32(k.rows()),
         u32(p.n_heads / p.n_kv_heads),
         u32(p.head_dim),
         floats(lp.offset),
         floats(lp.offset) + u32(q_pos.size()),
         p.scale,
         p.softcap,
         p.window};
    return cmd_->dispatch("attention", 0, {lq.buffer, lk.buffer, lv.buffer, lo.buffer, lp.buffer},
                          pc, u32(p.n_heads), u32(q.rows()));
}

Status VulkanBackend::elementwise(uint32_t op, const char* name, const Tensor& a, const Tensor& b,
                                  int64_t b_rows, float s, const Tensor& out) {
    UNI_ASSIGN_OR_RETURN(Located la, locate(a, name));
    UNI_ASSIGN_OR_RETURN(Located lo, locate(out, name));
    if (a.rows() == 0 || a.cols() == 0) return ok_status();
    Located lb = la;
    size_t b_stride = a.row_stride();
    if (&b != &a) {
        if (b.on_device()) {
            UNI_ASSIGN_OR_RETURN(lb, locate(b, name));
            b_stride = b.row_stride();
        } else {  // a model-owned host row (Gemma 3n's scales): cached like a weight
            UNI_ASSIGN_OR_RETURN(
                lb, weight(b.shape().rank() == 1 ? b.reshape(Shape{1, b.numel()}) : b, &b_stride));
        }
    }
    struct {
        uint32_t rows, cols, a_off, a_stride, b_off, b_stride, b_rows, o_off, o_stride;
        float s;
    } pc{u32(a.rows()),
         u32(a.cols()),
         floats(la.offset),
         floats(a.row_stride()),
         floats(lb.offset),
         floats(b_stride),
         u32(b_rows),
         floats(lo.offset),
         floats(out.row_stride()),
         s};
    return cmd_->dispatch("eltwise", op, {la.buffer, lb.buffer, lo.buffer}, pc,
                          groups(a.cols(), 64),
                          static_cast<uint32_t>(std::min<int64_t>(a.rows(), kMaxGroupsY)));
}

Status VulkanBackend::gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    return elementwise(kGeluTanhMul, "gelu_tanh_mul", g, u, g.rows(), 0, out);
}

Status VulkanBackend::silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    return elementwise(kSiluMul, "silu_mul", g, u, g.rows(), 0, out);
}

Status VulkanBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
    return elementwise(kAdd, "add", a, b, b.rows(), 0, out);  // b repeats every b.rows rows
}

Status VulkanBackend::softcap(const Tensor& x, float cap, const Tensor& out) {
    return elementwise(kSoftcap, "softcap", x, x, x.rows(), cap, out);
}

Status VulkanBackend::mul(const Tensor& a, const Tensor& b, const Tensor& out) {
    const bool broadcast = b.rows() != a.rows() || b.shape().rank() == 1;
    return elementwise(kMul, "mul", a, b, broadcast ? 1 : a.rows(), 0, out);
}

Status VulkanBackend::scale(const Tensor& x, float s, const Tensor& out) {
    return elementwise(kScale, "scale", x, x, x.rows(), s, out);
}

Status VulkanBackend::row_stats(uint32_t op, const char* name, const Tensor& x,
                                const Tensor& target, float s, const Tensor& out) {
    UNI_ASSIGN_OR_RETURN(Located lx, locate(x, name));
    UNI_ASSIGN_OR_RETURN(Located lo, locate(out, name));
    if (x.rows() == 0) return ok_status();
    if (x.rows() > 65535) return unsupported(fmt::format("vulkan {}: more than 65535 rows", name));
    Located lt = lx;
    if (&target != &x) {
        UNI_ASSIGN_OR_RETURN(lt, locate(target, name));
    }
    struct {
        uint32_t cols, x_off, x_stride, t_off, t_stride, o_off, o_stride;
        float s;
    } pc{u32(x.cols()),
         floats(lx.offset),
         floats(x.row_stride()),
         floats(lt.offset),
         floats(target.row_stride()),
         floats(lo.offset),
         floats(out.row_stride()),
         s};
    return cmd_->dispatch("rowscale", op, {lx.buffer, lt.buffer, lo.buffer}, pc, u32(x.rows()), 1);
}

Status VulkanBackend::gaussian_topk(const Tensor& x, float z, const Tensor& out) {
    return row_stats(0, "gaussian_topk", x, x, z, out);
}

Status VulkanBackend::match_magnitude(const Tensor& x, const Tensor& target, float floor,
                                      const Tensor& out) {
    return row_stats(1, "match_magnitude", x, target, floor, out);
}

Status VulkanBackend::altup(uint32_t op, const char* name, const Tensor& s, const Tensor& act,
                            const Tensor& coefs, int n_streams, const Tensor& out) {
    UNI_ASSIGN_OR_RETURN(Located ls, locate(s, name));
    UNI_ASSIGN_OR_RETURN(Located lo, locate(out, name));
    if (s.rows() == 0) return ok_status();
    if (s.rows() > 65535) return unsupported(fmt::format("vulkan {}: more than 65535 rows", name));
    UNI_ASSIGN_OR_RETURN(Located lc, locate(coefs, name));
    Located la = ls;
    if (&act != &s) {
        UNI_ASSIGN_OR_RETURN(la, locate(act, name));
    }
    struct {
        uint32_t a, t_len, cols, s_off, s_stride, c_off, c_stride, act_off, act_stride, o_off,
            o_stride;
    } pc{u32(n_streams),
         u32(s.rows() / n_streams),
         u32(s.cols()),
         floats(ls.offset),
         floats(s.row_stride()),
         floats(lc.offset),
         floats(coefs.row_stride()),
         floats(la.offset),
         floats(act.row_stride()),
         floats(lo.offset),
         floats(out.row_stride())};
    return cmd_->dispatch("altup", op, {ls.buffer, lc.buffer, la.buffer, lo.buffer}, pc,
                          groups(s.cols(), 64), u32(s.rows()));
}

Status VulkanBackend::altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                                    const Tensor& out) {
    return altup(0, "altup_predict", streams, streams, coefs, n_streams, out);
}

Status VulkanBackend::altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                                    int n_streams, const Tensor& out) {
    return altup(1, "altup_correct", pred, actual, coefs, n_streams, out);
}

}  // namespace unicorn::vulkan
