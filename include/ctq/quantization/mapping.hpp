// Every module mapping ctq has (quantization/mappings/), on top of the traits they specialise.
#pragma once

#include "mappings/core.hpp"
#include "mappings/dynamic_linear.hpp"
#include "mappings/dynamic_rnn.hpp"
#include "mappings/embedding.hpp"
#include "mappings/extra.hpp"
#include "mappings/normalization.hpp"
#include "mappings/qat.hpp"
#include "mappings/qat_dynamic.hpp"
#include "traits.hpp"
