/** The shape of core-v1.generated.ts: core/v1 OpenAPI definitions trimmed to what validation reads. */

/** A trimmed OpenAPI node: the fields of the spec that validation reads, nothing else. */
export type CoreNode = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: string[];
  items?: CoreNode;
  properties?: Record<string, CoreNode>;
  required?: string[];
  additionalProperties?: CoreNode;
  'x-kubernetes-list-map-keys'?: string[];
};

export interface CoreV1 {
  kubernetesVersion: string;
  definitions: Record<string, CoreNode>;
}
