/** Field paths in validation errors: `spec.containers[0].resources.limits["nvidia.com/gpu"]`. */

export interface FieldError {
  path: string;
  message: string;
}

/** `path` and one more key; a key that is not an identifier is written in brackets, quoted. */
export function join(path: string, key: string): string {
  const k = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (!path) return k;
  return k.startsWith('[') ? `${path}${k}` : `${path}.${k}`;
}
