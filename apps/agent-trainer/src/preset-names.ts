import type { TrainerPresetName } from '@cohort/trainer';

/**
 * The names of the trainer presets, in the order the help lists them: the
 * one list the config schema, `--preset` and the docs read. A module of its
 * own, so the command line knows them without loading the trainer.
 */
export const presetNames = ['conservative', 'balanced', 'aggressive'] as const;
export type PresetName = (typeof presetNames)[number];

type SameNames = [PresetName] extends [TrainerPresetName]
  ? [TrainerPresetName] extends [PresetName]
    ? true
    : false
  : false;
/** Fails to compile when `@cohort/trainer`'s `trainerPresets` gains or loses a name. */
export const presetNamesMatchTrainer: SameNames = true;
