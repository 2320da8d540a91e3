// RecordingObserver: keeps a copy of every tensor it sees, for debugging (PyTorch's RecordingObserver).
#pragma once

#include <vector>

#include "no_qparams.hpp"

namespace ctq {

struct RecordingObserverArgs {
  ctq::dtype dtype = ctq::dtype::quint8;
};

/// Keeps a copy of every tensor it sees (flattened, with its shape), for debugging.
/// merge appends the other observer's recordings after this one's.
template <RecordingObserverArgs Args = RecordingObserverArgs{}>
class RecordingObserver {
 public:
  static constexpr std::string_view name = "RecordingObserver";
  static constexpr ctq::dtype dtype = Args.dtype;
  struct Recorded {
    std::vector<index_t> shape;
    std::vector<float> values;
    friend bool operator==(const Recorded&, const Recorded&) = default;
  };
  template <int R>
  const Tensor<float, R>& operator()(const Tensor<float, R>& x) {
    tensor_val_.push_back({std::vector<index_t>(x.shape().begin(), x.shape().end()),
                           std::vector<float>(x.values().begin(), x.values().end())});
    return x;
  }
  void calculate_qparams() const { detail::no_qparams<RecordingObserver>::calculate_qparams(); }
  void reset() { tensor_val_.clear(); }
  void merge(const RecordingObserver& other) {
    tensor_val_.insert(tensor_val_.end(), other.tensor_val_.begin(), other.tensor_val_.end());
  }
  const std::vector<Recorded>& get_tensor_value() const { return tensor_val_; }

 private:
  std::vector<Recorded> tensor_val_;
};

}  // namespace ctq
