import { IConstruct } from 'constructs';

/**
 * An error that names the construct (by its class and path) so the user can find the bad input.
 *
 * Messages say what is wrong, show the value and say how to fix it.
 */
export function constructError(scope: IConstruct, kind: string, message: string): Error {
  return new Error(`${kind} at '${scope.node.path}': ${message}`);
}

/** Renders a value for an error message. */
export function show(value: unknown): string {
  return JSON.stringify(value);
}
