import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja';
import { ModelFormatError } from '../errors';

/**
 * A chat template is code from the model's files, and @huggingface/jinja runs it synchronously:
 * `{% for i in range(30000000) %}` would freeze the page. Rendering is bounded instead. The real
 * templates of ../shared/hf-real take 19-29 steps per message: the step budget renders conversations
 * of ~15,000 messages, past any real context window, and stops a runaway template within about a second.
 */
export const TEMPLATE_LIMITS = { steps: 500_000, chars: 16_000_000, rangeLength: 100_000 } as const;

type Program = ReturnType<typeof parse>;
type Value = ReturnType<Interpreter['evaluate']>;

const tooCostly = (what: string) =>
  new ModelFormatError('template-too-costly', `chat_template is too costly to render: ${what}`, 'tokenizer_config.json');

/**
 * Counts every evaluated node against the step budget, and each item a for loop walks (jinja builds
 * a scope per item before the body runs); refuses any string past the length cap.
 */
class BoundedInterpreter extends Interpreter {
  private steps = 0;
  private readonly iterables = new WeakSet<object>();
  private charge(steps: number) {
    this.steps += steps;
    if (this.steps > TEMPLATE_LIMITS.steps) throw tooCostly(`more than ${TEMPLATE_LIMITS.steps} evaluation steps`);
  }
  override evaluate(statement: Parameters<Interpreter['evaluate']>[0], environment: Environment): Value {
    this.charge(1);
    if (statement?.type === 'For') {
      const { iterable } = statement as unknown as { iterable: { type: string; lhs?: object } };
      this.iterables.add(iterable.type === 'SelectExpression' ? iterable.lhs! : iterable);
    }
    const value = super.evaluate(statement, environment);
    if (statement && this.iterables.has(statement)) {
      const items = value.value;
      this.charge(Array.isArray(items) ? items.length : items instanceof Map ? items.size : 0);
    }
    if (typeof value.value === 'string' && value.value.length > TEMPLATE_LIMITS.chars) {
      throw tooCostly(`a string longer than ${TEMPLATE_LIMITS.chars} characters`);
    }
    return value;
  }
}

/** Python's range, refusing lists longer than the cap before building them (range(3e7) alone takes seconds). */
function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const length = Math.max(0, Math.ceil((stop - start) / step));
  if (!(length <= TEMPLATE_LIMITS.rangeLength)) throw tooCostly(`range() of more than ${TEMPLATE_LIMITS.rangeLength} items`);
  return Array.from({ length }, (_, i) => start + i * step);
}

/** jinja's strftime_now: the same fields, in the same default locale. */
function strftimeNow(format: string): string {
  const date = new Date();
  const pad2 = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'long' | 'short') => new Intl.DateTimeFormat(undefined, { month: style }).format(date);
  const fields: Record<string, () => string> = {
    '%Y': () => String(date.getFullYear()),
    '%m': () => pad2(date.getMonth() + 1),
    '%d': () => pad2(date.getDate()),
    '%b': () => month('short'),
    '%B': () => month('long'),
    '%H': () => pad2(date.getHours()),
    '%M': () => pad2(date.getMinutes()),
    '%%': () => '%',
  };
  return format.replace(/%[YmdbBHM%]/g, (token) => fields[token]());
}

/** A parsed template rendered under TEMPLATE_LIMITS (the globals of jinja's Template, range bounded). */
export class BoundedTemplate {
  private readonly program: Program;
  constructor(source: string) {
    this.program = parse(tokenize(source, { lstrip_blocks: true, trim_blocks: true }));
  }
  render(variables: Record<string, unknown>): string {
    const env = new Environment();
    const globals: Record<string, unknown> = {
      false: false, true: true, none: null, False: false, True: true, None: null,
      raise_exception: (message: string) => {
        throw new Error(message);
      },
      range: boundedRange,
      strftime_now: strftimeNow,
      ...variables,
    };
    for (const [key, value] of Object.entries(globals)) env.set(key, value);
    try {
      return new BoundedInterpreter(env).run(this.program).value as string;
    } catch (e) {
      // Deep recursion (macros) or a string past the engine's maximum: the same verdict.
      if (e instanceof RangeError) throw tooCostly(e.message);
      throw e;
    }
  }
}
