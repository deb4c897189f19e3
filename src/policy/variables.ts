/** A named CEL expression of a policy (`spec.variables`), read by later ones as `variables.NAME`. */
export interface Variable {
  name: string;
  expression: string;
}
