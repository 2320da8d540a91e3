// optim::SGD: PyTorch's torch.optim.SGD (momentum, dampening, weight decay, Nesterov) over a ctq
// model's parameters (nn::for_each_parameter order). Each update is written as PyTorch's float
// kernels compute it: every "a + alpha * b" is one fused multiply-add, as PyTorch's vectorized
// CPU add does.
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../nn/train.hpp"

namespace ctq::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class SGD {
 public:
  explicit SGD(SGDOptions o) : options_(o), lr(o.lr) {
    if (!(o.lr >= 0.0)) raise("ctq: optim::SGD: the learning rate must not be negative");
    if (!(o.momentum >= 0.0)) raise("ctq: optim::SGD: momentum must not be negative");
    if (!(o.weight_decay >= 0.0)) raise("ctq: optim::SGD: weight_decay must not be negative");
    if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0)) {
      raise("ctq: optim::SGD: Nesterov momentum needs a positive momentum and zero dampening");
    }
  }

  /// One update of every parameter of `model` that has a gradient (parameters whose gradient was
  /// never allocated are skipped, as PyTorch skips grad None). The model's parameter list must
  /// stay the same from step to step.
  template <class M>
  void step(M& model) {
    std::size_t i = 0;
    nn::for_each_parameter(model, [&](const std::string& key, auto& p, auto& g) {
      if (g.shape() != p.shape()) return;  // no gradient yet
      if (i == buffers_.size()) {
        buffers_.emplace_back();
        keys_.push_back(key);
      } else if (keys_[i] != key) {
        raise(ctq::detail::message() << "ctq: optim::SGD: parameter " << i << " was '" << keys_[i] << "' and is now '"
                                     << key << "': one optimizer per model");
      }
      update(p.values(), g.values(), buffers_[i]);
      ++i;
    });
  }

  /// Forgets the momentum buffers.
  void reset() {
    buffers_.clear();
    keys_.clear();
  }
  const SGDOptions& options() const { return options_; }

 private:
  void update(std::span<float> p, std::span<const float> g, std::vector<float>& buf) const {
    const float wd = static_cast<float>(options_.weight_decay), mom = static_cast<float>(options_.momentum);
    const float keep = static_cast<float>(1.0 - options_.dampening), step = static_cast<float>(-lr);
    const bool first = buf.empty();
    if (options_.momentum != 0.0 && first) buf.resize(p.size());
    for (std::size_t k = 0; k < p.size(); ++k) {
      float d = options_.weight_decay != 0.0 ? std::fma(wd, p[k], g[k]) : g[k];
      if (options_.momentum != 0.0) {
        buf[k] = first ? d : std::fma(keep, d, buf[k] * mom);
        d = options_.nesterov ? std::fma(mom, buf[k], d) : buf[k];
      }
      p[k] = std::fma(step, d, p[k]);
    }
  }

  SGDOptions options_;
  std::vector<std::vector<float>> buffers_;
  std::vector<std::string> keys_;

 public:
  double lr;  ///< the current learning rate (a scheduler sets it)
};

}  // namespace ctq::optim
