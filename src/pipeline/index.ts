export * from './types.js';
export * from './scoring.js';
export { Registry, onlyForForms } from './registry.js';
export { createPipeline, type Pipeline, type PipelineOptions, type RunResult } from './runner.js';
export { DbReplayStore, MemoryReplayStore, RedisReplayStore, recordingReplayStore } from './replay-store.js';
export { createCheckContext, makeSubmission } from './context.js';
export { DEFAULT_CATALOG, catalogMarkdown } from './default-catalog.js';
