// ctq: compile-time neural-network quantization. Include this one header.
#pragma once

#include "core.hpp"
