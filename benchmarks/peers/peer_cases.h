// The cases the C++ peers added for convolution (bench_peer_onednn_conv, bench_peer_xnnpack) and for GEMM
// (bench_peer_xnnpack, bench_peer_gemmlowp) share: shapes, random data, and the integer reference every peer's output
// is checked against before it is timed, so that a wrong setup cannot look fast.
//
// GEMM M/N/K: C (M x N, u8) = requantize(A (M x K, u8, zero point 128) x B (K x N, s8, symmetric)), one per-tensor
//   multiplier, no bias: the shapes and the data recipe of bench_peer_onednn.cpp.
// Convolution, NHWC, batch 1: y (OH x OW x C_out, u8, zero point 128) = requantize(conv(x (H x W x C_in, u8, zero
//   point 128), w) + bias). Weights are s8 in [-127, 127] (zero point 0), stored OHWI: [c_out][kh][kw][c_in / groups];
//   bias is int32 in the accumulator's scale (x_scale * w_scale[oc]). Padding holds the zero point, so a padded input
//   adds nothing. The multiplier x_scale * w_scale[oc] / y_scale is per output channel, spread over 0.75x..1.25x of a
//   base that keeps most outputs of the random data inside uint8; a peer that takes only per-tensor weight scales gets
//   a case whose channels all have the base.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace ctq_peers {

constexpr int32_t kSrcZeroPoint = 128;
constexpr int32_t kDstZeroPoint = 128;
constexpr float kSrcScale = 0.02f;
constexpr float kWeightScale = 0.01f;

// Requantization multiplier that keeps most outputs of a K-long dot product of the random inputs (std ~74 for
// x - 128, ~73 for w) inside uint8 instead of saturating.
inline float base_multiplier(int64_t k) { return 40.0f / (std::sqrt(float(k)) * 74.0f * 73.0f); }

// ---------------------------------------------------------------------------------------------------------------
// GEMM

struct GemmShape {
  int64_t m, n, k;
};

// The shapes bench_gemm measures: a linear layer at batch 1, 16, 64; square GEMMs; convolutions as im2col GEMMs.
constexpr GemmShape kGemmShapes[] = {{1, 1024, 1024},    {16, 1024, 1024}, {64, 1024, 1024}, {256, 256, 256},
                                     {1024, 1024, 1024}, {3136, 64, 576},  {12544, 32, 27},  {49, 1280, 320}};

inline std::string gemm_name(const char* prefix, const GemmShape& s) {
  return std::string(prefix) + "/" + std::to_string(s.m) + "/" + std::to_string(s.n) + "/" + std::to_string(s.k);
}

struct GemmCase {
  GemmShape s;
  std::vector<uint8_t> a;  // M x K, row-major
  std::vector<int8_t> b;   // K x N, row-major
  float multiplier;        // a_scale * b_scale / c_scale
};

inline GemmCase make_gemm_case(const GemmShape& s) {
  GemmCase c{s, std::vector<uint8_t>(size_t(s.m * s.k)), std::vector<int8_t>(size_t(s.k * s.n)), base_multiplier(s.k)};
  std::mt19937 gen(1);
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  for (auto& v : c.a) v = uint8_t(u8(gen));
  for (auto& v : c.b) v = int8_t(s8(gen));
  return c;
}

// Compares rows 0 and M-1 of c (M x N, row-major, u8) with the reference, off by at most 1 (rounding): returns ""
// or what is wrong.
inline std::string check_gemm(const GemmCase& g, const uint8_t* c) {
  const GemmShape& s = g.s;
  for (int64_t i : {int64_t{0}, s.m - 1}) {
    for (int64_t j = 0; j < s.n; ++j) {
      int64_t acc = 0;
      for (int64_t p = 0; p < s.k; ++p) acc += (int32_t(g.a[i * s.k + p]) - kSrcZeroPoint) * int32_t(g.b[p * s.n + j]);
      const int64_t want =
          std::clamp<int64_t>(std::llround(double(g.multiplier) * double(acc)) + kDstZeroPoint, 0, 255);
      if (std::abs(want - int64_t(c[i * s.n + j])) > 1) {
        return "wrong result at row " + std::to_string(i) + " col " + std::to_string(j) + ": " +
               std::to_string(c[i * s.n + j]) + ", want " + std::to_string(want);
      }
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------------------------------
// Convolution

struct ConvShape {
  const char* name;  // the key in peers.json
  int64_t h, w, c_in, c_out, groups, kernel, stride, pad;

  int64_t out_h() const { return (h + 2 * pad - kernel) / stride + 1; }
  int64_t out_w() const { return (w + 2 * pad - kernel) / stride + 1; }
  int64_t group_in() const { return c_in / groups; }
  int64_t group_out() const { return c_out / groups; }
  int64_t depth() const { return kernel * kernel * group_in(); }  // products summed into one output
  double ops() const { return 2.0 * double(out_h() * out_w() * c_out) * double(depth()); }
};

// A 3x3 convolution of a ResNet stage and the 3x3 depthwise convolutions of a MobileNetV2 block, stride 1 and 2.
constexpr ConvShape kConvShapes[] = {
    {"conv3x3/56x56x64x64", 56, 56, 64, 64, 1, 3, 1, 1},
    {"dw3x3s1/56x56x144", 56, 56, 144, 144, 144, 3, 1, 1},
    {"dw3x3s2/56x56x144", 56, 56, 144, 144, 144, 3, 2, 1},
};

struct ConvCase {
  ConvShape s;
  std::vector<uint8_t> x;      // H x W x C_in
  std::vector<int8_t> w;       // C_out x KH x KW x C_in/groups (OHWI)
  std::vector<int32_t> bias;   // C_out
  std::vector<float> w_scale;  // C_out; all equal in a per-tensor case
  float y_scale;
  std::vector<float> multiplier;  // C_out: kSrcScale * w_scale[oc] / y_scale
};

inline ConvCase make_conv_case(const ConvShape& s, bool per_channel) {
  ConvCase c{s};
  c.x.resize(size_t(s.h * s.w * s.c_in));
  c.w.resize(size_t(s.c_out * s.depth()));
  c.bias.resize(size_t(s.c_out));
  std::mt19937 gen(1);
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  const int bias_range = int(std::sqrt(double(s.depth())) * 74.0 * 73.0 / 2.0);
  std::uniform_int_distribution<int> bias(-bias_range, bias_range);
  for (auto& v : c.x) v = uint8_t(u8(gen));
  for (auto& v : c.w) v = int8_t(s8(gen));
  for (auto& v : c.bias) v = bias(gen);
  c.y_scale = kSrcScale * kWeightScale / base_multiplier(s.depth());
  for (int64_t oc = 0; oc < s.c_out; ++oc) {
    const float spread = per_channel ? 0.75f + 0.5f * float(oc) / float(std::max<int64_t>(s.c_out - 1, 1)) : 1.0f;
    c.w_scale.push_back(kWeightScale * spread);
    c.multiplier.push_back(kSrcScale * c.w_scale.back() / c.y_scale);
  }
  return c;
}

// Compares output rows 0, OH/2 and OH-1 (the padded edges and the middle) of y (OH x OW x C_out, u8) with the
// reference, off by at most 1 (rounding): returns "" or what is wrong.
inline std::string check_conv(const ConvCase& c, const uint8_t* y) {
  const ConvShape& s = c.s;
  const int64_t oh_n = s.out_h(), ow_n = s.out_w(), gi = s.group_in(), go = s.group_out();
  for (int64_t oh : {int64_t{0}, oh_n / 2, oh_n - 1}) {
    for (int64_t ow = 0; ow < ow_n; ++ow) {
      for (int64_t oc = 0; oc < s.c_out; ++oc) {
        const int64_t g = oc / go;
        int64_t acc = c.bias[oc];
        for (int64_t kh = 0; kh < s.kernel; ++kh) {
          const int64_t ih = oh * s.stride - s.pad + kh;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kernel; ++kw) {
            const int64_t iw = ow * s.stride - s.pad + kw;
            if (iw < 0 || iw >= s.w) continue;
            const uint8_t* xp = &c.x[size_t((ih * s.w + iw) * s.c_in + g * gi)];
            const int8_t* wp = &c.w[size_t(((oc * s.kernel + kh) * s.kernel + kw) * gi)];
            for (int64_t i = 0; i < gi; ++i) acc += (int32_t(xp[i]) - kSrcZeroPoint) * int32_t(wp[i]);
          }
        }
        const int64_t want =
            std::clamp<int64_t>(std::llround(double(c.multiplier[oc]) * double(acc)) + kDstZeroPoint, 0, 255);
        const int64_t got = y[size_t((oh * ow_n + ow) * s.c_out + oc)];
        if (std::abs(want - got) > 1) {
          return "wrong result at (" + std::to_string(oh) + ", " + std::to_string(ow) + ", " + std::to_string(oc) +
                 "): " + std::to_string(got) + ", want " + std::to_string(want);
        }
      }
    }
  }
  return "";
}

}  // namespace ctq_peers
