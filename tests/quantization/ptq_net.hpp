// The conv net of tools/reference/gen_ptq_static.py, as a ctq type (same dotted names).
#pragma once

#include <ctq/ctq.hpp>

namespace ctq_test {

using namespace ctq;

using PtqBody =
    nn::Sequential<nn::named<"conv_a", nn::Conv2d<16, 16, 3, 1, 1, 1, 1, false>>,
                   nn::named<"bn_a", nn::BatchNorm2d<16>>, nn::named<"relu_a", nn::ReLU>,
                   nn::named<"conv_b", nn::Conv2d<16, 16, 3, 1, 1>>, nn::named<"bn_b", nn::BatchNorm2d<16>>>;

using PtqNet = nn::Sequential<nn::named<"quant", QuantStub>, nn::named<"conv1", nn::Conv2d<3, 16, 3, 1, 1>>,
                              nn::named<"bn1", nn::BatchNorm2d<16>>, nn::named<"relu1", nn::ReLU>,
                              nn::named<"block", nn::Residual<PtqBody>>, nn::named<"relu2", nn::ReLU>,
                              nn::named<"pool", nn::MaxPool2d<2>>, nn::named<"conv3", nn::Conv2d<16, 32, 3, 2, 1>>,
                              nn::named<"relu3", nn::ReLU>, nn::named<"dw", nn::Conv2d<32, 32, 3, 1, 1, 1, 32>>,
                              nn::named<"bn_dw", nn::BatchNorm2d<32>>, nn::named<"relu_dw", nn::ReLU>,
                              nn::named<"avgpool", nn::AdaptiveAvgPool2d<1, 1>>, nn::named<"flatten", nn::Flatten>,
                              nn::named<"fc1", nn::Linear<32, 24>>, nn::named<"relu4", nn::ReLU>,
                              nn::named<"fc2", nn::Linear<24, 10>>, nn::named<"dequant", DeQuantStub>>;

template <class Net>
auto fuse_ptq_net(Net net) {
  return fuse_modules<fuse<"conv1", "bn1", "relu1">, fuse<"block.body.conv_a", "block.body.bn_a", "block.body.relu_a">,
                      fuse<"block.body.conv_b", "block.body.bn_b">, fuse<"conv3", "relu3">,
                      fuse<"dw", "bn_dw", "relu_dw">, fuse<"fc1", "relu4">>(std::move(net));
}

}  // namespace ctq_test
