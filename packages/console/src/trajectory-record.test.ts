import { describe, expect, it } from 'vitest';
import { decodeToken, fixtureTrajectory } from '../test/fixture-run';
import { trajectoryLine } from './trajectory-record';

describe('trajectoryLine', () => {
  it('keeps the sampled tokens of agent turns with their log-probs and per-token values', () => {
    const trajectory = fixtureTrajectory(1, 4);
    const length = trajectory.tokenIds.length;
    const advantagesPerToken = Array.from({ length }, (_, index) => index / 10);
    const line = trajectoryLine({
      step: 4,
      groupId: 'g',
      trajectory,
      decodeToken,
      perToken: { advantagesPerToken, klPerToken: advantagesPerToken.map((value) => value / 2) },
    });
    expect(line).toMatchObject({
      kind: 'trajectory',
      step: 4,
      groupId: 'g',
      scenarioId: 'shipping-2',
      policyVersion: 3,
      totalReward: 1.5,
      endReason: 'success',
    });
    expect(line.turns.map((turn) => turn.role)).toEqual(['system', 'user', 'assistant']);
    expect(line.turns[0]!.tokens).toBeUndefined();
    const tokens = line.turns[2]!.tokens!;
    expect(tokens.map((token) => token.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(tokens.map((token) => token.text).join('')).toBe(
      'Hello there! I issued a refund<script> &amp;',
    );
    // Position p (3..11) of the fixture has log-prob -0.1 (p - 2) - 1, advantage p / 10, KL p / 20.
    tokens.forEach((token, index) => {
      const position = index + 3;
      expect(token.logProb).toBeCloseTo(-0.1 * (position - 2) - 1, 12);
      expect(token.advantage).toBeCloseTo(position / 10, 12);
      expect(token.kl).toBeCloseTo(position / 20, 12);
      expect(token.entropy).toBeUndefined();
    });
  });

  it('names a per-token array of the wrong length', () => {
    expect(() =>
      trajectoryLine({
        step: 1,
        groupId: 'g',
        trajectory: fixtureTrajectory(0, 1),
        decodeToken,
        perToken: { entropyPerToken: [1, 2] },
      }),
    ).toThrow(/perToken.entropyPerToken.length = 2: must equal tokenIds.length = 12/);
  });

  it('rounds the per-token numbers to significantDigits, and names a bad digit count', () => {
    const trajectory = fixtureTrajectory(1, 4);
    const entropyPerToken = trajectory.tokenIds.map((_, position) => Math.PI * 10 ** -position);
    const line = trajectoryLine({
      step: 4,
      groupId: 'g',
      trajectory,
      decodeToken,
      perToken: { entropyPerToken },
      significantDigits: 3,
    });
    const tokens = line.turns[2]!.tokens!;
    // Position p (3..11): entropy pi * 10^-p and log-prob -0.1 (p - 2) - 1, written to 3 digits.
    tokens.forEach((token, index) => {
      const position = index + 3;
      expect(token.entropy).toBe(Number(`3.14e-${position}`));
      expect(token.logProb).toBe(Number((-0.1 * (position - 2) - 1).toFixed(2)));
    });
    for (const significantDigits of [0, 2.5, 18]) {
      expect(() =>
        trajectoryLine({ step: 1, groupId: 'g', trajectory, decodeToken, significantDigits }),
      ).toThrow(
        new RegExp(`significantDigits = ${significantDigits}: must be an integer in \\[1, 17\\]`),
      );
    }
  });
});
