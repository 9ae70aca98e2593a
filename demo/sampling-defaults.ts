/**
 * The loaded model's own sampling settings (its generation_config.json, as the engine applies them
 * to calls that give none): the temperature and top-p fields take them, and a line under the
 * composer says what the model ships, top-k and repetition penalty included (the engine applies
 * those itself: the demo has no field for them).
 */
import type { SamplingOptions } from '../src/index';

export function showSamplingDefaults(d: SamplingOptions): void {
  const line = document.getElementById('sampling-defaults') as HTMLElement;
  const field = (id: string) => document.getElementById(id) as HTMLInputElement;
  const parts: string[] = [];
  if (d.greedy) {
    field('temperature').value = '0';
    parts.push('greedy (do_sample false)');
  }
  if (d.temperature !== undefined && !d.greedy) {
    field('temperature').value = String(d.temperature);
    parts.push(`temperature ${d.temperature}`);
  }
  if (d.topP !== undefined) {
    field('top-p').value = String(d.topP);
    parts.push(`top-p ${d.topP}`);
  }
  if (d.topK) parts.push(`top-k ${d.topK}`);
  if (d.repetitionPenalty !== undefined && d.repetitionPenalty !== 1) parts.push(`repetition penalty ${d.repetitionPenalty}`);
  line.hidden = parts.length === 0;
  line.textContent = parts.length ? `Model defaults (generation_config.json): ${parts.join(', ')}. A fresh random seed per reply.` : '';
}
