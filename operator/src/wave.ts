/**
 * A wave's runbook folder as the synthesized app wrote it (runbooks/<wave>/): the clusters and the
 * service accounts the steps loop over. The same files lib.sh reads, parsed once.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Target } from 'cdk-eks-pod-identity/lib/operator/verify-checks';

/** A cluster of the wave (a line of clusters.tsv). */
export interface WaveCluster {
  readonly name: string;
  readonly region: string;
  readonly account: string;
  /** The cluster's ARN: the kubeconfig context `aws eks update-kubeconfig` names it by. */
  readonly arn: string;
  readonly computeType: string;
}

/** A service account of the wave (a line of targets.tsv), with what verify --sts expects. */
export interface WaveTarget extends Target {
  readonly helmRelease: string;
  /** The assumed-role ARN prefix `sts get-caller-identity` shows under Pod Identity. */
  readonly podIdentityIdentity: string;
  /** The assumed-role ARN prefix `sts get-caller-identity` shows under IRSA. */
  readonly irsaIdentity: string;
}

export interface Wave {
  readonly name: string;
  readonly dir: string;
  readonly clusters: readonly WaveCluster[];
  readonly targets: readonly WaveTarget[];
}

/** A wave folder the step cannot read. */
export class WaveError extends Error {}

/** The rows of a tab-separated file, without its `#` lines and blank lines. */
export function readTsv(file: string): string[][] {
  if (!fs.existsSync(file)) {
    throw new WaveError(`${file} is missing: the step runs on a wave's folder of a synthesized runbooks/ folder (cdk synth writes it)`);
  }
  return fs.readFileSync(file, 'utf-8').split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split('\t'));
}

const dash = (v: string | undefined): string | undefined => (v === undefined || v === '' || v === '-' ? undefined : v);

/** Reads a wave's folder (wave.tsv, clusters.tsv, targets.tsv). */
export function readWave(dir: string): Wave {
  const wave = readTsv(path.join(dir, 'wave.tsv')).find((r) => r[0] === 'wave')?.[1];
  if (wave === undefined) {
    throw new WaveError(`${path.join(dir, 'wave.tsv')}: no 'wave' line; is ${dir} a wave's folder of a synthesized runbooks/ folder?`);
  }
  const clusters: WaveCluster[] = readTsv(path.join(dir, 'clusters.tsv')).map(([name, region, account, arn, computeType]) =>
    ({ name, region, account, arn, computeType }));
  const arnOf = new Map(clusters.map((c) => [c.name, c.arn]));
  const targets: WaveTarget[] = readTsv(path.join(dir, 'targets.tsv')).map((r) => {
    const [cluster, namespace, serviceAccount, irsaRoleArn, associationRoleArn, targetRoleArn, irsaTrust, oidcProviderArn, issuer,
      podTrust, helmRelease, podIdentityIdentity, irsaIdentity, addon, addonVersion] = r;
    const clusterArn = arnOf.get(cluster);
    if (clusterArn === undefined) {
      throw new WaveError(`${path.join(dir, 'targets.tsv')}: cluster ${cluster} of ${namespace}/${serviceAccount} is not in clusters.tsv; synthesize again`);
    }
    return {
      cluster,
      clusterArn,
      namespace,
      serviceAccount,
      irsaRoleArn,
      associationRoleArn,
      targetRoleArn: dash(targetRoleArn),
      irsaTrust: irsaTrust === 'kept' ? 'kept' : 'ends',
      oidcProviderArn,
      issuer,
      podTrust: podTrust === 'always' ? 'always' : 'phased',
      helmRelease,
      podIdentityIdentity,
      irsaIdentity,
      addon: dash(addon) === undefined ? undefined : { name: addon, version: addonVersion },
    };
  });
  return { name: wave, dir, clusters, targets };
}
