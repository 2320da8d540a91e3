// optim::CosineAnnealingLR: PyTorch's torch.optim.lr_scheduler.CosineAnnealingLR with its
// recursive update (each step scales the previous rate's distance to eta_min), in double as
// Python computes it, so the rates match PyTorch's step for step.
#pragma once

#include <cmath>
#include <numbers>

#include "../core/error.hpp"

namespace ctq::optim {

/// Opt: any optimizer with a `double lr` member (optim::SGD).
template <class Opt>
class CosineAnnealingLR {
 public:
  CosineAnnealingLR(Opt& opt, int t_max, double eta_min = 0.0)
      : opt_(&opt), t_max_(t_max), eta_min_(eta_min), base_lr_(opt.lr) {
    if (t_max < 1) raise("ctq: optim::CosineAnnealingLR: T_max must be at least 1");
  }

  /// Advances one epoch (call after the epoch's optimizer steps, as in PyTorch) and sets the
  /// optimizer's learning rate.
  void step() {
    ++last_epoch_;
    const double pi = std::numbers::pi, t = t_max_, e = last_epoch_;
    double lr = opt_->lr;
    if (floor_mod(last_epoch_ - 1 - t_max_, 2 * t_max_) == 0) {
      lr = lr + (base_lr_ - eta_min_) * (1.0 - std::cos(pi / t)) / 2.0;
    } else {
      lr = (1.0 + std::cos(pi * e / t)) / (1.0 + std::cos(pi * (e - 1.0) / t)) * (lr - eta_min_) + eta_min_;
    }
    opt_->lr = lr;
  }
  int last_epoch() const { return last_epoch_; }
  double lr() const { return opt_->lr; }

 private:
  static int floor_mod(int a, int b) { return ((a % b) + b) % b; }

  Opt* opt_;
  int t_max_;
  double eta_min_, base_lr_;
  int last_epoch_ = 0;
};

}  // namespace ctq::optim
