import type { OptimizerState } from '@cohort/tfjs';

/** JSON form of an {@link OptimizerState}: float arrays as base64 of their little-endian bytes. */
export interface EncodedOptimizerState {
  step: number;
  moments: Record<string, { shape: number[]; firstMoment: string; secondMoment: string }>;
}

function toBase64(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function fromBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/** Encodes optimizer state for a JSON checkpoint field (bit-exact). */
export function encodeOptimizerState(state: OptimizerState): EncodedOptimizerState {
  return {
    step: state.step,
    moments: Object.fromEntries(
      Object.entries(state.moments).map(([name, moment]) => [
        name,
        {
          shape: moment.shape,
          firstMoment: toBase64(moment.firstMoment),
          secondMoment: toBase64(moment.secondMoment),
        },
      ]),
    ),
  };
}

/** Inverse of {@link encodeOptimizerState}. */
export function decodeOptimizerState(encoded: EncodedOptimizerState): OptimizerState {
  return {
    step: encoded.step,
    moments: Object.fromEntries(
      Object.entries(encoded.moments).map(([name, moment]) => [
        name,
        {
          shape: moment.shape,
          firstMoment: fromBase64(moment.firstMoment),
          secondMoment: fromBase64(moment.secondMoment),
        },
      ]),
    ),
  };
}
