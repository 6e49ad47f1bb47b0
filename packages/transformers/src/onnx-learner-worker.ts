// One worker of an OnnxLearnerPool: an OnnxLearner on one ONNX Runtime thread,
// computing the log-probs and gradients of its share of each call.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { createOnnxGptLearner, createOnnxLlamaLearner, type OnnxLearner } from './onnx-learner';
import type {
  OnnxLearnerPoolRequest,
  OnnxLearnerPoolResponse,
  OnnxLearnerPoolWorkerData,
  PoolWeights,
} from './onnx-learner-pool-protocol';

// tfjs only carries values in and out here (ONNX Runtime computes): its plain CPU backend does,
// without the WASM module that @cohort/tfjs registers first and this thread never initializes.
await tf.setBackend('cpu');
// Its "looks like you are running TensorFlow.js in Node.js" banner (one per worker) is noise here.
const cpu = tf.findBackend('cpu') as { firstUse?: unknown } | null;
if (cpu && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;

const data = workerData as OnnxLearnerPoolWorkerData;
const port = parentPort;
if (port === null) throw new Error('onnx-learner-worker runs as a worker thread');

const session = {
  intraOpNumThreads: 1,
  ...(data.padTokenId !== undefined ? { padTokenId: data.padTokenId } : {}),
  ...(data.sequencesPerRun !== undefined ? { sequencesPerRun: data.sequencesPerRun } : {}),
  ...(data.tokensPerRun !== undefined ? { tokensPerRun: data.tokensPerRun } : {}),
};
const ready: Promise<OnnxLearner> =
  data.family === 'llama'
    ? createOnnxLlamaLearner({
        config: data.config,
        ...(data.lora !== undefined ? { lora: data.lora } : {}),
        ...session,
      })
    : createOnnxGptLearner({ config: data.config, ...session });

function tensors(weights: PoolWeights): Record<string, tf.Tensor> {
  return Object.fromEntries(
    Object.entries(weights).map(([name, { values, shape }]) => [name, tf.tensor(values, shape)]),
  );
}

function describe(error: unknown): OnnxLearnerPoolResponse['error'] {
  const record = error as { message?: unknown; argument?: unknown; value?: unknown };
  return {
    message: String(record?.message ?? error),
    ...(typeof record?.argument === 'string' ? { argument: record.argument } : {}),
    ...(record?.argument !== undefined ? { value: safeValue(record.value) } : {}),
  };
}

/** A value that survives structured cloning (an error's value may be anything). */
function safeValue(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return String(value);
  }
}

port.on('message', async (request: OnnxLearnerPoolRequest) => {
  const reply = (response: Omit<OnnxLearnerPoolResponse, 'id'>, transfer: ArrayBuffer[] = []) =>
    port.postMessage({ id: request.id, ...response }, transfer);
  let created: tf.Tensor[] = [];
  try {
    const learner = await ready;
    if (request.type === 'ready') {
      reply({});
      return;
    }
    if (request.type === 'frozen') {
      const frozen = tensors(request.weights);
      created = Object.values(frozen);
      learner.setFrozenWeights(frozen);
      reply({});
      return;
    }
    const weights = tensors(request.weights);
    created = Object.values(weights);
    const batch = {
      sequences: request.sequences,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    };
    if (request.type === 'logProbs') {
      const result = await learner.logProbs(weights, batch);
      reply({ logProbs: result.logProbs, entropy: result.entropy, shape: result.shape }, [
        result.logProbs.buffer as ArrayBuffer,
        result.entropy.buffer as ArrayBuffer,
      ]);
      return;
    }
    const result = await learner.gradients(
      weights,
      batch,
      request.dLogp as Float32Array,
      request.dEntropy,
    );
    const gradients: Record<string, Float32Array> = {};
    for (const [name, gradient] of Object.entries(result.gradients)) {
      gradients[name] = gradient.dataSync() as Float32Array;
      gradient.dispose();
    }
    reply({ logProbs: result.logProbs, entropy: result.entropy, shape: result.shape, gradients }, [
      result.logProbs.buffer as ArrayBuffer,
      result.entropy.buffer as ArrayBuffer,
      ...Object.values(gradients).map((values) => values.buffer as ArrayBuffer),
    ]);
  } catch (error) {
    reply({ error: describe(error) });
  } finally {
    tf.dispose(created);
  }
});
