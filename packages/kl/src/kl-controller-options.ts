import { z } from 'zod';

/** A fixed KL coefficient beta. */
export const FixedKlControllerOptionsSchema = z.object({
  type: z.literal('fixed'),
  coefficient: z.number().finite().min(0),
});

/** The adaptive KL coefficient of Ziegler et al. 2019. */
export const AdaptiveKlControllerOptionsSchema = z.object({
  type: z.literal('adaptive'),
  initialCoefficient: z.number().finite().min(0),
  /** The KL (nats per sequence or per token, as you measure it) to aim for. */
  target: z.number().finite().positive(),
  /** Steps over which a 20% error changes beta by 20%; Ziegler et al. use 10000. */
  horizon: z.number().finite().positive(),
});

/** Config of a KL controller: `{ type: 'fixed', coefficient }` or `{ type: 'adaptive', initialCoefficient, target, horizon }`. */
export const KlControllerOptionsSchema = z.discriminatedUnion('type', [
  FixedKlControllerOptionsSchema,
  AdaptiveKlControllerOptionsSchema,
]);

export type FixedKlControllerOptions = z.infer<typeof FixedKlControllerOptionsSchema>;
export type AdaptiveKlControllerOptions = z.infer<typeof AdaptiveKlControllerOptionsSchema>;
export type KlControllerOptions = z.infer<typeof KlControllerOptionsSchema>;
