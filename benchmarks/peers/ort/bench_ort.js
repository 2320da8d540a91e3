// Peer benchmark for ctq's int8 GEMM and convolution: ONNX Runtime's QLinearMatMul and QLinearConv (CPU execution
// provider, MLAS), single-threaded.
//
// Times session.run on each model make_models.py wrote, with intraOpNumThreads = interOpNumThreads = 1:
//   models/M_N_K.onnx: QLinearMatMul, uint8 activations times int8 weights held as initializers, requantized to
//     uint8. The first row of each result is checked against make_models.py's integer reference before timing.
//   models/conv_<shape>.onnx: QLinearConv in ONNX Runtime's NHWC form (com.microsoft, channels_last = 1) on the cases
//     of peer_cases.h, uint8 NHWC activations, int8 per-output-channel weights and an int32 bias as initializers,
//     uint8 NHWC output. All of the output is checked against make_models.py's integer reference before timing.
// After a warm-up, each of --reps repetitions is a batch of calls lasting about --rep-ms; the time of one call is the
// median over the repetitions, and includes the Node binding's per-call overhead (a few microseconds, visible at
// M = 1).
//
// Prints JSON {"gemm": {"M/N/K": GOP/s, ...}, "conv": {"<shape>": {"gops": GOP/s, "us": microseconds}, ...}},
// GOP/s = operations (2*M*N*K; 2 * OH*OW*C_out * KH*KW*C_in/group) / time of one call.
// Usage: node bench_ort.js [--reps 7] [--rep-ms 20]   (after npm install --ignore-scripts and make_models.py)
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');

const SHAPES = [[1, 1024, 1024], [16, 1024, 1024], [64, 1024, 1024], [256, 256, 256], [1024, 1024, 1024],
  [3136, 64, 576], [12544, 32, 27], [49, 1280, 320]];
// name, H, W, C_in, C_out, group, kernel, stride, padding: the cases of peer_cases.h
const CONV_SHAPES = [
  ['conv3x3/56x56x64x64', 56, 56, 64, 64, 1, 3, 1, 1],
  ['dw3x3s1/56x56x144', 56, 56, 144, 144, 144, 3, 1, 1],
  ['dw3x3s2/56x56x144', 56, 56, 144, 144, 144, 3, 2, 1],
];
const MODELS = path.join(__dirname, 'models');

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

function now() { return Number(process.hrtime.bigint()) * 1e-9; }

// Median seconds per call over `reps` batches of calls, each lasting about repSeconds.
async function timeCall(f, reps, repSeconds) {
  let t0 = now();
  let calls = 0;
  while (calls < 3 || now() - t0 < 0.05) {  // warm-up, and an estimate of one call
    await f();
    ++calls;
  }
  const batch = Math.max(1, Math.floor(repSeconds / ((now() - t0) / calls)));
  const times = [];
  for (let r = 0; r < reps; ++r) {
    t0 = now();
    for (let i = 0; i < batch; ++i) await f();
    times.push((now() - t0) / batch);
  }
  return median(times);
}

const SESSION_OPTIONS = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

// Largest difference between got[i] and want[i], i < count.
function maxError(got, want, count) {
  let err = 0;
  for (let i = 0; i < count; ++i) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err;
}

async function benchGemm(reps, repSeconds) {
  const results = {};
  for (const [m, n, k] of SHAPES) {
    const key = `${m}/${n}/${k}`;
    const stem = path.join(MODELS, `${m}_${n}_${k}`);
    if (!fs.existsSync(`${stem}.onnx`)) {
      console.error(`bench_ort: ${stem}.onnx missing (run make_models.py), ${key} left out`);
      continue;
    }
    const session = await ort.InferenceSession.create(`${stem}.onnx`, SESSION_OPTIONS);
    const a = new Uint8Array(fs.readFileSync(`${stem}.a.bin`));
    const want = new Uint8Array(fs.readFileSync(`${stem}.y0.bin`));
    const feeds = {a: new ort.Tensor('uint8', a, [m, k])};
    const err = maxError((await session.run(feeds)).y.data, want, n);
    if (err > 1) {
      console.error(`bench_ort: ${key}: first row off by ${err}, left out`);
    } else {
      results[key] = 2 * m * n * k / await timeCall(() => session.run(feeds), reps, repSeconds) * 1e-9;
    }
    await session.release();
  }
  return results;
}

async function benchConv(reps, repSeconds) {
  const results = {};
  for (const [name, h, w, cIn, cOut, group, kernel, stride, padding] of CONV_SHAPES) {
    const stem = path.join(MODELS, `conv_${name.replace('/', '_')}`);
    if (!fs.existsSync(`${stem}.onnx`)) {
      console.error(`bench_ort: ${stem}.onnx missing (run make_models.py), ${name} left out`);
      continue;
    }
    let session;
    try {
      session = await ort.InferenceSession.create(`${stem}.onnx`, SESSION_OPTIONS);
    } catch (e) {
      console.error(`bench_ort: ${name}: ${String(e.message || e).split('\n')[0]}, left out`);
      continue;
    }
    const oh = Math.floor((h + 2 * padding - kernel) / stride) + 1;
    const ow = Math.floor((w + 2 * padding - kernel) / stride) + 1;
    const x = new Uint8Array(fs.readFileSync(`${stem}.x.bin`));
    const want = new Uint8Array(fs.readFileSync(`${stem}.y.bin`));
    const feeds = {x: new ort.Tensor('uint8', x, [1, h, w, cIn])};
    const err = maxError((await session.run(feeds)).y.data, want, want.length);
    if (err > 1) {
      console.error(`bench_ort: ${name}: output off by ${err}, left out`);
    } else {
      const seconds = await timeCall(() => session.run(feeds), reps, repSeconds);
      const ops = 2 * oh * ow * cOut * kernel * kernel * (cIn / group);
      results[name] = {gops: ops / seconds * 1e-9, us: seconds * 1e6};
    }
    await session.release();
  }
  return results;
}

async function main() {
  const reps = option('--reps', 7);
  const repSeconds = option('--rep-ms', 20) * 1e-3;
  const gemm = await benchGemm(reps, repSeconds);
  const conv = await benchConv(reps, repSeconds);
  console.log(JSON.stringify({gemm, conv}));
}

main().catch((e) => {
  console.error(`bench_ort: ${e.stack || e}`);
  process.exit(1);
});
