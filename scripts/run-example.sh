#!/usr/bin/env bash
# Installs the dependencies, builds the main example and runs it, then PyTorch's static-quantization
# tutorial reproduced on Fashion-MNIST from the committed float checkpoint (PTQ twice, QAT; about
# a minute; without --checkpoint it trains the float network first, about 10 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
CTQ_TEST_AARCH64=0 scripts/install-deps.sh  # the example needs no cross toolchain
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCTQ_BUILD_EXAMPLES=ON
cmake --build build --target ptq_static mobilenet_fashion_mnist -j "${CTQ_JOBS:-$(nproc)}"
build/examples/ptq_static
build/examples/mobilenet_fashion_mnist --checkpoint examples/data/mobilenet_fashion_mnist.safetensors \
  --out build/mobilenet_fashion_mnist
