import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * An error that names the construct (by its class and path) so the user can find the bad input.
 *
 * Messages say what is wrong, show the value and say how to fix it.
 */
export function constructError(scope: IConstruct, kind: string, message: string): Error {
  return new Error(`${kind} at '${scope.node.path}': ${message}`);
}

/**
 * An error about an input file: the reader that read it (`IrsaInventory`, `MigrationFiles`), the
 * file (and where in it), then what is wrong, the value and how to fix it. The counterpart of
 * `constructError` for what comes from files rather than from props.
 */
export function fileError(reader: string, file: string, message: string): Error {
  return new Error(`${reader}: ${file}: ${message}`);
}

/** Renders a value for an error message; a value known only at deploy time is said to be one, never shown as a token. */
export function show(value: unknown): string {
  if (Token.isUnresolved(value)) {
    return '(a value known only at deploy time)';
  }
  return JSON.stringify(value);
}

/** A cluster for an error message: its name, or the construct it was referenced from when the name is a token. */
export function clusterLabel(cluster: { readonly clusterName: string; readonly clusterConstruct?: IConstruct }): string {
  if (!Token.isUnresolved(cluster.clusterName)) {
    return JSON.stringify(cluster.clusterName);
  }
  return cluster.clusterConstruct ? `at '${cluster.clusterConstruct.node.path}'` : show(cluster.clusterName);
}
