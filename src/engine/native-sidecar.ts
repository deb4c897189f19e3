/** A sidecar container in native mode: an init container that keeps running (restartPolicy Always). */
import type { JsonObject } from '../common/json.ts';

export const asNativeSidecar = (c: JsonObject): JsonObject => (c.restartPolicy === 'Always' ? c : Object.freeze({ ...c, restartPolicy: 'Always' }));
