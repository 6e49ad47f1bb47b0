import path from 'node:path';
import { writeFileAtomic } from '@cohort/trainer';

/** What the supervised loop reports: the first step's loss and the smoothed loss every 10 steps. */
export interface TrainingLoss {
  initialLoss: number;
  finalLoss: number;
  lossHistory: { step: number; loss: number }[];
}

/** Options of {@link writeTrainingRecord}. */
export interface WriteTrainingRecordOptions<Head extends object, Tail extends object> {
  /** The model folder; the record goes to `<out>/training.json`. */
  out: string;
  /** Fields before the losses (the command, seed, data and model). */
  head: Head;
  training: { initialLoss: number; lossHistory: { step: number; loss: number }[] };
  /** Fields after the losses (held-out results). */
  tail: Tail;
  /** The tfjs backend that trained the model. */
  backend: string;
  /** `performance.now()` when the whole job started. */
  started: number;
}

/**
 * The record of an `sft` job, written atomically to `<out>/training.json`
 * and returned: `head`, the losses (the final one is the last smoothed
 * value), `tail`, the backend and the seconds since `started`. Both SFT
 * commands end with it, so their records share one shape.
 *
 * @example
 * ```ts
 * const result = await writeTrainingRecord({ out, head: { command, seed }, training, tail: {}, backend: 'wasm', started });
 * ```
 */
export async function writeTrainingRecord<Head extends object, Tail extends object>(
  options: WriteTrainingRecordOptions<Head, Tail>,
): Promise<Head & TrainingLoss & Tail & { backend: string; seconds: number }> {
  const { initialLoss, lossHistory } = options.training;
  const record = {
    ...options.head,
    initialLoss,
    finalLoss: lossHistory.at(-1)?.loss ?? Number.NaN,
    lossHistory,
    ...options.tail,
    backend: options.backend,
    seconds: Number(((performance.now() - options.started) / 1000).toFixed(1)),
  };
  await writeFileAtomic(
    path.join(options.out, 'training.json'),
    `${JSON.stringify(record, null, 2)}\n`,
  );
  return record;
}
