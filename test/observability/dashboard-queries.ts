import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/e2e.ts';

/** The Grafana dashboard the compose demo provisions (docker/grafana/dashboards/callpilot.json). */
export function readDashboard(): Record<string, any> {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'docker/grafana/dashboards/callpilot.json'), 'utf8')) as Record<string, any>;
}

/** Grafana's interval variables become durations, so the text is plain PromQL (`$pbx` inside strings stays). */
export function expandGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
}

export interface DashboardQuery {
  where: string;
  expr: string;
  /** For a `label_values(metric, label)` variable: the label. */
  labelValues?: string;
}

/** Every PromQL text of the dashboard: panel targets and the `label_values(metric, label)` variable queries. */
export function dashboardQueries(dashboard = readDashboard()): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: any[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) out.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const m = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(typeof v.query === 'string' ? v.query : v.query.query);
    assert.ok(m, `variable ${v.name}: a label_values(metric, label) query`);
    out.push({ where: `variable ${v.name}`, expr: m[1]!, labelValues: m[2]! });
  }
  return out;
}
