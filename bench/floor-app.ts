/**
 * The floor app: the same stacks and resources as the library's, from the spec `floorSpec()`
 * wrote: no planning, no checks, no manifests or runbooks. What CDK itself costs for these
 * templates, two ways:
 *
 * - `typed`: typed L1 resources (`CfnRole`, `CfnPodIdentityAssociation`, `CfnAddon`,
 *   `CfnParameter`, `CfnWaitConditionHandle`), as the library writes them;
 * - `plain`: plain `CfnResource`s with the template's properties as they are: no props
 *   validation or conversion, the cheapest way CDK writes a template.
 *
 *   node .bench/floor-app.js <spec.json> <outdir> [typed|plain]
 *
 * Prints one JSON line on exit: the process's peak resident memory and CPU time (user and system,
 * all threads) from getrusage, as /usr/bin/time reports them.
 */
import * as fs from 'fs';
import { App, CfnDeletionPolicy, CfnResource, CfnWaitConditionHandle, Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { FloorResource, FloorSpec } from './floor-spec';

const [specFile, outdir, kind = 'typed'] = process.argv.slice(2);
if (kind !== 'typed' && kind !== 'plain') {
  throw new Error(`floor: the kind is typed or plain, not ${kind}`);
}
process.on('exit', () => {
  const usage = process.resourceUsage();
  console.log(JSON.stringify({ maxRssKb: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }));
});

const spec: FloorSpec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
const app = new App({ outdir, analyticsReporting: false });

/** The construct at `ids` below `scope`, made of plain Constructs where missing. */
function scopeAt(scope: Construct, ids: string[]): Construct {
  let here = scope;
  for (const id of ids) {
    here = (here.node.tryFindChild(id) as Construct | undefined) ?? new Construct(here, id);
  }
  return here;
}

function resource(scope: Construct, id: string, r: FloorResource): CfnResource {
  if (kind === 'plain') {
    return new CfnResource(scope, id, { type: r.type, properties: Object.keys(r.properties).length > 0 ? r.properties : undefined });
  }
  const props: any = r.props;
  switch (r.type) {
    case 'AWS::IAM::Role': return new iam.CfnRole(scope, id, props);
    case 'AWS::EKS::PodIdentityAssociation': return new eks.CfnPodIdentityAssociation(scope, id, props);
    case 'AWS::EKS::Addon': return new eks.CfnAddon(scope, id, props);
    case 'AWS::SSM::Parameter': return new ssm.CfnParameter(scope, id, props);
    case 'AWS::CloudFormation::WaitConditionHandle': return new CfnWaitConditionHandle(scope, id);
    default: throw new Error(`floor: no L1 for ${r.type}`);
  }
}

const stacks = new Map<string, Stack>();
for (const s of spec.stacks) {
  const stack = new Stack(scopeAt(app, s.path.slice(0, -1)), s.path[s.path.length - 1], {
    stackName: s.stackName,
    env: { account: s.account, region: s.region },
  });
  stacks.set(s.path.join('/'), stack);
  const byPath = new Map<string, CfnResource>();
  for (const r of s.resources) {
    const cfn = resource(scopeAt(stack, r.path.slice(0, -1)), r.path[r.path.length - 1], r);
    if (r.deletionPolicy) {
      cfn.cfnOptions.deletionPolicy = r.deletionPolicy as CfnDeletionPolicy;
    }
    if (r.updateReplacePolicy) {
      cfn.cfnOptions.updateReplacePolicy = r.updateReplacePolicy as CfnDeletionPolicy;
    }
    byPath.set(r.path.join('/'), cfn);
  }
  for (const r of s.resources) {
    for (const d of r.dependsOn) {
      byPath.get(r.path.join('/'))!.addDependency(byPath.get(d)!);
    }
  }
}
for (const s of spec.stacks) {
  for (const d of s.dependsOn) {
    stacks.get(s.path.join('/'))!.addDependency(stacks.get(d)!);
  }
}
app.synth();
