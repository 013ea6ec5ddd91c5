import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/index.ts';

/**
 * Issue 14's deploy files, checked without a cluster or Kamailio (the compose run is described in docs/scale-out.md):
 * the Kubernetes manifest validates against Kubernetes' own API schemas, the manifest, the two-node compose file and
 * the Kamailio dispatcher list say what the docs promise, and the callpilot config each ships loads through
 * callpilot's own config loader.
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

test('deploy/k8s: every object validates against the Kubernetes API schema of its kind', () => {
  const models: Record<string, new (data: never) => { validate(): void }> = {
    'v1/ConfigMap': ConfigMap,
    'v1/Service': Service,
    'apps/v1/Deployment': Deployment,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  };
  const docs = parseAllDocuments(read('deploy/k8s/callpilot.yaml')).map((d) => d.toJS() as K8sObject & { apiVersion: string });
  for (const doc of docs) {
    const Model = models[`${doc.apiVersion}/${doc.kind}`];
    assert.ok(Model, `a schema for ${doc.apiVersion} ${doc.kind}`);
    try {
      new Model(doc as never).validate();
    } catch (err) {
      assert.unreachable(`${doc.kind} ${doc.metadata.name}: ${(err as Error).message}`);
    }
  }
  // The check bites: a port given as a name where the API wants a number.
  const deployment = structuredClone(docs.find((d) => d.kind === 'Deployment')!) as unknown as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
  deployment.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'http';
  assert.throws(() => new Deployment(deployment as never).validate(), /containerPort must be integer/);
});

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

test('docker/docker-compose.cluster.yml: PostgreSQL, Asterisk and two callpilot nodes on one store, each with its own node id, ARI app and ports', () => {
  type Service = { environment?: Record<string, string>; image?: string; network_mode?: string; ports?: string[] };
  const compose = parse(read('docker/docker-compose.cluster.yml'), { merge: true }) as { services: Record<string, Service> };
  const names = Object.keys(compose.services).sort();
  assert.equal(names, ['asterisk', 'callpilot-a', 'callpilot-b', 'postgres']);
  const nodes = [compose.services['callpilot-a']!, compose.services['callpilot-b']!];
  const [a, b] = nodes.map((n) => n.environment!) as [Record<string, string>, Record<string, string>];
  // Host networking like Asterisk: SIP/RTP addresses, ARI on 127.0.0.1, AudioSocket/RTP media into each node.
  for (const n of nodes) assert.is(n.network_mode, 'host');
  assert.is(compose.services.asterisk!.network_mode, 'host');
  for (const env of [a, b]) {
    assert.match(env.CALLPILOT_STORE_URL!, /^postgres:\/\/callpilot:\$\{POSTGRES_PASSWORD[^}]*\}@127\.0\.0\.1:\$\{CALLPILOT_PG_PORT:-5432\}\/callpilot$/);
    assert.match(env.CALLPILOT_PBX_ASTERISK_URL!, /^http:\/\/127\.0\.0\.1:8088$/);
  }
  assert.ok(compose.services.postgres!.ports?.some((p) => p.startsWith('127.0.0.1:')), 'PostgreSQL published on loopback only');
  // On one host network namespace nothing may be shared between the two nodes.
  for (const key of ['CALLPILOT_CLUSTER_NODE_ID', 'CALLPILOT_PBX_ASTERISK_APP', 'CALLPILOT_SERVER_PORT', 'CALLPILOT_PBX_ASTERISK_AUDIO_SOCKET_PORT', 'CALLPILOT_PBX_ASTERISK_RTP_PORT_RANGE']) {
    assert.ok(a[key] && b[key], `both nodes set ${key}`);
    assert.is.not(a[key], b[key], `${key} differs between the nodes`);
  }
  const [ra, rb] = [a, b].map((env) => JSON.parse(env.CALLPILOT_PBX_ASTERISK_RTP_PORT_RANGE!) as [number, number]) as [[number, number], [number, number]];
  assert.ok(ra[1] < rb[0] || rb[1] < ra[0], 'the RTP port ranges do not overlap');
  // Each app the nodes register is one the cluster dialplan spreads calls over.
  const dialplan = read('dialplan/asterisk/extensions-cluster.conf');
  for (const app of [a.CALLPILOT_PBX_ASTERISK_APP, b.CALLPILOT_PBX_ASTERISK_APP]) assert.ok(dialplan.includes(app!), `extensions-cluster.conf names ${app}`);
  const loaded = loadShippedConfig(read('docker/callpilot.yaml'), {
    CALLPILOT_STORE_URL: 'postgres://callpilot:x@127.0.0.1:5432/callpilot',
    CALLPILOT_PBX_ASTERISK_PASSWORD: 'x',
    CALLPILOT_SERVER_PORT: a.CALLPILOT_SERVER_PORT!,
    CALLPILOT_PBX_ASTERISK_RTP_PORT_RANGE: a.CALLPILOT_PBX_ASTERISK_RTP_PORT_RANGE!,
  });
  assert.is(loaded.server.host, '127.0.0.1', 'the nodes listen on loopback only, like the single-node compose');
  assert.is(loaded.server.port, Number(a.CALLPILOT_SERVER_PORT));
});

test('docker/Dockerfile: the data folder belongs to the user callpilot runs as, and the health check follows the server port', () => {
  const file = read('docker/Dockerfile');
  const user = /^USER (\S+)$/m.exec(file)?.[1];
  assert.ok(user, 'runs as a named user');
  assert.match(file, new RegExp(`chown -R ${user}:${user} /var/lib/callpilot`), 'a new volume takes the folder\'s owner');
  assert.ok(file.indexOf('chown') < file.indexOf('VOLUME'), 'owned before the volume is declared');
  assert.match(file, /HEALTHCHECK[^\n]*process\.env\.CALLPILOT_SERVER_PORT/);
  assert.match(read('.dockerignore'), /^node_modules$/m, 'the build context leaves local modules out');
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
