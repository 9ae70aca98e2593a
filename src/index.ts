/** Public entry of d2o-webgpu. */
export { createWorkerEngine, type WorkerEngineOptions } from './engine/worker-engine';
export { createEngine, Engine, type EngineLike, type EngineOptions, type KvOptions, type GenerateOptions, type Generation, type GenerationChunk, type GenerationResult, type GenerationStats, type FinishReason } from './engine/engine';
export type { ChatCompletionRequest, ChatCompletion, ChatCompletionChunk, ChatCompletionStream, CompletionUsage } from './engine/chat-completions';
export { GenerationStream } from './engine/stream';
export { POLICIES, type PolicyName, type Budget } from './kv/policy';
export type { KvStats, KvLayerStats, KvMap, KvMapLayer } from './kv/stats';
export { clearModelCache } from './model/http-cache';
export * from './errors';
export type { ModelDescription, ModelConfig, Tensor, DType, LoadProgress, ProgressCallback } from './model/types';
export { loadModel, type LoadOptions, type ModelSpec } from './model/load';
export { urlSource, hfRepoSource, fileListSource, nodeDirSource, type FileSource } from './model/sources';
export { createTokenizer, type Tokenizer, type ChatMessage, type StreamDecoder } from './tokenizer';
export { createBackend } from './engine/create-backend';
export type { Backend, BackendName } from './engine/backend';
export { generateIds, type GenerateIdsOptions } from './engine/generate';
export type { SamplingOptions } from './engine/sampling';
export { acquireDevice, type GpuContext } from './gpu/device';
