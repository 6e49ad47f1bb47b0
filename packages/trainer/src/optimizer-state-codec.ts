import type { OptimizerState } from '@cohort/tfjs';

/** JSON form of an {@link OptimizerState}: float arrays as base64 of their little-endian bytes. */
export interface EncodedOptimizerState {
  step: number;
  moments: Record<string, { shape: number[]; firstMoment: string; secondMoment: string }>;
}

/** Base64 of the little-endian bytes of `values` (bit-exact). */
export function float32ToBase64(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** Inverse of {@link float32ToBase64}. */
export function base64ToFloat32(text: string): Float32Array {
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
          firstMoment: float32ToBase64(moment.firstMoment),
          secondMoment: float32ToBase64(moment.secondMoment),
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
          firstMoment: base64ToFloat32(moment.firstMoment),
          secondMoment: base64ToFloat32(moment.secondMoment),
        },
      ]),
    ),
  };
}
