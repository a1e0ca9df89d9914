// Precompiled header for every v2a translation unit: LibTorch's one-stop header is the single
// biggest compile cost, so it is parsed once here and nowhere else (headers include narrow parts).
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>
