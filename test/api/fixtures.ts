import { createHttpServer, serverConfigSchema, type HttpServer, type HttpServerOptions } from '../../src/api/index.ts';
import { createMetrics } from '../../src/observability/index.ts';
import { openSqliteStore, type CallRecord, type Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { testLog } from '../support/run-log.ts';

export const silentLog = testLog();

/** A store with two finished calls and one live call, like a console would see after a morning of calling. */
export async function seededStore(recordingDirOfFirst?: string): Promise<Store> {
  const store = openSqliteStore(':memory:', { log: silentLog });
  const base: Omit<CallRecord, 'id' | 'startedAt'> = {
    pbx: 'asterisk',
    direction: 'outbound',
    lang: 'zh',
    status: 'ended',
    flow: 'collections',
    variables: { name: '张三' },
  };
  await store.calls.createCall({
    ...base,
    id: 'call-1',
    to: '13800138000',
    startedAt: '2025-05-01T08:00:00.000Z',
    endedAt: '2025-05-01T08:01:10.000Z',
    disposition: 'promised_to_pay',
    recordingDir: recordingDirOfFirst,
  });
  await store.calls.addTurn({ callId: 'call-1', seq: 0, callerText: '', inputKind: 'noInput', botText: '您好，请问是张三先生吗？', bargeIn: false, at: '2025-05-01T08:00:02.000Z' });
  await store.calls.addTurn({
    callId: 'call-1',
    seq: 1,
    callerText: '是我，什么事',
    inputKind: 'speech',
    botText: '您的账单已逾期，请问什么时候方便还款？',
    speechStartMs: 3000,
    speechEndMs: 4100,
    latencyMs: 287,
    bargeIn: false,
    at: '2025-05-01T08:00:06.000Z',
  });
  await store.calls.addTurn({
    callId: 'call-1',
    seq: 2,
    callerText: '明天还',
    inputKind: 'speech',
    botText: '好的，感谢您的配合，再见。',
    latencyMs: 412,
    bargeIn: true,
    heardMs: 1500,
    at: '2025-05-01T08:00:12.000Z',
  });
  await store.calls.addEvent({ callId: 'call-1', at: '2025-05-01T08:00:11.000Z', type: 'bargeIn', data: { heardMs: 1500, stopMs: 14 } });
  await store.calls.createCall({ ...base, id: 'call-2', to: '13900139000', startedAt: '2025-05-01T09:00:00.000Z', endedAt: '2025-05-01T09:00:30.000Z', disposition: 'no-answer' });
  await store.calls.createCall({ ...base, id: 'call-3', direction: 'inbound', from: '10086', status: 'active', startedAt: '2025-05-01T10:00:00.000Z' });
  return store;
}

export async function startServer(
  overrides: Partial<HttpServerOptions> & Pick<HttpServerOptions, 'store'>,
): Promise<{ server: HttpServer; url: string; token: string }> {
  const server = await createHttpServer({
    config: serverConfigSchema.parse({ host: '127.0.0.1', port: 0 }),
    log: silentLog,
    metrics: createMetrics(),
    webSocketRoutes: [],
    readiness: () => ({ ready: true, checks: { speech: { ok: true } } }),
    recordingsDir: '/nonexistent-recordings',
    ...overrides,
  });
  const url = await server.listen();
  // An admin token in the served store: tests that are not about authorization send it on every request.
  const token = await issueToken(overrides.store, 'admin');
  return { server, url, token };
}
