// ctq's int8 compute kernels: packed GEMM with a fused output pipeline, per architecture.
#pragma once

#include "kernels/activation.hpp"
#include "kernels/arch.hpp"
#include "kernels/conv.hpp"
#include "kernels/conv_transpose.hpp"
#include "kernels/depthwise.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/gemm.hpp"
#include "kernels/output_pipeline.hpp"
#include "kernels/pooling.hpp"
#include "kernels/requantize.hpp"
#include "kernels/torch_numerics.hpp"
