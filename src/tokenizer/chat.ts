import { D2OError, ModelFormatError } from '../errors';
import { plainChat } from './plain-chat';
import { BoundedTemplate } from './template-budget';
import type { ChatMessage, Tokenizer } from './types';

type Json = Record<string, unknown>;

/** A special token from tokenizer_config.json: a string or an AddedToken object. */
export function configToken(config: Json, key: string): string | null {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/**
 * tokenizer_config.json's `chat_template` rendered with the variables transformers passes
 * (messages, add_generation_prompt, the special tokens), or the plain fallback without one.
 */
export function chatTemplate(config: Json | null): Tokenizer['applyChatTemplate'] {
  let source = config?.chat_template;
  // Several named templates: transformers uses "default" when no name is asked for.
  if (Array.isArray(source)) source = source.find((t: Json) => t?.name === 'default')?.template;
  if (typeof source !== 'string' || !config) return plainChat;
  let template: BoundedTemplate;
  try {
    template = new BoundedTemplate(source);
  } catch (e) {
    throw new ModelFormatError('bad-config', `chat_template does not parse: ${(e as Error).message}`, 'tokenizer_config.json');
  }
  const tokens: Json = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
    const t = configToken(config, key);
    if (t) tokens[key] = t;
  }
  return (messages: readonly ChatMessage[], opts = {}) => {
    try {
      return template.render({ messages, add_generation_prompt: opts.addGenerationPrompt ?? true, ...tokens });
    } catch (e) {
      if (e instanceof ModelFormatError) throw e;
      // Templates reject conversations they do not support (raise_exception), e.g. non-alternating roles.
      throw new D2OError(`chat template: ${(e as Error).message}`, { cause: e });
    }
  };
}
