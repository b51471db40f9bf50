import { CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * A CloudFormation resource as it synthesizes: recognised by its type, whatever class made it
 * (aws-eks, aws-eks-v2 or a plain `CfnResource`), with its properties as CloudFormation reads them
 * (PascalCase, tokens resolved in its stack).
 */
export interface Synthesized {
  readonly resource: CfnResource;
  readonly type: string;
  readonly properties: any;
}

/** The resource `c` synthesizes, if it is a CloudFormation resource of one of `types`. */
export function synthesized(c: IConstruct, ...types: string[]): Synthesized | undefined {
  if (!CfnResource.isCfnResource(c) || (types.length > 0 && !types.includes(c.cfnResourceType))) {
    return undefined;
  }
  const rendered = Stack.of(c).resolve((c as any)._toCloudFormation());
  const body = Object.values<any>(rendered?.Resources ?? {})[0] ?? {};
  return { resource: c, type: c.cfnResourceType, properties: body.Properties ?? {} };
}

/** Every resource of `types` in the tree under `scope`, as it synthesizes. */
export function synthesizedUnder(scope: IConstruct, ...types: string[]): Synthesized[] {
  return scope.node.findAll()
    .filter((c) => CfnResource.isCfnResource(c) && types.includes(c.cfnResourceType))
    .map((c) => synthesized(c)!);
}
