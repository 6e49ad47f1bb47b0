import { InvalidArgumentError } from '@cohort/core';
import { LlamaPolicy, readSafetensors, writeSafetensors } from '@cohort/tfjs';
import type { PolicySnapshot } from '@cohort/transport';
import type { TrainablePolicy } from './trainable-policy';

/** What a policy snapshot holds: every weight, or only the LoRA (low-rank adaptation) adapters. */
export type PolicySnapshotKind = 'full' | 'adapter';

/** `'adapter'` for a policy whose `getWeights()` is its LoRA adapters only (a Llama-family policy with `lora`). */
export function policySnapshotKind(policy: TrainablePolicy): PolicySnapshotKind {
  // A sampling wrapper (the hybrid engine's OnnxSampledPolicy) exposes the tfjs policy it trains.
  const inner = policy instanceof LlamaPolicy ? policy : (policy as { policy?: unknown }).policy;
  return inner instanceof LlamaPolicy && inner.model.lora !== undefined ? 'adapter' : 'full';
}

/**
 * The policy's current version as a {@link PolicySnapshot} for rollout
 * workers: its `getWeights()` in safetensors (float32, so a worker samples
 * with exactly the learner's weights). A LoRA policy publishes only its
 * adapters (kind `'adapter'`): the frozen base is already on every worker.
 *
 * @example
 * ```ts
 * await transport.publishPolicy(encodePolicySnapshot(policy));
 * ```
 */
export function encodePolicySnapshot(policy: TrainablePolicy): PolicySnapshot {
  const kind = policySnapshotKind(policy);
  return {
    version: policy.version,
    kind,
    bytes: writeSafetensors(policy.getWeights(), { kind, version: String(policy.version) }),
  };
}

/**
 * Loads a snapshot from {@link encodePolicySnapshot} into a worker's policy
 * and sets its version, so the trajectories it samples carry the version.
 *
 * @throws InvalidArgumentError when the snapshot's kind does not fit the
 * policy (adapters for a fully trained policy, or the reverse).
 */
export function applyPolicySnapshot(policy: TrainablePolicy, snapshot: PolicySnapshot): void {
  const expected = policySnapshotKind(policy);
  if (snapshot.kind !== expected) {
    throw new InvalidArgumentError({
      argument: 'snapshot.kind',
      value: snapshot.kind,
      message: `does not fit this worker's policy, which takes '${expected}' snapshots (is the worker's model set up like the learner's, LoRA included?)`,
    });
  }
  const { weights } = readSafetensors(snapshot.bytes, {
    source: `policy snapshot v${snapshot.version}`,
  });
  policy.setWeights(weights);
  policy.version = snapshot.version;
}
