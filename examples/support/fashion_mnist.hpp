// Fashion-MNIST for the examples: reads the dataset's gzipped IDX files (Debian's
// dataset-fashion-mnist installs them in fashion_mnist::default_dir) into channels-last float
// images [N, 28, 28, 1] with pixels / 255, and their labels. Needs zlib.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <ctq/core.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace fashion_mnist {

using ctq::index_t;
using ctq::Tensor;

inline constexpr const char* default_dir = "/usr/share/datasets/fashion-mnist";

// Images [N, 28, 28, 1], pixels / 255, and their classes 0..9.
struct Dataset {
  Tensor<float, 4> images;
  std::vector<int> labels;
};

// An IDX file, gzipped: a big-endian magic (0x0000 0x08 = unsigned bytes, then the rank), the
// rank's big-endian uint32 sizes, then the bytes. Reads the first `limit` items (along dimension
// 0); `sizes` gets the file's sizes with dimension 0 cut to the items read.
inline std::vector<std::uint8_t> read_idx(const std::string& path, int rank, std::size_t limit,
                                          std::vector<std::uint32_t>& sizes) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw std::runtime_error("cannot open " + path +
                             " (install Debian's Fashion-MNIST: apt-get install dataset-fashion-mnist, or pass "
                             "--data DIR)");
  }
  auto read = [&](void* out, std::size_t n) {
    if (gzread(f, out, static_cast<unsigned>(n)) != static_cast<int>(n)) {
      gzclose(f);
      throw std::runtime_error(path + ": truncated or not gzip");
    }
  };
  std::uint8_t b[4];
  read(b, 4);
  if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] != rank) {
    gzclose(f);
    throw std::runtime_error(path + ": not an IDX file of unsigned bytes and rank " + std::to_string(rank));
  }
  sizes.assign(static_cast<std::size_t>(rank), 0);
  for (auto& s : sizes) {
    read(b, 4);
    s = std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
  }
  sizes[0] = static_cast<std::uint32_t>(std::min<std::size_t>(sizes[0], limit));
  std::size_t count = 1;
  for (auto s : sizes) count *= s;
  std::vector<std::uint8_t> data(count);
  read(data.data(), count);
  gzclose(f);
  return data;
}

// The first `limit` images of a split ("train" or "t10k") in `dir`.
inline Dataset load(const std::string& dir, const std::string& split, std::size_t limit) {
  std::vector<std::uint32_t> image_sizes, label_sizes;
  const auto pixels = read_idx(dir + "/" + split + "-images-idx3-ubyte.gz", 3, limit, image_sizes);
  const auto labels = read_idx(dir + "/" + split + "-labels-idx1-ubyte.gz", 1, limit, label_sizes);
  if (image_sizes[1] != 28 || image_sizes[2] != 28 || image_sizes[0] != label_sizes[0]) {
    throw std::runtime_error(dir + ": " + split + " images are not 28x28 or do not match the labels");
  }
  const auto n = static_cast<index_t>(image_sizes[0]);
  Dataset d{Tensor<float, 4>({n, 28, 28, 1}), std::vector<int>(labels.begin(), labels.end())};
  for (index_t i = 0; i < d.images.size(); ++i) d.images[i] = pixels[static_cast<std::size_t>(i)] / 255.0f;
  return d;
}

// Images [begin, end) as one batch.
inline Tensor<float, 4> batch(const Tensor<float, 4>& images, index_t begin, index_t end) {
  Tensor<float, 4> b({end - begin, 28, 28, 1});
  std::copy(images.values().begin() + begin * 784, images.values().begin() + end * 784, b.values().begin());
  return b;
}

}  // namespace fashion_mnist
