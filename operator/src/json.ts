/**
 * --json: a step's whole result for pipelines, every check with what it expected and what it saw.
 */
import { CheckLine } from 'cdk-eks-pod-identity/lib/operator/verify-checks';

/**
 * One check of --json: whom it is about, the check, its status, and for a check that compares (PASS,
 * FAIL) the two values compared, as the check itself holds them (not read back from the line).
 */
export interface JsonCheck {
  /** The cluster's name, or `-` for the wave's own checks (the assembly, the deploy). */
  readonly cluster: string;
  /** `<namespace>/<serviceAccount>`, or `-` for a cluster's own check. */
  readonly serviceAccount: string;
  /** The check's name: the word(s) its line starts with (`association`, `trust`, `no IRSA pods`, ...). */
  readonly check: string;
  readonly status: CheckLine['status'];
  /** What the check expected; null on a line that compares nothing (INFO, DO, TODO, WAIT, CANNOT-CHECK). */
  readonly expected: string | null;
  /** What it saw, or the error that kept it from seeing; null where `expected` is. */
  readonly seen: string | null;
  /** The rest of the line, as printed. */
  readonly detail: string;
}

export function jsonCheck(line: CheckLine): JsonCheck {
  const [cluster, serviceAccount] = line.who.split(' ');
  const colon = line.text.indexOf(': ');
  return {
    cluster,
    serviceAccount,
    check: colon < 0 ? line.text : line.text.slice(0, colon),
    status: line.status,
    expected: line.expected ?? null,
    seen: line.seen ?? null,
    detail: colon < 0 ? '' : line.text.slice(colon + 2),
  };
}

/** The --json document of a step: the wave, the step, how many checks failed, every check in the order printed. */
export function jsonResult(head: { [field: string]: string }, failed: number, checks: readonly CheckLine[]): string {
  return JSON.stringify({ ...head, failed, checks: checks.map(jsonCheck) }, undefined, 2) + '\n';
}
