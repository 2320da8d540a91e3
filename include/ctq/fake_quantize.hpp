// Every fake-quantizer of ctq (PyTorch's torch.ao.quantization.fake_quantize).
#pragma once

#include "fake_quantize/fake_quantize.hpp"
#include "fake_quantize/fused_moving_avg_obs_fake_quantize.hpp"
#include "fake_quantize/learnable_fake_quantize.hpp"
