/**
 * The conversation view: message bubbles, the streaming reply, and the empty states that tell a
 * new user what to do next. It only renders; main.ts owns the message history and the engine.
 */

export interface Reply {
  readonly element: HTMLElement;
  /** Adds streamed text. */
  append(text: string): void;
  text(): string;
  /** The text as shown (end markers hidden). */
  shown(): string;
  /** Ends the stream with a line of facts under the text, and an optional note (with an action) above it. */
  finish(meta: string, outcome: 'done' | 'stopped' | 'ended', note?: string, action?: { label: string; run: () => void }): void;
  fail(notice: HTMLElement): void;
}

import { stripEndMarkers, wordCount } from './format';

/** A message longer than this shows as an excerpt (the whole text stays one click away). */
const EXCERPT = 600;

const STORY_STARTS = ['Once upon a time', 'Lily wanted to fly a kite', 'Tom found a little red box'];
const CHAT_STARTS = ['Tell me a short story about a robot.', 'Explain a KV cache in two sentences.', 'Write a haiku about the sea.'];

export class ChatView {
  constructor(
    private readonly list: HTMLElement,
    private readonly onSuggestion: (text: string) => void,
  ) {}

  clear(): void {
    this.list.replaceChildren();
  }

  /** What an empty conversation shows: how to start, and for story models what to expect. */
  showEmpty(state: { kind: 'no-model' } | { kind: 'loading'; label: string } | { kind: 'ready'; label: string; storyModel: boolean }): void {
    const box = el('div', 'empty');
    if (state.kind === 'no-model') {
      box.append(
        el('h3', '', 'Load a model to start'),
        el('p', '', 'Pick TinyStories-656K from the local models, a Llama-style repository from Hugging Face, or files on this computer.'),
        el('p', '', 'Everything runs in this browser: nothing you type is sent anywhere.'),
      );
    } else if (state.kind === 'loading') {
      box.append(el('h3', '', `Loading ${state.label}…`), el('p', '', 'The weights go to the GPU once; later chats start at once.'));
    } else {
      const starts = state.storyModel ? STORY_STARTS : CHAT_STARTS;
      box.append(
        el('h3', '', state.storyModel ? `${state.label} writes stories` : `${state.label} is ready`),
        el(
          'p',
          '',
          state.storyModel
            ? 'It has no chat template: your message opens a story and the model carries on. Follow-up messages continue the same story.'
            : 'Ask anything. Watch the KV cache on the right as the reply streams.',
        ),
      );
      const chips = el('div', 'suggestions');
      for (const s of starts) {
        const b = el('button', '', s) as HTMLButtonElement;
        b.type = 'button';
        b.addEventListener('click', () => this.onSuggestion(s));
        chips.append(b);
      }
      box.append(chips);
    }
    this.list.replaceChildren(box);
  }

  /** The user's message; a long one (a pasted document) as an excerpt that unfolds on request. */
  addUser(text: string): HTMLElement {
    this.list.querySelector('.empty')?.remove();
    const bubble = el('div', 'msg user');
    if (text.length <= EXCERPT) bubble.textContent = text;
    else {
      const body = el('span', 'excerpt', text.slice(0, EXCERPT / 2).trimEnd() + '…');
      const more = el('button', 'more', `Show all ${wordCount(text).toLocaleString('en-US')} words`) as HTMLButtonElement;
      more.type = 'button';
      more.setAttribute('aria-expanded', 'false');
      more.addEventListener('click', () => {
        const open = more.getAttribute('aria-expanded') !== 'true';
        body.textContent = open ? text : text.slice(0, EXCERPT / 2).trimEnd() + '…';
        more.setAttribute('aria-expanded', String(open));
        more.textContent = open ? 'Show less' : `Show all ${wordCount(text).toLocaleString('en-US')} words`;
      });
      bubble.classList.add('long');
      bubble.append(body, more);
    }
    this.list.append(bubble);
    this.scroll(true);
    return bubble;
  }

  /** A reply bubble; `echo` (a story model's prompt) is shown faded in front so the story reads whole. */
  addReply(echo?: string): Reply {
    const bubble = el('div', `msg assistant streaming${echo ? ' story' : ''}`);
    bubble.setAttribute('aria-busy', 'true');
    // A long opening (a pasted document) is shown by its last words: the user bubble above has it all.
    const echoEl = echo ? el('span', 'echo', echo.length <= EXCERPT / 2 ? echo : `…${echo.slice(-EXCERPT / 3).trimStart()}`) : null;
    if (echoEl) bubble.append(echoEl);
    const text = el('span', 'text');
    bubble.append(text);
    this.list.append(bubble);
    this.scroll(true);
    let raw = '';
    const done = () => {
      bubble.classList.remove('streaming');
      bubble.removeAttribute('aria-busy');
    };
    return {
      element: bubble,
      append: (t) => {
        raw += t;
        const follow = this.nearBottom();
        // A story's continuation is shown as is after its opening; a chat reply without leading blanks.
        const shown = stripEndMarkers(raw);
        text.textContent = echo ? shown : shown.trimStart();
        this.scroll(follow);
      },
      text: () => raw,
      shown: () => stripEndMarkers(raw),
      finish: (meta, outcome, note, action) => {
        const follow = this.nearBottom();
        done();
        bubble.dataset.outcome = outcome;
        if (note) bubble.append(el('span', 'note', note));
        if (action) {
          const b = el('button', 'action', action.label) as HTMLButtonElement;
          b.type = 'button';
          b.addEventListener('click', () => {
            b.remove();
            action.run();
          });
          bubble.append(b);
        }
        bubble.append(el('span', 'meta', meta));
        this.scroll(follow);
      },
      fail: (notice) => {
        done();
        // Nothing was continued: the opening is not repeated under the error.
        echoEl?.remove();
        bubble.dataset.outcome = 'error';
        bubble.classList.add('failed');
        bubble.append(notice);
        this.scroll(true);
      },
    };
  }

  private nearBottom(): boolean {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  }

  /** Follows the stream unless the user scrolled up to read. */
  private scroll(follow: boolean): void {
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }
}

function el(tag: string, className: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
