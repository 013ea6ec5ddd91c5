import type { Logger } from 'pino';
import type { Speaker } from '../speech/index.ts';
import { flowPromptTexts } from './flow/index.ts';
import type { FlowDialogFactory } from './flow/index.ts';
import type { Lang } from './types.ts';

export interface PromptWarmingProgress {
  done: number;
  total: number;
  /** Set to stop warming (the app is closing). */
  stopped: boolean;
}

/**
 * Synthesizes every static prompt of every flow ahead of the first call (default flow first), one at a time so it
 * never competes much with live calls. Never rejects: a prompt that fails is logged and skipped.
 */
export async function warmFlowPrompts(
  dialogs: FlowDialogFactory,
  speaker: Speaker,
  rates: (8000 | 16000)[],
  defaultFlow: string,
  progress: PromptWarmingProgress,
  log: Logger,
): Promise<void> {
  const names = Object.keys(dialogs.flows()).sort((a, b) => Number(b === defaultFlow) - Number(a === defaultFlow));
  const jobs: { text: string; lang: Lang; rate: 8000 | 16000 }[] = [];
  for (const name of names) {
    for (const lang of dialogs.flows()[name] ?? []) {
      const flow = dialogs.flow(name, lang);
      if (!flow) continue;
      for (const text of flowPromptTexts(flow)) for (const rate of rates) jobs.push({ text, lang, rate });
    }
  }
  progress.total = jobs.length;
  const started = performance.now();
  for (const job of jobs) {
    if (progress.stopped) return;
    try {
      await speaker.warm(job.text, job.lang, job.rate);
    } catch (err) {
      if (progress.stopped) return;
      log.warn({ err, text: job.text }, 'could not synthesize a prompt ahead of time');
    }
    progress.done++;
  }
  log.info({ prompts: jobs.length, ms: Math.round(performance.now() - started) }, 'flow prompts synthesized ahead of calls');
}
