import * as fs from 'fs';
import * as path from 'path';
import { App as Cdk8sApp, Yaml } from 'cdk8s';
import { FleetPlan } from './fleet-plan';
import { renderIndex, renderRunbook, TrustLength, WaveReport } from '../runbook';
import { ServiceAccountChart } from '../service-account-chart';

/**
 * Writes what the operator applies and follows into the cloud assembly: ServiceAccount manifests
 * per cluster and wave (`k8s/`), a runbook per wave and the plan index (`runbooks/`), and the
 * `cdk import` mapping of each stack with adopted roles (`import/`).
 */
export function writeArtifacts(outdir: string, reports: WaveReport[], fleet: FleetPlan, trust: TrustLength[],
  imports: { stackName: string; mapping: { [logicalId: string]: { RoleName: string } } }[]): void {
  const k8sApp = new Cdk8sApp();
  for (const report of reports) {
    for (const cluster of report.clusters) {
      const chart = new ServiceAccountChart(k8sApp, `${cluster.name}-${report.wave}`, {
        serviceAccounts: cluster.placements.map((p) => p.sa),
        phase: report.phase,
      });
      const file = path.join(outdir, 'k8s', cluster.name, `${report.wave}.yaml`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, chart.rendered.length > 0 ? Yaml.stringify(...chart.toJson()) : '# no ServiceAccount of this wave is rendered here (Helm-managed ones are patched through their release; see the runbook)\n');
    }
  }
  const runbooks = path.join(outdir, 'runbooks');
  fs.mkdirSync(runbooks, { recursive: true });
  for (const report of reports) {
    fs.writeFileSync(path.join(runbooks, `${report.wave}.md`), renderRunbook(report));
  }
  fs.writeFileSync(path.join(runbooks, 'index.md'), renderIndex(reports, fleet.excluded, fleet.unassigned, 'markdown', trust));
  const dir = path.join(outdir, 'import');
  fs.mkdirSync(dir, { recursive: true });
  for (const { stackName, mapping } of imports) {
    fs.writeFileSync(path.join(dir, `${stackName}.json`), JSON.stringify(mapping, null, 2) + '\n');
  }
}
