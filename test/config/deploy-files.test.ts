import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/index.ts';

/**
 * Issue 14's deploy files cannot run here (no Docker engine, no cluster, no Kamailio), so they are parse-checked:
 * the Kubernetes manifest, the two-node compose file and the Kamailio dispatcher list say what the docs promise,
 * and the callpilot config each ships loads through callpilot's own config loader.
 */

const ROOT = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

/** Loads a shipped callpilot.yaml as a node would, with the env the deploy file gives it. */
function loadShippedConfig(text: string, env: Record<string, string> = {}): ReturnType<typeof loadConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-deploy-'));
  try {
    writeFileSync(join(dir, 'callpilot.yaml'), text);
    return loadConfig({ path: join(dir, 'callpilot.yaml'), cwd: dir, env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type K8sObject = { kind: string; metadata: { name: string }; spec?: Record<string, unknown>; data?: Record<string, string> };

test('deploy/k8s: Deployment probes on readyz/healthz, preStop drain, requests, a PodDisruptionBudget, Services for API and media', () => {
  const docs = parseAllDocuments(read('deploy/k8s/callpilot.yaml')).map((d) => d.toJS() as K8sObject);
  const kinds = docs.map((d) => d.kind).sort();
  assert.equal(kinds, ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'Service']);
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  const pod = (deployment.spec as { template: { spec: { containers: Record<string, any>[]; terminationGracePeriodSeconds?: number } } }).template.spec;
  const [container] = pod.containers;
  assert.is(container!.readinessProbe.httpGet.path, '/readyz');
  assert.is(container!.livenessProbe.httpGet.path, '/healthz');
  assert.ok(container!.lifecycle?.preStop, 'a preStop hook lets the node drain');
  assert.ok(container!.resources?.requests?.cpu && container!.resources?.requests?.memory, 'resource requests are set');
  assert.ok((pod.terminationGracePeriodSeconds ?? 30) > 30, 'the grace period leaves live calls time to end');
  const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget')!;
  assert.ok(pdb.spec?.minAvailable !== undefined || pdb.spec?.maxUnavailable !== undefined);
  const config = docs.find((d) => d.kind === 'ConfigMap')!.data!['callpilot.yaml']!;
  const loaded = loadShippedConfig(config, { CALLPILOT_STORE_URL: 'postgres://callpilot:x@postgres:5432/callpilot', CALLPILOT_PBX_ASTERISK_PASSWORD: 'x' });
  assert.is(loaded.server.host, '0.0.0.0');
  assert.ok(loaded.store.url?.startsWith('postgres://'));
});

test('docker/docker-compose.cluster.yml: PostgreSQL, Asterisk and two callpilot nodes on one store with their own node ids and ARI apps', () => {
  const compose = parse(read('docker/docker-compose.cluster.yml'), { merge: true }) as { services: Record<string, { environment?: Record<string, string>; image?: string }> };
  const names = Object.keys(compose.services).sort();
  assert.equal(names, ['asterisk', 'callpilot-a', 'callpilot-b', 'postgres']);
  const a = compose.services['callpilot-a']!.environment!;
  const b = compose.services['callpilot-b']!.environment!;
  for (const env of [a, b]) assert.match(env.CALLPILOT_STORE_URL!, /^postgres:\/\/.*@postgres:5432\//);
  assert.is.not(a.CALLPILOT_CLUSTER_NODE_ID, b.CALLPILOT_CLUSTER_NODE_ID);
  assert.is.not(a.CALLPILOT_PBX_ASTERISK_APP, b.CALLPILOT_PBX_ASTERISK_APP);
  // Each app the nodes register is one the cluster dialplan spreads calls over.
  const dialplan = read('dialplan/asterisk/extensions-cluster.conf');
  for (const app of [a.CALLPILOT_PBX_ASTERISK_APP, b.CALLPILOT_PBX_ASTERISK_APP]) assert.ok(dialplan.includes(app!), `extensions-cluster.conf names ${app}`);
  loadShippedConfig(read('docker/callpilot.yaml'), { CALLPILOT_STORE_URL: 'postgres://callpilot:x@postgres:5432/callpilot', CALLPILOT_PBX_ASTERISK_PASSWORD: 'x' });
});

test('dialplan/kamailio: every dispatcher.list row is "setid sip-uri flags priority [attrs]" and kamailio.cfg loads that list', () => {
  const rows = read('dialplan/kamailio/dispatcher.list')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  assert.ok(rows.length >= 2, 'several PBXs to spread over');
  for (const row of rows) assert.match(row, /^\d+ sips?:[\w.-]+(:\d+)?(;\S+)? \d+ \d+( \S+)?$/);
  const cfg = read('dialplan/kamailio/kamailio.cfg');
  assert.match(cfg, /loadmodule "dispatcher\.so"/);
  assert.match(cfg, /modparam\("dispatcher", "list_file", "[^"]*dispatcher\.list"\)/);
  assert.match(cfg, /ds_select_dst\(/);
  assert.match(cfg, /ds_next_dst\(/, 'fails over to the next PBX');
});

test.run();
