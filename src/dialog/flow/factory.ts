import { watch, readdirSync, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { DialogConfig } from '../config.ts';
import type { CallContext, DialogFactory, DialogSession, Lang } from '../types.ts';
import { LlmIntentFallback } from '../nlu/index.ts';
import { loadFlowFile } from './loader.ts';
import { FlowDialogSession } from './session.ts';
import type { CompiledFlow, DoNotCallRecorder, FlowProblem } from './types.ts';
import type { FetchLike } from './webhook.ts';

export interface FlowDialogFactoryOptions {
  flowsDir: string;
  defaultFlow: string;
  defaultLang: Lang;
  llm: DialogConfig['llm'];
  log: Logger;
  /** Clock for relative dates and callbacks (tests pin it). */
  now?: () => Date;
  /** Reload flows when files change (default true). */
  watch?: boolean;
  /** HTTP client for flow webhooks (tests stub it). */
  fetch?: FetchLike;
  /** Where a step's `do_not_call` action records the refusal (the DNC ledger); without it the action is only logged. */
  doNotCall?: DoNotCallRecorder;
}

/** A DialogFactory over a folder of flow files that reloads them while calls run. */
export interface FlowDialogFactory extends DialogFactory {
  /** Throws when no flow of that name exists in any language. */
  create(ctx: CallContext): DialogSession;
  /** The flow a call with this name and language would get now. */
  flow(name: string, lang: Lang): CompiledFlow | undefined;
  /** Loaded flows as name -> languages. */
  flows(): Record<string, Lang[]>;
  /** Re-reads one file (or all); returns its problems. A file with errors leaves the previous version live. */
  reload(file?: string): FlowProblem[];
  close(): void;
}

const flowFilePattern = /\.ya?ml$/i;

class FolderFlowFactory implements FlowDialogFactory {
  private readonly o: FlowDialogFactoryOptions;
  private readonly log: Logger;
  private readonly llm: LlmIntentFallback;
  private readonly byKey = new Map<string, CompiledFlow>();
  /** Which flow key each file provides, so a renamed flow inside a file drops the old key. */
  private readonly keyOfFile = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly now: () => Date;

  constructor(o: FlowDialogFactoryOptions) {
    this.o = o;
    this.log = o.log.child({ component: 'flows' });
    this.llm = new LlmIntentFallback(o.llm, this.log);
    this.now = o.now ?? (() => new Date());
  }

  create(ctx: CallContext): DialogSession {
    const name = ctx.flow ?? this.o.defaultFlow;
    const flow = this.flow(name, ctx.lang) ?? this.flow(name, this.o.defaultLang) ?? this.anyLang(name);
    if (!flow) {
      throw new Error(`call ${ctx.callId}: no flow "${name}" is loaded (known: ${Object.keys(this.flows()).join(', ') || 'none'}; folder ${this.o.flowsDir})`);
    }
    if (flow.lang !== ctx.lang) this.log.warn({ callId: ctx.callId, flow: name, wanted: ctx.lang, got: flow.lang }, 'flow has no version in the call language');
    return new FlowDialogSession({ flow, ctx, log: this.o.log, now: this.now, llm: this.llm, fetch: this.o.fetch, doNotCall: this.o.doNotCall });
  }

  flow(name: string, lang: Lang): CompiledFlow | undefined {
    return this.byKey.get(`${name}/${lang}`);
  }

  flows(): Record<string, Lang[]> {
    const out: Record<string, Lang[]> = {};
    for (const f of this.byKey.values()) (out[f.name] ??= []).push(f.lang);
    return out;
  }

  reload(file?: string): FlowProblem[] {
    if (file) return this.loadFile(resolve(file));
    const problems: FlowProblem[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(this.o.flowsDir).filter((n) => flowFilePattern.test(n)).sort();
    } catch (err) {
      this.log.error({ err, dir: this.o.flowsDir }, 'cannot read the flows folder');
      return [{ file: this.o.flowsDir, line: 1, column: 1, severity: 'error', code: 'io', message: `cannot read folder: ${(err as Error).message}`, hint: 'set dialog.flowsDir to a folder of flow YAML files' }];
    }
    for (const n of names) problems.push(...this.loadFile(resolve(this.o.flowsDir, n)));
    return problems;
  }

  startWatching(): void {
    try {
      this.watcher = watch(this.o.flowsDir, { persistent: false }, (_event, filename) => {
        if (!filename || !flowFilePattern.test(filename.toString())) return;
        const file = resolve(this.o.flowsDir, filename.toString());
        // Editors write files in several steps; wait for the burst to settle.
        clearTimeout(this.pending.get(file));
        this.pending.set(file, setTimeout(() => {
          this.pending.delete(file);
          this.loadFile(file);
        }, 150));
      });
      this.watcher.on('error', (err) => this.log.error({ err }, 'flow folder watch failed; hot reload is off'));
    } catch (err) {
      this.log.error({ err, dir: this.o.flowsDir }, 'cannot watch the flows folder; hot reload is off');
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  private anyLang(name: string): CompiledFlow | undefined {
    return this.flow(name, 'zh') ?? this.flow(name, 'en');
  }

  private loadFile(file: string): FlowProblem[] {
    const { flow, problems } = loadFlowFile(file);
    const errors = problems.filter((p) => p.severity === 'error');
    if (!flow) {
      const kept = this.keyOfFile.get(file);
      this.log.error(
        { file, problems: errors.slice(0, 10).map((p) => `${p.line}:${p.column} ${p.message}`), kept: kept ?? null },
        kept ? 'flow file has errors; the previous version stays live' : 'flow file has errors; not loaded',
      );
      return problems;
    }
    const key = `${flow.name}/${flow.lang}`;
    const owner = [...this.keyOfFile.entries()].find(([f, k]) => k === key && f !== file)?.[0];
    if (owner) {
      const dup: FlowProblem = { file, line: 1, column: 1, severity: 'error', code: 'duplicate-flow', message: `flow "${flow.name}" (${flow.lang}) is already defined in ${owner}`, hint: 'give this file another flow: name or lang:' };
      this.log.error({ file, owner }, dup.message);
      return [...problems, dup];
    }
    const previousKey = this.keyOfFile.get(file);
    if (previousKey && previousKey !== key) this.byKey.delete(previousKey);
    const previous = this.byKey.get(key);
    this.byKey.set(key, flow);
    this.keyOfFile.set(file, key);
    if (previous?.version !== flow.version) {
      this.log.info({ flow: flow.name, lang: flow.lang, version: flow.version, previous: previous?.version ?? null, warnings: problems.length }, previous ? 'flow reloaded' : 'flow loaded');
    }
    return problems;
  }
}

/**
 * Loads every flow file in `flowsDir` and returns a DialogFactory that reloads them on change.
 * New calls get the newest valid version; a call keeps the version it started with.
 */
export async function createFlowDialogFactory(opts: FlowDialogFactoryOptions): Promise<FlowDialogFactory> {
  const factory = new FolderFlowFactory(opts);
  factory.reload();
  if (Object.keys(factory.flows()).length === 0) opts.log.warn({ dir: join(opts.flowsDir) }, 'no valid flow files found');
  if (opts.watch !== false) factory.startWatching();
  return factory;
}
