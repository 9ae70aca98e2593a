/** Public entry of d2o-webgpu. */
export { createWorkerEngine, type WorkerEngineOptions } from './engine/worker-engine';
export { createEngine, Engine, type EngineLike, type EngineOptions } from './engine/engine';
export type { GenerateOptions, Generation, GenerationChunk, GenerationResult, GenerationStats, FinishReason } from './engine/conversation';
export type { ChatCompletionRequest, ChatCompletion, ChatCompletionChunk, ChatCompletionStream, CompletionUsage } from './engine/chat-completions';
export { GenerationStream } from './engine/stream';
export { POLICIES, SINKS, type PolicyName, type Budget, type KvOptions } from './kv/policy';
export type { KvStats, KvLayerStats, KvMap, KvMapLayer } from './kv/stats';
export { clearModelCache } from './model/http-cache';
export * from './errors';
export type { ModelDescription, ModelConfig, Tensor, DType, LoadProgress, ProgressCallback } from './model/types';
export { loadModel, type LoadOptions, type ModelSpec } from './model/load';
export { urlSource, hfRepoSource, fileListSource, nodeDirSource, type FileSource } from './model/sources';
export { createTokenizer, type Tokenizer, type ChatMessage, type StreamDecoder } from './tokenizer';
export { createBackend } from './engine/create-backend';
export type { Backend, BackendName } from './backend/backend';
export { generateIds, type GenerateIdsOptions } from './engine/generate';
export type { SamplingOptions } from './backend/sampling';
export { acquireDevice, type GpuContext } from './gpu/device';
