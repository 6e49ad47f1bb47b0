import { z } from 'zod';

/**
 * Manifest of a checkpoint directory: what each file holds and its SHA-256,
 * so that damage is detected before anything is loaded.
 */
export const CheckpointManifestSchema = z
  .object({
    format: z.literal('cohort-checkpoint'),
    formatVersion: z.literal(1),
    step: z.number().int().nonnegative(),
    createdAt: z.string(),
    files: z.record(
      z.string(),
      z
        .object({
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
          bytes: z.number().int().nonnegative(),
        })
        .strict(),
    ),
    metadata: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type CheckpointManifest = z.output<typeof CheckpointManifestSchema>;
