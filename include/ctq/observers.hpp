// Every observer of ctq (PyTorch's torch.ao.quantization.observer).
#pragma once

#include "observers/fixed_qparams_observer.hpp"
#include "observers/histogram_observer.hpp"
#include "observers/min_max_observer.hpp"
#include "observers/moving_average_min_max_observer.hpp"
#include "observers/moving_average_per_channel_min_max_observer.hpp"
#include "observers/noop_observer.hpp"
#include "observers/observer_base.hpp"
#include "observers/per_channel_min_max_observer.hpp"
#include "observers/placeholder_observer.hpp"
#include "observers/recording_observer.hpp"
