import { z } from 'zod';

/** Zod schema of {@link GatewayRolloutSourceOptions} (without the gateway). */
export const GatewayRolloutSourceOptionsSchema = z
  .object({
    groupTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(600_000)
      .describe(
        'A group whose episodes have not all posted a reward this long after its tasks were offered is dropped and reported.',
      ),
  })
  .strict();

export type GatewayRolloutSourceOptions = z.input<typeof GatewayRolloutSourceOptionsSchema>;
