// The amax toolkit (NVIDIA pytorch_quantization style): tensor_quant, QuantDescriptor,
// TensorQuantizer, calibrators, Quant modules, ONNX QDQ export.
#pragma once

#include "tensor_quant/calibrators.hpp"
#include "tensor_quant/onnx_export.hpp"
#include "tensor_quant/quant_descriptor.hpp"
#include "tensor_quant/quant_modules.hpp"
#include "tensor_quant/tensor_quant.hpp"
#include "tensor_quant/tensor_quantizer.hpp"
