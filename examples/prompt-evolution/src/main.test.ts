import { supportCategories, supportScenarios } from '@cohort/environments';
import { describe, expect, it } from 'vitest';
import { distractorInstructions, skillInstructions } from './instruction-following-agent';
import { main, meanReward } from './main';

const skills = Object.keys(skillInstructions);
const distractors = Object.keys(distractorInstructions);

describe('the fixed agent', () => {
  it('earns more with each skill instruction and less with a distractor', async () => {
    const scenarios = supportCategories.flatMap((category) =>
      supportScenarios({ split: 'train', categories: [category] }).slice(3, 6),
    );
    const plain = await meanReward('You are a support agent.', scenarios);
    const someSkills = await meanReward(skills.slice(0, 2).join(' '), scenarios);
    const allSkills = await meanReward(skills.join(' '), scenarios);
    const padded = await meanReward([...skills, distractors[1]!].join(' '), scenarios);
    expect(plain).toBe(0);
    expect(someSkills).toBeGreaterThan(plain);
    expect(allSkills).toBeGreaterThan(someSkills);
    expect(padded).toBeLessThan(allSkills);
  });
});

describe('examples/prompt-evolution', () => {
  it('evolves a prompt with every skill and no distractor, which also wins on held-out scenarios', async () => {
    const result = await main({ log: () => {} });
    const bestPerGeneration = result.history.map((summary) => summary.bestFitness);
    expect(bestPerGeneration[0]).toBeLessThan(0.3);
    expect(bestPerGeneration.at(-1)).toBeGreaterThan(0.95);
    // The elite is kept, so the best fitness never falls.
    for (let index = 1; index < bestPerGeneration.length; index++) {
      expect(bestPerGeneration[index]).toBeGreaterThanOrEqual(bestPerGeneration[index - 1]!);
    }
    for (const skill of skills) expect(result.bestPrompt).toContain(skill);
    for (const distractor of distractors) expect(result.bestPrompt).not.toContain(distractor);
    expect(result.heldOut.best).toBeGreaterThan(result.heldOut.initial + 0.8);

    // Same seed, same evolution.
    const again = await main({ log: () => {} });
    expect(again.history).toEqual(result.history);
  });
});
