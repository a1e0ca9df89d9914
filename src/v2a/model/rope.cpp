// N = positions, P = dim / 2 rotated pairs
#include "v2a/model/rope.h"

#include "v2a/core/error.h"

namespace v2a::model {

torch::Tensor compute_rope_rotations(int64_t length, int64_t dim, double theta, double freq_scaling,
                                     const torch::Device& device) {
    V2A_CHECK(dim % 2 == 0 && dim > 0, Config, "RoPE: dim must be positive and even, got ", dim);
    V2A_CHECK(length > 0, Config, "RoPE: length must be positive, got ", length);
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    auto pos = torch::arange(length, f32);                                          // [N]
    auto freqs = 1.0 / torch::pow(theta, torch::arange(0, dim, 2, f32) / static_cast<double>(dim));  // [P]
    freqs = freqs * freq_scaling;
    auto angle = torch::outer(pos, freqs);                                          // [N, P]
    auto c = torch::cos(angle), s = torch::sin(angle);
    return torch::stack({c, -s, s, c}, -1).view({1, length, dim / 2, 2, 2});       // [1, N, P, 2, 2]
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& rot) {
    TORCH_CHECK(x.dim() == 4 && rot.dim() == 5 && rot.size(1) == x.size(2) && rot.size(2) * 2 == x.size(3),
                "apply_rope: x ", x.sizes(), " does not match rotations ", rot.sizes());
    auto xf = x.to(torch::kFloat32);
    auto pairs = xf.view({x.size(0), x.size(1), x.size(2), x.size(3) / 2, 1, 2});  // [B, H, N, P, 1, 2]
    auto r = rot.to(torch::kFloat32);
    // out[..., i] = rot[..., i, 0] * x_even + rot[..., i, 1] * x_odd, i in {0, 1}
    auto out = r.select(-1, 0) * pairs.select(-1, 0) + r.select(-1, 1) * pairs.select(-1, 1);  // [B, H, N, P, 2]
    return out.reshape(x.sizes()).to(x.scalar_type());
}

}  // namespace v2a::model
