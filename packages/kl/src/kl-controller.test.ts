import { InvalidArgumentError, NonFiniteError, ValidationError } from '@cohort/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveKlController, createKlController, FixedKlController } from './kl-controller';

describe('AdaptiveKlController', () => {
  it('follows Ziegler et al. 2019 on values computed by hand', () => {
    const controller = new AdaptiveKlController({
      initialCoefficient: 0.1,
      target: 6,
      horizon: 10000,
    });
    // KL 12: error clip(12/6 - 1) = 0.2 -> 0.1 * (1 + 0.2 * 512/10000) = 0.101024
    expect(controller.update(12, 512)).toBeCloseTo(0.101024, 12);
    // KL 6.6: error 0.1 -> * (1 + 0.1 * 1000/10000) = * 1.01
    expect(controller.update(6.6, 1000)).toBeCloseTo(0.101024 * 1.01, 12);
    // KL 0: error clipped to -0.2 -> * (1 - 0.2 * 2500/10000) = * 0.95
    expect(controller.update(0, 2500)).toBeCloseTo(0.101024 * 1.01 * 0.95, 12);
    // KL on target: unchanged
    const before = controller.coefficient;
    expect(controller.update(6, 100)).toBe(before);
  });

  it('moves the coefficient by at most a factor 1 +/- 0.2 * steps / horizon per update (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-4, max: 10, noNaN: true }),
        fc.double({ min: 1e-3, max: 20, noNaN: true }),
        fc.double({ min: 1, max: 1e5, noNaN: true }),
        fc.array(
          fc.record({
            kl: fc.double({ min: -5, max: 1e3, noNaN: true }),
            fraction: fc.double({ min: 1e-6, max: 4.9, noNaN: true }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (initialCoefficient, target, horizon, updates) => {
          const controller = new AdaptiveKlController({ initialCoefficient, target, horizon });
          for (const { kl, fraction } of updates) {
            const steps = fraction * horizon;
            const before = controller.coefficient;
            const after = controller.update(kl, steps);
            const bound = 0.2 * (steps / horizon);
            const tolerance = 1e-12 * before;
            if (
              after < before * (1 - bound) - tolerance ||
              after > before * (1 + bound) + tolerance
            )
              return false;
            if (!(after > 0)) return false;
            if (kl > target && after < before) return false;
            if (kl < target && after > before) return false;
          }
          return true;
        },
      ),
      { seed: 17, numRuns: 300 },
    );
  });

  it('round-trips its state through JSON', () => {
    const controller = new AdaptiveKlController({
      initialCoefficient: 0.05,
      target: 2,
      horizon: 100,
    });
    controller.update(5, 10);
    const saved = JSON.parse(JSON.stringify(controller.getState()));
    const restored = new AdaptiveKlController({ initialCoefficient: 1, target: 2, horizon: 100 });
    restored.setState(saved);
    expect(restored.coefficient).toBe(controller.coefficient);
    expect(restored.update(1, 3)).toBe(controller.update(1, 3));
    expect(() =>
      restored.setState({ type: 'adaptive', coefficient: 0.1, target: 3, horizon: 100 }),
    ).toThrow(InvalidArgumentError);
    expect(() => restored.setState({ type: 'fixed', coefficient: 0.1 })).toThrow(/state.type/);
  });

  it('rejects bad options and updates with typed errors', () => {
    expect(
      () => new AdaptiveKlController({ initialCoefficient: 0.1, target: 0, horizon: 10 }),
    ).toThrow(ValidationError);
    expect(
      () => new AdaptiveKlController({ initialCoefficient: -1, target: 1, horizon: 10 }),
    ).toThrow(/initialCoefficient/);
    const controller = new AdaptiveKlController({
      initialCoefficient: 0.1,
      target: 1,
      horizon: 10,
    });
    try {
      controller.update(Number.NaN, 1);
      expect.unreachable();
    } catch (error) {
      expect(NonFiniteError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/observedKl is NaN/);
    }
    expect(() => controller.update(1, 0)).toThrow(/steps = 0/);
    expect(() => controller.update(1, 50)).toThrow(/steps = 50.*horizon/);
    expect(controller.coefficient).toBe(0.1);
  });
});

describe('FixedKlController and createKlController', () => {
  it('keeps a fixed coefficient and round-trips its state', () => {
    const controller = new FixedKlController({ coefficient: 0.04 });
    expect(controller.update(100, 10)).toBe(0.04);
    expect(controller.getState()).toEqual({ type: 'fixed', coefficient: 0.04 });
    controller.setState({ type: 'fixed', coefficient: 0.5 });
    expect(controller.coefficient).toBe(0.5);
    expect(() => controller.update(Number.POSITIVE_INFINITY, 1)).toThrow(NonFiniteError);
    expect(() => new FixedKlController({ coefficient: Number.NaN })).toThrow(/coefficient/);
  });

  it('builds either controller from a config and names bad fields', () => {
    const fixed = createKlController({ type: 'fixed', coefficient: 0.02 });
    expect(fixed).toBeInstanceOf(FixedKlController);
    const adaptive = createKlController({
      type: 'adaptive',
      initialCoefficient: 0.2,
      target: 6,
      horizon: 10000,
    });
    expect(adaptive).toBeInstanceOf(AdaptiveKlController);
    expect(adaptive.update(12, 100)).toBeCloseTo(0.2 * (1 + 0.2 * 0.01), 12);
    try {
      createKlController({ type: 'adaptive', initialCoefficient: 0.2, target: 6 } as never);
      expect.unreachable();
    } catch (error) {
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual(['horizon']);
    }
    expect(() => createKlController({ type: 'pid' } as never)).toThrow(ValidationError);
  });
});
