/** Writing the status record onto the desired pod, and the record's share of the annotation limit. */
import { isObject, type JsonObject } from '../../common/json.ts';
import { STATUS_ANNOTATION } from '../../common/labels.ts';
import { NULL_SUFFIX, type StatusRecord } from '../status.ts';
import { annotationsTooLarge } from '../validate-pod.ts';

/** `pod` with `status` in its annotations; `created` lists the fields injection created (metadata and annotations are added here when missing). */
export function withStatus(pod: JsonObject, status: StatusRecord, created: string[]): JsonObject {
  const meta: JsonObject = isObject(pod.metadata) ? { ...pod.metadata } : {};
  if (!isObject(pod.metadata)) created.push(pod.metadata === null ? `metadata${NULL_SUFFIX}` : 'metadata');
  if (!isObject(meta.annotations)) created.push(meta.annotations === null ? `metadata.annotations${NULL_SUFFIX}` : 'metadata.annotations');
  const record: StatusRecord = created.length > 0 ? { ...status, created } : status;
  meta.annotations = { ...(isObject(meta.annotations) ? meta.annotations : {}), [STATUS_ANNOTATION]: JSON.stringify(record) };
  return { ...pod, metadata: meta };
}

/** The pod was validated without its status record: does adding it cross the annotation limit? */
export function recordCrossesLimit(without: JsonObject, withRecord: JsonObject): boolean {
  const annotationsOf = (p: JsonObject) => (isObject(p.metadata) ? p.metadata.annotations : undefined);
  return annotationsTooLarge(annotationsOf(withRecord)) && !annotationsTooLarge(annotationsOf(without));
}
