// The core of ctq: dtypes, qschemes, qparams, Tensor/QTensor, quantize/dequantize/fake_quantize.
#pragma once

#include "config.hpp"
#include "core/arch.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/float16.hpp"
#include "core/qparams.hpp"
#include "core/qscheme.hpp"
#include "core/qtensor.hpp"
#include "core/quantize.hpp"
#include "core/tensor.hpp"
