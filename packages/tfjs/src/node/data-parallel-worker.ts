/**
 * The worker side of {@link DataParallelLearner}: one replica of the GPT or
 * Llama-family model on its own tfjs WASM backend, which loads the leader's
 * weights (a LoRA model's frozen base once, then its adapters) and returns the
 * gradient of its share of a minibatch, packed in the trainable variables' order.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initializeBackend } from '../backend';
import { createGptModel } from '../gpt-model';
import { createLlamaModel } from '../llama/llama-model';
import {
  type LeaderMessage,
  type ReplicableModel,
  type ShardLoss,
  trainableParameterCount,
  type WorkerMessage,
} from './data-parallel-protocol';
import { computeShardGradient } from './shard-gradient';

const port = parentPort;
if (port === null) throw new Error('data-parallel-worker must run in a worker thread');

let model: ReplicableModel | undefined;
let loss: ShardLoss | undefined;
let workerIndex = 0;

function reply(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function fail(id: number | null, error: unknown): void {
  const { name, message, stack } =
    error instanceof Error ? error : { name: 'Error', message: String(error), stack: undefined };
  reply({ type: 'error', id, name, message, ...(stack ? { stack } : {}) });
}

async function handle(message: LeaderMessage): Promise<void> {
  if (message.type === 'init') {
    await initializeBackend({ backend: 'wasm', logger: false });
    workerIndex = message.workerIndex;
    const { replica } = message;
    model =
      replica.family === 'gpt2'
        ? createGptModel({ config: replica.config })
        : createLlamaModel({
            config: replica.config,
            ...(replica.lora === undefined ? {} : { lora: replica.lora }),
          });
    const module = (await import(message.lossModule)) as { default?: ShardLoss };
    if (typeof module.default !== 'function') {
      throw new Error(`loss module ${message.lossModule} has no default export function`);
    }
    loss = module.default;
    reply({ type: 'ready', parameterCount: trainableParameterCount(model) });
    return;
  }
  if (model === undefined || loss === undefined) throw new Error('worker used before init');
  const replica = model;
  if (message.type === 'frozen') {
    replica.setWeights(message.weights);
    reply({ type: 'done', id: message.id });
    return;
  }
  if (message.type === 'weights') {
    let offset = 0;
    for (const variable of replica.trainableVariables()) {
      const value = tf.tensor(
        message.packed.subarray(offset, offset + variable.size),
        variable.shape,
      );
      variable.assign(value);
      value.dispose();
      offset += variable.size;
    }
    reply({ type: 'done', id: message.id });
    return;
  }
  const shard = computeShardGradient({
    model: replica,
    loss,
    items: message.items,
    shared: message.shared,
    shardIndex: workerIndex,
  });
  reply(
    {
      type: 'gradients',
      id: message.id,
      ...shard,
    },
    [shard.packed.buffer as ArrayBuffer],
  );
}

port.on('message', (message: LeaderMessage) => {
  const id = message.type === 'init' ? null : message.id;
  handle(message).catch((error: unknown) => fail(id, error));
});
