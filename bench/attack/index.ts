// The attack and load simulator as a library (the CLI is cli.ts, the bench module bench-module.ts).
export { assertLoopback, HttpClient } from './http.js';
export { budgetOf, OWNER, ownConfigYaml, startOwnInstance, type OwnInstance, type OwnInstanceOptions } from './instance.js';
export { parseMix, PRESETS, spec } from './mix.js';
export { formatTable, percentile, summarize, type ScenarioSummary, type Summary } from './report.js';
export { runAttack, type RunOptions, type RunResult, type StoredOutcome } from './runner.js';
export { DESCRIPTIONS, KINDS, type Attempt, type Kind, type ScenarioSpec } from './scenarios.js';
