import { z } from 'zod';

/** How per-token value losses are reduced to one number. */
export const ValueLossAggregationSchema = z
  .enum(['token-mean', 'sequence-mean', 'constant'])
  .describe(
    "'token-mean': sum over masked tokens / their count; 'sequence-mean': mean over sequences of each one's masked mean; 'constant': sum / a constant (default batch * maxLength).",
  );

/** How per-token value losses are reduced; see {@link ValueLossAggregationSchema}. */
export type ValueLossAggregation = z.output<typeof ValueLossAggregationSchema>;

/**
 * The value-loss settings a trainer config embeds. `clipRange` absent means no
 * clipping; verl and OpenRLHF default to 0.5 (verl `cliprange_value`), TRL's
 * PPOTrainer to 0.2 (`cliprange_value`).
 *
 * @example
 * ```ts
 * ValueLossConfigSchema.parse({ clipRange: 0.2 }); // { clipRange: 0.2, aggregation: 'token-mean' }
 * ```
 */
export const ValueLossConfigSchema = z
  .object({
    clipRange: z.number().positive().optional().describe('Clip V within V_old +- clipRange.'),
    aggregation: ValueLossAggregationSchema.default('token-mean'),
    constantNormalizer: z
      .number()
      .positive()
      .optional()
      .describe("Denominator of 'constant' aggregation; default batch * maxLength."),
    emptyRows: z
      .enum(['count', 'exclude'])
      .optional()
      .describe(
        "For 'sequence-mean': rows with no masked position count in the mean ('count', default, TRL and the policy loss) or not ('exclude', verl, OpenRLHF).",
      ),
  })
  .strict();

/** Parsed value-loss settings, defaults filled in. */
export type ValueLossConfig = z.output<typeof ValueLossConfigSchema>;
