// Rotary position embedding, FLUX style: channel pairs (x[2i], x[2i+1]) are rotated by angle
// pos * freq_i * freq_scaling with freq_i = theta^(-2i/dim). Tables and the rotation are computed in
// float32 whatever the model dtype. MMAudio scales the clip stream's frequencies by
// latent_seq_len / clip_seq_len so that clip frame j sits at the angle of the audio token at the same
// time (j * latent_seq_len / clip_seq_len).
// Ref: hkchengrex/MMAudio mmaudio/ext/rotary_embeddings.py (after black-forest-labs/flux math.py)
#pragma once
#include <torch/types.h>

namespace v2a::model {

/// Rotation matrices [1, length, dim/2, 2, 2] (float32): [[cos, -sin], [sin, cos]] per position and pair.
torch::Tensor compute_rope_rotations(int64_t length, int64_t dim, double theta = 10000.0,
                                     double freq_scaling = 1.0,
                                     const torch::Device& device = torch::kCPU);

/// x: [B, H, N, dim], rot: [1, N, dim/2, 2, 2] -> rotated x, same shape and dtype as x.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& rot);

}  // namespace v2a::model
