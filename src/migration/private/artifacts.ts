import { FleetDesign } from './design';
import { FoundationEntry, foundationRunbookFiles } from './foundation-runbook';
import { ProviderEntry, providerRunbookFiles } from './provider-runbook';
import { renderIndex, renderRunbook } from '../runbook';
import { serviceAccountYaml } from './service-account-documents';
import { TrustLength, WaveReport } from './wave-report';
import { ScriptFile, waveScriptFiles } from './wave-scripts';

/**
 * What the operator applies and follows, as files of the cloud assembly (paths relative to it):
 * ServiceAccount manifests per cluster and wave (`k8s/`, for GitOps repositories; none where
 * nothing is rendered), a runbook per wave with its scripts, the plan index and the OIDC provider
 * retirement (`runbooks/`), and the `cdk import` mapping of each stack with adopted roles or an
 * adopted provider (`import/`). Pure: `writeFiles` writes them.
 */
export function artifactFiles(reports: WaveReport[], fleet: FleetDesign, trust: TrustLength[],
  imports: { stackName: string; mapping: { [logicalId: string]: { [property: string]: string } } }[], providers: ProviderEntry[] = [],
  foundation?: FoundationEntry): ScriptFile[] {
  const files: ScriptFile[] = [];
  const file = (name: string, text: string) => files.push({ path: name, text, executable: false });
  for (const report of reports) {
    for (const cluster of report.clusters) {
      // what ServiceAccountChart renders (Helm-managed accounts are not, nor those of a managed
      // add-on, which EKS writes), without a cdk8s App per chart
      const rendered = cluster.assignments.filter((p) => p.addon === undefined).map((p) => p.sa).filter((sa) => sa.helmRelease === undefined);
      if (rendered.length > 0) {
        file(`k8s/${cluster.name}/${report.wave}.yaml`, rendered.map((sa) => serviceAccountYaml(sa, report.phase)).join('---\n'));
      }
    }
  }
  const runbook = (f: ScriptFile) => files.push({ ...f, path: `runbooks/${f.path}` });
  for (const report of reports) {
    file(`runbooks/${report.wave}.md`, renderRunbook(report));
    waveScriptFiles(report).forEach(runbook);
  }
  providerRunbookFiles(providers, reports.flatMap((r) => r.clusters.map((c) => c.region))).forEach(runbook);
  foundationRunbookFiles(foundation).forEach(runbook);
  file('runbooks/index.md', renderIndex(reports, fleet.excluded, fleet.unassigned, 'markdown', trust, foundation?.clusters.length ?? 0));
  for (const { stackName, mapping } of imports) {
    file(`import/${stackName}.json`, JSON.stringify(mapping, null, 2) + '\n');
  }
  return files;
}
