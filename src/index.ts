/** Public entry of d2o-webgpu. */
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
