// The eager workflow: stubs, fuse_modules, qconfig mappings, prepare, calibrate, convert, quantize.
#pragma once

#include "quantization/convert.hpp"
#include "quantization/fuse_modules.hpp"
#include "quantization/mapping.hpp"
#include "quantization/prepare.hpp"
#include "quantization/qconfig_mapping.hpp"
#include "quantization/quantize_dynamic.hpp"
#include "quantization/stubs.hpp"
#include "quantization/traits.hpp"
#include "quantization/transform.hpp"
