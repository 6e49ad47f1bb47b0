/**
 * Writes the warm-started order-desk model to `model/` (Hugging Face layout):
 * `pnpm --filter @cohort/example-openai-agent make-model`. It runs the
 * shipped schedule ({@link defaultWarmStart}) and prints the held-out
 * P(stated number) every 20 steps.
 */
import { fileURLToPath } from 'node:url';
import { initializeBackend } from '@cohort/tfjs';
import { saveHuggingFaceModel } from '@cohort/tfjs/node';
import { makeOrderDeskModel } from './order-desk-model';

await initializeBackend({ logger: false });
const started = performance.now();
const { policy, tokenizer, losses } = await makeOrderDeskModel({
  seed: 1,
  probeEvery: 20,
  onProbe: (probe) =>
    console.log(
      `step ${probe.step}: held-out P(stated) ${probe.heldOut.toFixed(3)}, most likely call stated for ${(100 * probe.heldOutArgmax).toFixed(0)}% of customers`,
    ),
});
const directory = fileURLToPath(new URL('../model', import.meta.url));
await saveHuggingFaceModel(directory, {
  config: policy.model.config,
  weights: policy.getWeights(),
  tokenizerFiles: tokenizer.toFiles(),
});
console.log(
  `wrote ${directory}: loss ${losses[0]!.toFixed(3)} -> ${losses.at(-1)!.toFixed(3)}, ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
