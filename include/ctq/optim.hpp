// Optimizers and learning-rate schedules for training ctq models.
#pragma once

#include "optim/lr_scheduler.hpp"
#include "optim/sgd.hpp"
