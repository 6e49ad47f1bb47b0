/** The runtimes a chat model runs on: TensorFlow.js (the trainable weights) or transformers.js (an exported ONNX graph). */
export const chatEngines = ['tfjs', 'transformers.js'] as const;

/** One of {@link chatEngines}. */
export type ChatEngine = (typeof chatEngines)[number];
