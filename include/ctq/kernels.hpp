// ctq's int8 compute kernels: packed GEMM with a fused output pipeline, per architecture.
#pragma once

#include "kernels/arch.hpp"
#include "kernels/conv.hpp"
#include "kernels/depthwise.hpp"
#include "kernels/gemm.hpp"
#include "kernels/output_pipeline.hpp"
#include "kernels/requantize.hpp"
