import * as tf from '@tensorflow/tfjs';

/** The function that `tf.customGrad` takes (tfjs does not export its type). */
type CustomGradientFunction = Parameters<typeof tf.customGrad>[0];

/**
 * `tf.customGrad` with a typed result. `f` receives the inputs followed by the
 * `save` callback and returns `{ value, gradFunc }` (typed as `never[]` because
 * the argument list mixes tensors and the callback).
 */
export function customGradient<T extends tf.Tensor>(
  f: (...inputs: never[]) => {
    value: T;
    gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  },
): (...inputs: tf.Tensor[]) => T {
  const tidied = (...inputs: never[]) => {
    const { value, gradFunc } = f(...inputs);
    return { value, gradFunc: (dy: T, saved: tf.Tensor[]) => tf.tidy(() => gradFunc(dy, saved)) };
  };
  return tf.customGrad(tidied as unknown as CustomGradientFunction) as unknown as (
    ...inputs: tf.Tensor[]
  ) => T;
}
