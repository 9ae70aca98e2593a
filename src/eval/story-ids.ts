/** The evaluation text of one model: stories concatenated in the model's own format, cut to length. */
import type { Tokenizer } from '../tokenizer';

/** Stories of bench/eval-texts/stories.txt: separated by lines holding only "---". */
export function parseStories(text: string): string[] {
  return text
    .split(/^---$/m)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * BOS + story (+ `endOfStory`) for each story in turn, cut to `tokens` ids. Both models start a
 * story right after BOS (golden.json), so a lone leading word-boundary token that a normalizer
 * prepends ("▁", which TinyStories-656K's own stories lack) is dropped. `endOfStory`: the id a model
 * closes its stories with (TinyStories-656K's <|end_story|>; llama2.c's models only start the next
 * one with BOS).
 */
export function storyIds(tokenizer: Tokenizer, stories: string[], tokens: number, endOfStory: number | null): number[] {
  if (tokenizer.bosId === null) throw new Error('the evaluation text needs a tokenizer with BOS');
  const ids: number[] = [];
  for (const story of stories) {
    let body = tokenizer.encode(story, { addBos: false });
    if (body.length > 1 && tokenizer.decode(body.slice(0, 1)).trim() === '') body = body.slice(1);
    ids.push(tokenizer.bosId, ...body, ...(endOfStory === null ? [] : [endOfStory]));
    if (ids.length >= tokens) return ids.slice(0, tokens);
  }
  throw new RangeError(`the stories give ${ids.length} tokens, fewer than the ${tokens} asked for`);
}
