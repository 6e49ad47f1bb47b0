/**
 * A learned state-value function V(s) over token sequences, for PPO and GAE.
 *
 * Guarantees: `values` returns `[batch, maxLength]` in the runtime's tensor
 * type, where position t is the value of the state after tokens `0..t`; it is
 * differentiable with respect to `trainableVariables()`.
 */
export interface ValueFunction<TensorType = unknown, VariableType = unknown> {
  values(request: { sequences: readonly (readonly number[])[] }): TensorType;
  trainableVariables(): readonly VariableType[];
}
