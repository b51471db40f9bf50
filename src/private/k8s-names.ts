/** DNS-1123 label: the form of a Kubernetes namespace name. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** DNS-1123 subdomain: the form of a ServiceAccount name. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `name` is not a valid namespace, or undefined when it is. */
export function namespaceProblem(name: string): string | undefined {
  if (name.length > 63) {
    return `it is ${name.length} characters long; a namespace is a DNS-1123 label of at most 63 characters`;
  }
  if (!DNS1123_LABEL.test(name)) {
    return 'a namespace is a DNS-1123 label: lower-case letters, digits and \'-\', starting and ending with a letter or digit';
  }
  return undefined;
}

/** Why `name` is not a valid ServiceAccount name, or undefined when it is. */
export function serviceAccountProblem(name: string): string | undefined {
  if (name.length > 253) {
    return `it is ${name.length} characters long; a service account name is a DNS-1123 subdomain of at most 253 characters`;
  }
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return 'a service account name is a DNS-1123 subdomain: lower-case letters, digits, \'-\' and \'.\', each dot-separated part starting and ending with a letter or digit';
  }
  return undefined;
}
