// What the observers that compute no parameters share: calculate_qparams raises, as PyTorch's does.
#pragma once

#include "observer_base.hpp"

namespace ctq {

namespace detail {
template <class Self>
struct no_qparams {
  // PyTorch raises "calculate_qparams should not be called for <observer>".
  [[noreturn]] static void calculate_qparams() {
    raise(message() << "ctq: " << Self::name << ": calculate_qparams should not be called (it carries only a dtype)");
  }
};
}  // namespace detail

}  // namespace ctq
