// QConfig, QConfigDynamic, backend rules and PyTorch's named default qconfigs.
#pragma once

#include "qconfig/backend.hpp"
#include "qconfig/default_qconfigs.hpp"
#include "qconfig/qconfig.hpp"
