// ctq: compile-time neural-network quantization. Include this one header.
#pragma once

#include "core.hpp"
#include "core/visit.hpp"
#include "fake_quantize.hpp"
#include "kernels.hpp"
#include "nn.hpp"
#include "observers.hpp"
#include "optim.hpp"
#include "qconfig.hpp"
#include "quantization.hpp"
#include "tensor_quant.hpp"
