import * as tf from '@tensorflow/tfjs';

interface WasmBackendBuffers {
  incRef(dataId: tf.DataId): void;
}

let registered = false;

/**
 * Makes the WASM backend's `Identity` kernel share its input's buffer (with
 * a reference count), as tfjs's cpu backend does, instead of copying it.
 *
 * Why: tfjs saves every tensor that a backward pass needs through `Identity`
 * (`engine.clone`), both for its own kernels and for `customGrad`'s `save`.
 * On WASM that copied every saved activation, and every frozen weight that a
 * LoRA projection saves, once per forward pass: a LoRA step on a 30M Llama
 * held a copy of the whole base model until its backward pass ended. tfjs
 * buffers are immutable (a variable's `assign` takes a new buffer), so
 * sharing one is safe; `Reshape` already shares on WASM.
 */
export function shareIdentityBuffersOnWasm(): void {
  if (registered) return;
  const original = tf.getKernel('Identity', 'wasm');
  if (original === undefined) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return original.kernelFunc(args);
      (args.backend as unknown as WasmBackendBuffers).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  registered = true;
}
