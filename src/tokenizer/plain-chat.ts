import type { Tokenizer } from './types';

/**
 * The chat "template" of a model without one. Story models (stories260K, TinyStories) just continue
 * text, so the prompt is the message contents, one per line, with no roles or markers.
 * Its own file so that llama2.c-only bundles do not pull in the Jinja engine.
 */
export const plainChat: Tokenizer['applyChatTemplate'] = (messages) => messages.map((m) => m.content).join('\n');
