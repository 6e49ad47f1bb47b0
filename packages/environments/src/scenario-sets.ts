import { InvalidArgumentError, type Scenario } from '@cohort/core';
import { type SupportCategory, supportCategories, supportScenarios } from './support-scenarios';

/** A named, loadable set of scenarios. */
export interface ScenarioSet {
  readonly name: string;
  readonly description: string;
  readonly categories: readonly string[];
  /** The scenarios of a split (default `all`), optionally of some categories only. */
  load(options?: { split?: 'train' | 'eval' | 'all'; categories?: readonly string[] }): Scenario[];
}

const customerSupport: ScenarioSet = {
  name: 'customer-support',
  description:
    'Customer support: refunds, shipping, technical support and account problems; 72 train and 24 held-out eval scenarios.',
  categories: supportCategories,
  load: (options = {}) =>
    supportScenarios({
      split: options.split ?? 'all',
      categories: options.categories as readonly SupportCategory[] | undefined,
    }),
};

/**
 * The built-in scenario sets by name, for configs that pick a set by string.
 *
 * @example
 * ```ts
 * const heldOut = scenarioSets['customer-support']!.load({ split: 'eval' });
 * ```
 */
export const scenarioSets: Readonly<Record<string, ScenarioSet>> = {
  [customerSupport.name]: customerSupport,
};

/**
 * The scenario set called `name`; throws an {@link InvalidArgumentError} listing
 * the known names otherwise.
 */
export function getScenarioSet(name: string): ScenarioSet {
  const set = Object.hasOwn(scenarioSets, name) ? scenarioSets[name] : undefined;
  if (!set) {
    throw new InvalidArgumentError({
      argument: 'name',
      value: name,
      message: `is not a scenario set; known sets: ${Object.keys(scenarioSets).join(', ')}`,
    });
  }
  return set;
}
