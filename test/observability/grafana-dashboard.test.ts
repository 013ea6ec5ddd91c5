import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { bearer } from '../support/auth.ts';
import { REPO_ROOT, startScriptedApp, type ScriptedApp } from '../calls/scripted-app.ts';
import { dashboardQueries, expandGrafanaVariables, readDashboard } from './dashboard-queries.ts';

/*
 * The compose file's monitoring (docker/): every PromQL expression of the Grafana dashboard names metrics and labels
 * callpilot really exposes (scraped from a running app), and the compose file, Prometheus config and Grafana
 * provisioning point at each other. Docker is not on the test machines, so this is what keeps the files honest.
 */

const DOCKER = join(REPO_ROOT, 'docker');
const readYaml = (file: string): Record<string, any> => parseYaml(readFileSync(join(DOCKER, file), 'utf8')) as Record<string, any>;
const dashboard = readDashboard();
const compose = readYaml('docker-compose.yml');

/** Labels Prometheus adds to every scraped series; `le` is on histogram buckets. */
const TARGET_LABELS = ['job', 'instance'];

interface Selector {
  metric: string;
  labels: string[];
}

interface ParsedExpr {
  selectors: Selector[];
  grouping: string[];
  errors: string[];
}


/** The metric names, label matchers and grouping labels of one expression, from the Prometheus project's grammar. */
function parsePromQl(raw: string): ParsedExpr {
  const expr = expandGrafanaVariables(raw);
  const tree = parser.parse(expr);
  const out: ParsedExpr = { selectors: [], grouping: [], errors: [] };
  tree.iterate({
    enter(ref) {
      const text = expr.slice(ref.from, ref.to);
      if (ref.type.isError) out.errors.push(`syntax error at ${ref.from}: "${expr.slice(Math.max(0, ref.from - 10), ref.from + 10)}"`);
      if (ref.name === 'VectorSelector') {
        const node = ref.node;
        const id = node.getChild('Identifier');
        const labels: string[] = [];
        for (const matcher of node.getChildren('LabelMatchers').flatMap((m) => m.getChildren('UnquotedLabelMatcher'))) {
          const name = matcher.getChild('LabelName');
          if (name) labels.push(expr.slice(name.from, name.to));
        }
        if (id) out.selectors.push({ metric: expr.slice(id.from, id.to), labels });
        else out.errors.push(`selector without a metric name: ${text}`);
      }
      if (ref.name === 'GroupingLabels') {
        for (const name of ref.node.getChildren('LabelName')) out.grouping.push(expr.slice(name.from, name.to));
      }
    },
  });
  return out;
}

/** Metric families in a Prometheus text exposition, each with the label names of its samples. */
function exposedFamilies(text: string): Map<string, { type: string; sampleLabels: Set<string> }> {
  const families = new Map<string, { type: string; sampleLabels: Set<string> }>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, { type: type[2]!, sampleLabels: new Set() });
  }
  return families;
}

/** The series names a family of this type answers to (histograms: _bucket, _sum, _count). */
function seriesNames(family: string, type: string): string[] {
  if (type === 'histogram') return [`${family}_bucket`, `${family}_sum`, `${family}_count`];
  if (type === 'summary') return [family, `${family}_sum`, `${family}_count`];
  return [family];
}

let scripted: ScriptedApp | undefined;
/** Series name -> the label names its metric is declared with. */
const exposed = new Map<string, Set<string>>();

test.before(async () => {
  scripted = await startScriptedApp();
  const res = await fetch(`${scripted.app.url}/metrics`, { headers: bearer(scripted.token) });
  assert.is(res.status, 200);
  const text = await res.text();
  for (const [family, { type }] of exposedFamilies(text)) {
    // Declared label names come from the registry: a family with no samples yet still has them.
    const metric = scripted.app.metrics.registry.getSingleMetric(family) as unknown as { labelNames?: string[] } | undefined;
    const labels = new Set([...(metric?.labelNames ?? []), ...TARGET_LABELS]);
    for (const name of seriesNames(family, type)) exposed.set(name, type === 'histogram' && name.endsWith('_bucket') ? new Set([...labels, 'le']) : labels);
  }
});

test.after(async () => {
  await scripted?.dispose();
});

test('the exposition parsed into metric families, callpilot and Node ones (the check below has something to compare with)', () => {
  assert.ok(exposed.has('callpilot_turn_latency_seconds_bucket'));
  assert.ok(exposed.has('callpilot_qa_hits_total'), 'the QA counter is registered (configs/qa has rules)');
  assert.ok(exposed.has('process_cpu_seconds_total'));
  assert.ok(exposed.get('callpilot_calls_total')?.has('disposition'));
});

test('the PromQL checker finds misspelt metrics, unknown labels and syntax errors (it can fail)', () => {
  const bad = parsePromQl('sum by (flows) (rate(callpilot_call_total{pbx="asterisk"}[$__rate_interval]))');
  assert.equal(bad.selectors, [{ metric: 'callpilot_call_total', labels: ['pbx'] }]);
  assert.equal(bad.grouping, ['flows']);
  assert.not.ok(exposed.has('callpilot_call_total'));
  assert.ok(parsePromQl('sum(rate(callpilot_calls_total[5m])').errors.length > 0, 'an unclosed parenthesis is an error');
});

test('every dashboard expression parses and names only metrics and labels that /metrics exposes', () => {
  const queries = dashboardQueries();
  assert.ok(queries.length >= 30, `the dashboard has its queries (${queries.length})`);
  const problems: string[] = [];
  const used = new Set<string>();
  for (const q of queries) {
    const parsed = parsePromQl(q.expr);
    problems.push(...parsed.errors.map((e) => `${q.where}: ${e}`));
    if (parsed.selectors.length === 0) problems.push(`${q.where}: no metric in "${q.expr}"`);
    const labelsInExpr = new Set<string>();
    for (const s of parsed.selectors) {
      used.add(s.metric);
      const labels = exposed.get(s.metric);
      if (!labels) {
        problems.push(`${q.where}: ${s.metric} is not in callpilot's /metrics`);
        continue;
      }
      for (const l of labels) labelsInExpr.add(l);
      for (const l of s.labels) if (!labels.has(l)) problems.push(`${q.where}: ${s.metric} has no label "${l}"`);
    }
    for (const l of [...parsed.grouping, ...(q.labelValues ? [q.labelValues] : [])]) {
      if (!labelsInExpr.has(l)) problems.push(`${q.where}: no metric of the expression has the label "${l}"`);
    }
  }
  assert.equal(problems, []);
  // The metric groups are all on the dashboard.
  for (const m of ['callpilot_pbx_connected', 'callpilot_qa_hits_total', 'callpilot_stage_duration_seconds_bucket', 'callpilot_no_input_total', 'callpilot_transfers_total', 'callpilot_asr_real_time_factor_ratio', 'callpilot_build_info', 'process_cpu_seconds_total']) {
    assert.ok(used.has(m), `the dashboard shows ${m}`);
  }
});

test('panels use the provisioned datasource variable and have unique ids', () => {
  const ids = new Set<number>();
  const walk = (panels: any[]): void => {
    for (const p of panels) {
      assert.not.ok(ids.has(p.id), `panel id ${p.id} is unique`);
      ids.add(p.id);
      if (p.type !== 'row') assert.equal(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `panel "${p.title}" uses $datasource`);
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  const dsVar = dashboard.templating.list.find((v: any) => v.type === 'datasource');
  assert.is(dsVar?.name, 'datasource');
  const provisioned = readYaml('grafana/provisioning/datasources/callpilot.yml').datasources[0];
  assert.is(dsVar.current.value, provisioned.uid, 'the variable defaults to the provisioned Prometheus');
});

/** A compose bind mount `./host:/container[:ro]` as absolute host path (under docker/) and container path. */
function bindMounts(service: string): Array<{ host: string; container: string }> {
  return (compose.services[service].volumes as string[])
    .filter((v) => v.startsWith('./') || v.startsWith('../'))
    .map((v) => {
      const [host, container] = v.split(':') as [string, string];
      return { host: join(DOCKER, host), container };
    });
}

/** Where a container path comes from on the host, through the service's bind mounts (longest mount first). */
function hostPathOf(service: string, containerPath: string): string | undefined {
  const mounts = bindMounts(service).sort((a, b) => b.container.length - a.container.length);
  for (const m of mounts) {
    if (containerPath === m.container) return m.host;
    if (containerPath.startsWith(`${m.container}/`)) return join(m.host, posix.relative(m.container, containerPath));
  }
  return undefined;
}

test('compose runs Prometheus with the repository config, scraping callpilot where it listens, with its token', () => {
  const prometheus = compose.services.prometheus;
  assert.ok(prometheus, 'a prometheus service');
  const configFlag = (prometheus.command as string[]).find((c) => c.startsWith('--config.file='));
  const configPath = configFlag?.split('=')[1];
  assert.ok(configPath, '--config.file is set');
  const hostConfig = hostPathOf('prometheus', configPath);
  assert.is(hostConfig, join(DOCKER, 'prometheus/prometheus.yml'));
  const prom = readYaml('prometheus/prometheus.yml');
  const job = prom.scrape_configs.find((j: any) => j.job_name === 'callpilot');
  assert.ok(job, 'a callpilot scrape job');
  assert.is(job.metrics_path, '/metrics');
  const callpilotConfig = readYaml('callpilot.yaml');
  assert.equal(job.static_configs[0].targets, [`${callpilotConfig.server.host}:${callpilotConfig.server.port}`], 'the target is callpilot server.host:port (host networking)');
  assert.is(prometheus.network_mode, compose.services.callpilot.network_mode, 'same network mode as callpilot');
  // /metrics needs a token: the credentials file is the compose config written from CALLPILOT_METRICS_TOKEN.
  const tokenConfig = (prometheus.configs as Array<{ source: string; target: string }>).find((c) => c.target === job.authorization.credentials_file);
  assert.ok(tokenConfig, 'the credentials file is mounted from a compose config');
  assert.match(String(compose.configs[tokenConfig.source].content), /CALLPILOT_METRICS_TOKEN/);
  const listen = (prometheus.command as string[]).find((c) => c.startsWith('--web.listen-address='))?.split('=')[1];
  assert.is(listen, '127.0.0.1:9090', 'Prometheus stays on loopback');
});

test('compose runs Grafana with the provisioning that loads the dashboard and the Prometheus datasource', () => {
  const grafana = compose.services.grafana;
  assert.ok(grafana, 'a grafana service');
  const provisioning = hostPathOf('grafana', '/etc/grafana/provisioning');
  assert.is(provisioning, join(DOCKER, 'grafana/provisioning'));
  const provider = readYaml('grafana/provisioning/dashboards/callpilot.yml').providers[0];
  assert.is(provider.type, 'file');
  const dashboardsHost = hostPathOf('grafana', provider.options.path);
  assert.ok(dashboardsHost && statSync(dashboardsHost).isDirectory(), `the provider path ${provider.options.path} is a mounted folder`);
  assert.ok(readdirSync(dashboardsHost).includes('callpilot.json'), 'the dashboard is in it');
  const datasource = readYaml('grafana/provisioning/datasources/callpilot.yml').datasources[0];
  assert.is(datasource.type, 'prometheus');
  const listen = (compose.services.prometheus.command as string[]).find((c) => c.startsWith('--web.listen-address='))?.split('=')[1];
  assert.is(new URL(datasource.url).host, listen, 'the datasource is the compose Prometheus');
  assert.is(grafana.environment.GF_SERVER_HTTP_ADDR, '127.0.0.1');
  assert.match(grafana.environment.GF_SECURITY_ADMIN_PASSWORD, /^\$\{GRAFANA_ADMIN_PASSWORD:\?/, 'no default admin password');
  for (const m of [...bindMounts('grafana'), ...bindMounts('prometheus')]) assert.ok(existsSync(m.host), `${m.host} exists`);
});

test.run();
