import * as fs from 'fs';
import * as path from 'path';
import { FleetPlan } from './design';
import { FoundationEntry, foundationRunbookFiles } from './foundation-runbook';
import { ProviderEntry, providerRunbookFiles } from './provider-runbook';
import { renderIndex, renderRunbook } from '../runbook';
import { serviceAccountYaml } from './service-account-documents';
import { TrustLength, WaveReport } from './wave-report';
import { ScriptFile, waveScriptFiles } from './wave-scripts';

/**
 * Writes what the operator applies and follows into the cloud assembly: ServiceAccount manifests
 * per cluster and wave (`k8s/`, for GitOps repositories; none where nothing is rendered), a runbook
 * per wave with its scripts, the plan index and the OIDC provider retirement (`runbooks/`), and the
 * `cdk import` mapping of each stack with adopted roles or an adopted provider (`import/`).
 */
export function writeArtifacts(outdir: string, reports: WaveReport[], fleet: FleetPlan, trust: TrustLength[],
  imports: { stackName: string; mapping: { [logicalId: string]: { [property: string]: string } } }[], providers: ProviderEntry[] = [],
  foundation?: FoundationEntry): void {
  // one mkdir per folder, not per file (hundreds of files in a fleet)
  const made = new Set<string>();
  const mkdir = (dir: string) => {
    if (!made.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
  };
  for (const report of reports) {
    for (const cluster of report.clusters) {
      // what ServiceAccountChart renders (Helm-managed accounts are not, nor those of a managed
      // add-on, which EKS writes), without a cdk8s App per chart
      const rendered = cluster.placements.filter((p) => p.addon === undefined).map((p) => p.sa).filter((sa) => sa.helmRelease === undefined);
      if (rendered.length > 0) {
        const file = path.join(outdir, 'k8s', cluster.name, `${report.wave}.yaml`);
        mkdir(path.dirname(file));
        fs.writeFileSync(file, rendered.map((sa) => serviceAccountYaml(sa, report.phase)).join('---\n'));
      }
    }
  }
  const runbooks = path.join(outdir, 'runbooks');
  mkdir(runbooks);
  const write = (file: ScriptFile) => {
    const target = path.join(runbooks, file.path);
    mkdir(path.dirname(target));
    fs.writeFileSync(target, file.text, { mode: file.executable ? 0o755 : 0o644 });
    if (file.executable) {
      fs.chmodSync(target, 0o755);
    }
  };
  for (const report of reports) {
    fs.writeFileSync(path.join(runbooks, `${report.wave}.md`), renderRunbook(report));
    waveScriptFiles(report).forEach(write);
  }
  providerRunbookFiles(providers, reports.flatMap((r) => r.clusters.map((c) => c.region))).forEach(write);
  foundationRunbookFiles(foundation).forEach(write);
  fs.writeFileSync(path.join(runbooks, 'index.md'), renderIndex(reports, fleet.excluded, fleet.unassigned, 'markdown', trust, foundation?.clusters.length ?? 0));
  const dir = path.join(outdir, 'import');
  fs.mkdirSync(dir, { recursive: true });
  for (const { stackName, mapping } of imports) {
    fs.writeFileSync(path.join(dir, `${stackName}.json`), JSON.stringify(mapping, null, 2) + '\n');
  }
}
