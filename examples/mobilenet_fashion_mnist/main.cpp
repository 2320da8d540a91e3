// A MobileNetV2-style network (model.hpp) trained in float with ctq on Fashion-MNIST, then
// quantized with ctq's eager workflow as PyTorch's static quantization tutorial does with
// MobileNetV2. Three int8 rows: post-training quantization (fuse, prepare, calibrate on 32
// batches of training images, convert) with default_qconfig (min/max, per-tensor weights) and
// with get_default_qconfig<backend::x86> (per-channel weights, histogram activations); and
// quantization-aware training (fuse_modules_qat, prepare_qat with get_default_qat_qconfig<x86>,
// a few short epochs, BatchNorm statistics and observers frozen as the tutorial does, convert).
// Prints accuracy, weight bytes and single-threaded batch-1 latency of each, and writes the
// table as JSON and CSV into --out.
//
//   mobilenet_fashion_mnist [--data DIR] [--epochs N] [--batch-size N] [--lr LR] [--train-limit N]
//                           [--test-limit N] [--checkpoint FILE] [--out DIR] [--qat-epochs N]
//                           [--qat-batches N] [--qat-lr LR] [--qat-freeze-bn EPOCH]
//                           [--qat-freeze-observer EPOCH]
//
// Training (defaults: 4 epochs, batches of 64, learning rate 0.05): SGD (momentum 0.9, weight
// decay 4e-5), cosine learning rate over the epochs (stepped per epoch), the
// training set shuffled each epoch with a fixed seed; the float weights are saved to
// DIR/mobilenet_fashion_mnist.safetensors (the model's state_dict names). --checkpoint FILE loads
// such a file instead of training. Exits 1 if training did not lower the loss (the mean loss of
// the last batches of the last epoch must be below that of the first batches).
// QAT (defaults: 4 epochs of 100 batches, constant learning rate 1e-3, the same SGD): BatchNorm
// statistics frozen after epoch 2, observers disabled after epoch 3.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctq/ctq.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/fashion_mnist.hpp"
#include "model.hpp"

using namespace ctq;
using mobilenet_fashion_mnist::Net;

namespace {

// PyTorch's transforms.ToTensor() then Normalize((0.2860,), (0.3530,)): Fashion-MNIST's training
// set has mean 0.2860 and standard deviation 0.3530 (pixels / 255).
constexpr float pixel_mean = 0.2860f, pixel_std = 0.3530f;

void normalize(Tensor<float, 4>& images) {
  for (float& v : images.values()) v = (v - pixel_mean) / pixel_std;
}

// The images at `indices` as one batch [n, 28, 28, 1], and their labels.
Tensor<float, 4> gather(const Tensor<float, 4>& images, std::span<const std::size_t> indices) {
  Tensor<float, 4> b({static_cast<index_t>(indices.size()), 28, 28, 1});
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::copy_n(images.data() + indices[i] * 784, 784, b.data() + i * 784);
  }
  return b;
}

// Top-1 accuracy of `model` on the dataset, in batches of 250; each image's predicted class is
// appended to `classes` when given.
template <class Model>
double accuracy(Model& model, const fashion_mnist::Dataset& d, std::vector<std::int64_t>* classes = nullptr) {
  std::size_t correct = 0;
  for (index_t begin = 0; begin < d.images.dim(0); begin += 250) {
    const index_t end = std::min(begin + 250, d.images.dim(0));
    const Tensor<float, 2> logits = model(fashion_mnist::batch(d.images, begin, end));
    const auto predicted = nn::argmax_rows(logits);
    for (index_t i = 0; i < end - begin; ++i) {
      correct += predicted[static_cast<std::size_t>(i)] == d.labels[static_cast<std::size_t>(begin + i)];
    }
    if (classes != nullptr) classes->insert(classes->end(), predicted.begin(), predicted.end());
  }
  return static_cast<double>(correct) / static_cast<double>(d.labels.size());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The time per image, in microseconds, of one pass over `images` (one image per call, this
// thread).
template <class Model>
double pass_us(Model& model, const std::vector<Tensor<float, 4>>& images) {
  const auto start = std::chrono::steady_clock::now();
  for (const auto& x : images) {
    const Tensor<float, 2> y = model(x);
    if (!std::isfinite(y(0, 0))) throw std::runtime_error("a non-finite logit");
  }
  return seconds_since(start) * 1e6 / static_cast<double>(images.size());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct EpochStats {
  int epoch;
  double seconds, images_per_second, train_loss, train_accuracy, test_accuracy, lr;
};

struct Options {
  std::string data_dir = fashion_mnist::default_dir, checkpoint, out_dir = ".";
  int epochs = 4, batch_size = 64;
  double lr = 0.05;
  std::size_t train_limit = 60000, test_limit = 10000;
  int qat_epochs = 4, qat_freeze_bn = 2, qat_freeze_observer = 3;
  std::size_t qat_batches = 100;
  double qat_lr = 1e-3;
};

Options parse(int argc, char** argv) {
  Options o;
  const char* usage =
      "usage: mobilenet_fashion_mnist [--data DIR] [--epochs N] [--batch-size N] [--lr LR] [--train-limit N] "
      "[--test-limit N] [--checkpoint FILE] [--out DIR] [--qat-epochs N] [--qat-batches N] [--qat-lr LR] "
      "[--qat-freeze-bn EPOCH] [--qat-freeze-observer EPOCH]";
  if (argc % 2 == 0) throw std::runtime_error(usage);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--data") {
      o.data_dir = value;
    } else if (flag == "--epochs") {
      o.epochs = std::stoi(value);
    } else if (flag == "--batch-size") {
      o.batch_size = std::stoi(value);
    } else if (flag == "--lr") {
      o.lr = std::stod(value);
    } else if (flag == "--train-limit") {
      o.train_limit = std::stoul(value);
    } else if (flag == "--test-limit") {
      o.test_limit = std::stoul(value);
    } else if (flag == "--checkpoint") {
      o.checkpoint = value;
    } else if (flag == "--out") {
      o.out_dir = value;
    } else if (flag == "--qat-epochs") {
      o.qat_epochs = std::stoi(value);
    } else if (flag == "--qat-batches") {
      o.qat_batches = std::stoul(value);
    } else if (flag == "--qat-lr") {
      o.qat_lr = std::stod(value);
    } else if (flag == "--qat-freeze-bn") {
      o.qat_freeze_bn = std::stoi(value);
    } else if (flag == "--qat-freeze-observer") {
      o.qat_freeze_observer = std::stoi(value);
    } else {
      throw std::runtime_error("unknown option " + flag + "\n" + usage);
    }
  }
  if (o.epochs < 1 || o.qat_epochs < 1 || o.batch_size < 2)
    throw std::runtime_error("--epochs and --qat-epochs must be >= 1 and --batch-size >= 2");
  return o;
}

// One training schedule: `epochs` passes over (the first `batches` of, 0: all) the shuffled
// training set, SGD with momentum 0.9 and weight decay 4e-5, the learning rate cosine-annealed
// per epoch or constant.
struct Schedule {
  std::string what;
  int epochs;
  std::size_t batches;
  double lr;
  bool cosine;
};

// Trains `model` (float, or prepared for QAT) by `s` with progress lines; after each epoch calls
// epoch_end(epoch) and records test_accuracy() (which must not let the model see test images in
// training mode). Returns false if the loss did not go down (the mean loss of the first k
// batches of training against that of the last k).
template <class Model, class TestAccuracy, class EpochEnd>
bool train(Model& model, const fashion_mnist::Dataset& train_set, const Schedule& s, int batch_size,
           std::vector<EpochStats>& history, TestAccuracy&& test_accuracy, EpochEnd&& epoch_end) {
  const std::size_t n = train_set.labels.size();
  const std::size_t all = (n + static_cast<std::size_t>(batch_size) - 1) / static_cast<std::size_t>(batch_size);
  const std::size_t batches = s.batches == 0 ? all : std::min(all, s.batches);
  const std::size_t report_every = std::max<std::size_t>(1, batches / 10);
  const std::size_t k = std::clamp<std::size_t>(batches / 4, 1, 10);
  double first_loss = 0.0, last_loss = 0.0;

  optim::SGD opt({.lr = s.lr, .momentum = 0.9, .weight_decay = 4e-5});
  optim::CosineAnnealingLR sched(opt, s.epochs);
  nn::CrossEntropyLoss criterion;
  std::mt19937 shuffle_rng(42);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::printf("%s: %zu batches of %d per epoch (of %zu images), %d epochs, %ld parameters\n", s.what.c_str(), batches,
              batch_size, n, s.epochs, static_cast<long>(nn::parameter_count(model)));

  for (int epoch = 1; epoch <= s.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    nn::train(model);
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0.0, window_loss = 0.0;
    std::size_t correct = 0, seen = 0, window_correct = 0, window_seen = 0, window_batches = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      const std::size_t begin = b * static_cast<std::size_t>(batch_size),
                        end = std::min(n, begin + static_cast<std::size_t>(batch_size));
      const std::span<const std::size_t> idx(order.data() + begin, end - begin);
      if (idx.size() < 2) break;  // BatchNorm needs more than one value per channel
      std::vector<std::int64_t> labels(idx.size());
      for (std::size_t i = 0; i < idx.size(); ++i) labels[i] = train_set.labels[idx[i]];

      const Tensor<float, 2> logits = model(gather(train_set.images, idx));
      const auto loss = criterion(logits, labels);
      nn::zero_grad(model);
      nn::backward(model, loss.grad);
      opt.step(model);

      const auto predicted = nn::argmax_rows(logits);
      std::size_t c = 0;
      for (std::size_t i = 0; i < idx.size(); ++i) c += predicted[i] == labels[i];
      loss_sum += loss.value * static_cast<double>(idx.size());
      correct += c;
      seen += idx.size();
      window_loss += loss.value;
      window_correct += c;
      window_seen += idx.size();
      ++window_batches;
      if (epoch == 1 && b < k) first_loss += loss.value / static_cast<double>(k);
      if (epoch == s.epochs && b + k >= batches) last_loss += loss.value / static_cast<double>(k);
      if ((b + 1) % report_every == 0 || b + 1 == batches) {
        const double t = seconds_since(start);
        std::printf("epoch %d/%d  batch %4zu/%zu  loss %.4f  train acc %6.2f%%  lr %.4f  %6.1f s  %5.0f img/s\n", epoch,
                    s.epochs, b + 1, batches, window_loss / static_cast<double>(window_batches),
                    100.0 * static_cast<double>(window_correct) / static_cast<double>(window_seen), opt.lr, t,
                    static_cast<double>(seen) / t);
        std::fflush(stdout);
        window_loss = 0.0;
        window_correct = window_seen = window_batches = 0;
      }
    }
    const double seconds = seconds_since(start);
    const double lr = opt.lr;
    if (s.cosine) sched.step();
    epoch_end(epoch);
    nn::eval(model);
    const auto t_test = std::chrono::steady_clock::now();
    const double test_acc = test_accuracy();
    history.push_back({epoch, seconds, static_cast<double>(seen) / seconds, loss_sum / static_cast<double>(seen),
                       static_cast<double>(correct) / static_cast<double>(seen), test_acc, lr});
    std::printf(
        "epoch %d/%d done: %.1f s (%.0f img/s), train loss %.4f, train acc %.2f%%, test acc %.2f%% (%.1f s)\n\n", epoch,
        s.epochs, seconds, history.back().images_per_second, history.back().train_loss,
        100.0 * history.back().train_accuracy, 100.0 * test_acc, seconds_since(t_test));
    std::fflush(stdout);
  }
  std::printf("loss: first %zu batches %.4f, last %zu batches %.4f\n\n", k, first_loss, k, last_loss);
  return last_loss < first_loss;
}

struct Row {
  std::string method;
  double accuracy;
  std::size_t weight_bytes;
  double latency_us;
  std::vector<std::int64_t> predictions;  // per test image, for the side-by-side with PyTorch
};

// The table as an SVG figure: test accuracy per row (left) and batch-1 latency per row (right),
// horizontal bars labelled with their values.
std::string plot_svg(const std::vector<Row>& rows, std::size_t test_images) {
  const int label_w = 330, bar_w = 260, gap = 60, row_h = 28, top = 48;
  const int width = label_w + 2 * bar_w + gap + 90, height = top + static_cast<int>(rows.size()) * row_h + 30;
  double max_latency = 0.0;
  for (const auto& r : rows) max_latency = std::max(max_latency, r.latency_us);
  std::string svg;
  char buf[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    svg += buf;
  };
  add("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
      "font-size=\"13\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      width, height);
  const int x_acc = label_w, x_lat = label_w + bar_w + gap;
  add("<text x=\"%d\" y=\"20\" font-weight=\"bold\">test accuracy (axis from 50%%)</text>\n", x_acc);
  add("<text x=\"%d\" y=\"20\" font-weight=\"bold\">latency per image, batch 1, one thread</text>\n", x_lat);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const int y = top + static_cast<int>(i) * row_h;
    const bool int8 = r.method.rfind("int8", 0) == 0;
    const char* colour = int8 ? "#d9822b" : "#4a7ab5";
    add("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", label_w - 10, y + 15, r.method.c_str());
    const double acc_len = std::max(0.0, (100.0 * r.accuracy - 50.0) / 50.0) * bar_w;
    add("<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>\n", x_acc, y, acc_len, colour);
    add("<text x=\"%.1f\" y=\"%d\">%.2f%%</text>\n", x_acc + acc_len + 4, y + 15, 100.0 * r.accuracy);
    const double lat_len = r.latency_us / max_latency * bar_w;
    add("<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>\n", x_lat, y, lat_len, colour);
    add("<text x=\"%.1f\" y=\"%d\">%.0f us</text>\n", x_lat + lat_len + 4, y + 15, r.latency_us);
  }
  add("<text x=\"%d\" y=\"%d\" fill=\"#555\">blue: float, orange: int8 (ctq; Fashion-MNIST, %zu test "
      "images)</text>\n</svg>\n",
      x_acc, height - 8, test_images);
  return svg;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  std::filesystem::create_directories(o.out_dir);
  const std::string checkpoint_out = o.out_dir + "/mobilenet_fashion_mnist.safetensors";

  fashion_mnist::Dataset train_set = fashion_mnist::load(o.data_dir, "train", o.train_limit);
  fashion_mnist::Dataset test_set = fashion_mnist::load(o.data_dir, "t10k", o.test_limit);
  normalize(train_set.images);
  normalize(test_set.images);
  std::printf("Fashion-MNIST: %zu training images, %zu test images, normalized (x - %.4f) / %.4f\n\n",
              train_set.labels.size(), test_set.labels.size(), pixel_mean, pixel_std);

  // 1. The float model: trained here, or loaded from a checkpoint.
  Net net;
  std::vector<EpochStats> history;
  bool loss_went_down = true;
  if (!o.checkpoint.empty()) {
    nn::load_safetensors(net, o.checkpoint);
    std::printf("float weights loaded from %s\n", o.checkpoint.c_str());
  } else {
    nn::reset_parameters(net, 2026);  // PyTorch's default initial distributions, from a seed
    loss_went_down = train(
        net, train_set, {"float training", o.epochs, 0, o.lr, true}, o.batch_size, history,
        [&] { return accuracy(net, test_set); }, [](int) {});
    nn::save_safetensors(net, checkpoint_out);
    std::printf("float weights saved to %s (%ju bytes)\n", checkpoint_out.c_str(),
                static_cast<std::uintmax_t>(std::filesystem::file_size(checkpoint_out)));
  }
  nn::eval(net);  // BatchNorm uses its running statistics from here on; fuse_modules folds them

  // 2. Post-training static quantization, twice. Calibration: the first 32 batches of 32
  //    training images (PyTorch's tutorial: 32 batches).
  const index_t calib_images = std::min<index_t>(1024, train_set.images.dim(0));
  std::vector<Tensor<float, 4>> calibration;
  for (index_t begin = 0; begin < calib_images; begin += 32) {
    calibration.push_back(fashion_mnist::batch(train_set.images, begin, std::min(begin + 32, calib_images)));
  }
  auto fused = mobilenet_fashion_mnist::fuse_model(net);  // BatchNorm folded, conv+ReLU fused

  auto t = std::chrono::steady_clock::now();
  auto prepared_minmax = prepare<default_qconfig>(fused);  // min/max observers, per-tensor weights
  for (const auto& x : calibration) prepared_minmax(x);
  auto q_minmax = convert(prepared_minmax);
  std::printf("PTQ default_qconfig: calibrated on %ld images and converted in %.1f s\n",
              static_cast<long>(calib_images), seconds_since(t));

  t = std::chrono::steady_clock::now();
  auto prepared_x86 = prepare<get_default_qconfig<backend::x86>>(fused);  // histogram, per-channel
  for (const auto& x : calibration) prepared_x86(x);
  auto q_x86 = convert(prepared_x86);
  std::printf("PTQ get_default_qconfig<x86>: calibrated on %ld images and converted in %.1f s\n\n",
              static_cast<long>(calib_images), seconds_since(t));

  // 3. Quantization-aware training, as the tutorial: from the float weights, conv+bn(+relu) fused
  //    for QAT (the BatchNorm kept apart and its folding simulated), prepare_qat with the x86 QAT
  //    qconfig, a few short epochs at a small constant learning rate; the BatchNorm statistics
  //    frozen after epoch qat_freeze_bn and the observers after epoch qat_freeze_observer; each
  //    epoch's test accuracy is that of the converted int8 model.
  auto qat = prepare_qat<get_default_qat_qconfig<backend::x86>>(mobilenet_fashion_mnist::fuse_model_qat(net));
  std::vector<EpochStats> qat_history;
  t = std::chrono::steady_clock::now();
  const bool qat_loss_ok = train(
      qat, train_set, {"quantization-aware training", o.qat_epochs, o.qat_batches, o.qat_lr, false}, o.batch_size,
      qat_history,
      [&] {
        auto q = convert(qat);  // a copy: training goes on with qat
        return accuracy(q, test_set);
      },
      [&](int epoch) {
        if (epoch >= o.qat_freeze_observer) disable_observer(qat);
        if (epoch >= o.qat_freeze_bn) nn::intrinsic::qat::freeze_bn_stats(qat);
      });
  (void)qat_loss_ok;  // fine-tuning from trained weights: the loss need not fall in a few batches
  nn::eval(qat);
  auto q_qat = convert(qat);
  std::printf("QAT: %d epochs and convert in %.1f s\n\n", o.qat_epochs, seconds_since(t));

  // 4. The table: accuracy on the test images, weight bytes, batch-1 latency on this thread.
  const index_t latency_images = std::min<index_t>(500, test_set.images.dim(0));
  std::vector<Tensor<float, 4>> singles;
  for (index_t i = 0; i < latency_images; ++i) singles.push_back(fashion_mnist::batch(test_set.images, i, i + 1));
  constexpr int repeats = 7;
  std::vector<Row> rows;
  std::vector<std::function<double()>> passes;  // one latency pass of each row's model
  auto add_row = [&](const std::string& method, auto& model) {
    const auto start = std::chrono::steady_clock::now();
    Row r{method, 0.0, nn::parameter_bytes(model), 0.0, {}};
    r.accuracy = accuracy(model, test_set, &r.predictions);
    std::printf("  %-44s accuracy in %.1f s\n", method.c_str(), seconds_since(start));
    std::fflush(stdout);
    rows.push_back(r);
    passes.push_back([&model, &singles] { return pass_us(model, singles); });
  };
  std::printf("measuring (accuracy on %zu test images; latency: batch 1, %ld images, median of %d rounds)\n",
              test_set.labels.size(), static_cast<long>(latency_images), repeats);
  add_row("float", net);
  add_row("float, BatchNorm folded", fused);
  add_row("int8, default_qconfig (min/max, per-tensor)", q_minmax);
  add_row("int8, x86 qconfig (histogram, per-channel)", q_x86);
  add_row("int8, QAT with the x86 QAT qconfig", q_qat);
  // Latency in rounds, each timing one pass of every model in turn, so that a slower or faster
  // spell of this (shared) machine reaches every row alike; each row's median over the rounds.
  const auto t_latency = std::chrono::steady_clock::now();
  std::vector<std::vector<double>> times(rows.size());
  for (auto& pass : passes) pass();  // warm-up: caches, the packed weights of each input size
  for (int round = 0; round < repeats; ++round) {
    for (std::size_t i = 0; i < rows.size(); ++i) times[i].push_back(passes[i]());
  }
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].latency_us = median(times[i]);
  std::printf("  latency of every row in %.1f s\n", seconds_since(t_latency));

  const double float_latency = rows[0].latency_us;
  const std::size_t float_bytes = rows[0].weight_bytes;
  std::printf("\n%-44s %9s %12s %8s %13s %8s\n", "method", "accuracy", "weight bytes", "vs float", "latency (us)",
              "speedup");
  for (const auto& r : rows) {
    std::printf("%-44s %8.2f%% %12zu %7.2fx %13.1f %7.2fx\n", r.method.c_str(), 100.0 * r.accuracy, r.weight_bytes,
                static_cast<double>(float_bytes) / static_cast<double>(r.weight_bytes), r.latency_us,
                float_latency / r.latency_us);
  }

  // 5. The same as JSON (with each row's predicted class per test image, which
  //    tools/reference/mobilenet_fashion_mnist_ptq.py compares with PyTorch's) and CSV.
  nlohmann::json report;
  report["dataset"] = {{"train_images", train_set.labels.size()}, {"test_images", test_set.labels.size()}};
  auto epochs_json = [](const std::vector<EpochStats>& h) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : h) {
      a.push_back({{"epoch", e.epoch},
                   {"seconds", e.seconds},
                   {"images_per_second", e.images_per_second},
                   {"lr", e.lr},
                   {"train_loss", e.train_loss},
                   {"train_accuracy", e.train_accuracy},
                   {"test_accuracy", e.test_accuracy}});
    }
    return a;
  };
  report["training"] = epochs_json(history);
  report["qat"] = {{"epochs", epochs_json(qat_history)},
                   {"batches_per_epoch", o.qat_batches},
                   {"lr", o.qat_lr},
                   {"freeze_bn_after_epoch", o.qat_freeze_bn},
                   {"freeze_observer_after_epoch", o.qat_freeze_observer}};
  report["checkpoint"] = o.checkpoint.empty() ? checkpoint_out : o.checkpoint;
  report["calibration_images"] = calib_images;
  report["latency"] = {{"batch", 1}, {"threads", 1}, {"images", latency_images}, {"repeats", repeats}};
  report["rows"] = nlohmann::json::array();
  std::ofstream csv(o.out_dir + "/mobilenet_fashion_mnist.csv");
  csv << "method,accuracy,weight_bytes,size_ratio,latency_us,speedup\n";
  for (const auto& r : rows) {
    const double ratio = static_cast<double>(float_bytes) / static_cast<double>(r.weight_bytes),
                 speedup = float_latency / r.latency_us;
    report["rows"].push_back({{"method", r.method},
                              {"accuracy", r.accuracy},
                              {"weight_bytes", r.weight_bytes},
                              {"size_ratio", ratio},
                              {"latency_us", r.latency_us},
                              {"speedup", speedup},
                              {"predictions", r.predictions}});
    csv << '"' << r.method << "\"," << r.accuracy << ',' << r.weight_bytes << ',' << ratio << ',' << r.latency_us << ','
        << speedup << '\n';
  }
  std::ofstream(o.out_dir + "/mobilenet_fashion_mnist.json") << report.dump(2) << '\n';
  std::ofstream(o.out_dir + "/mobilenet_fashion_mnist.svg") << plot_svg(rows, test_set.labels.size());
  std::printf("\nwritten: %s/mobilenet_fashion_mnist.json, .csv and .svg (the table as a figure)\n", o.out_dir.c_str());

  if (!loss_went_down) {
    std::printf("FAILED: training did not lower the loss\n");
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mobilenet_fashion_mnist: %s\n", e.what());
  return 2;
}
