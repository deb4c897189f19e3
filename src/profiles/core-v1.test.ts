import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { specErrors as errorsOf } from '../../test/support/profiles.ts';
import { coreObject, KUBERNETES_SCHEMA_VERSION } from './core-v1.ts';
import { suggest } from './validate.ts';

const sidecar = (fields: string) => errorsOf(`  containers:\n    - name: s\n      image: i\n${fields.replace(/^/gm, '      ')}\n`);

describe('sidecars are checked against the core/v1 Container schema', () => {
  test('the schema is the pinned Kubernetes version’s, with every Container field', () => {
    assert.match(KUBERNETES_SCHEMA_VERSION, /^1\.\d+\.\d+$/);
    const fields = Object.keys(coreObject('Container').properties ?? {});
    for (const f of ['command', 'args', 'resources', 'securityContext', 'livenessProbe', 'lifecycle', 'imagePullPolicy', 'restartPolicy', 'volumeDevices'])
      assert.ok(fields.includes(f), f);
  });

  test('a misspelt field is refused with the field it was probably meant as', () => {
    assert.deepEqual(sidecar('comand: [sh]'), ['spec.containers[0].comand: unknown field (did you mean "command"?)']);
    assert.deepEqual(sidecar('resource: {limits: {memory: 1Gi}}'), ['spec.containers[0].resource: unknown field (did you mean "resources"?)']);
    assert.deepEqual(sidecar('securityContext: {runAsNonRoot: true, readOnlyRootFilesytem: true}'), [
      'spec.containers[0].securityContext.readOnlyRootFilesytem: unknown field (did you mean "readOnlyRootFilesystem"?)',
    ]);
    assert.deepEqual(sidecar('livenessProbe: {httpGet: {port: 8080, paht: /healthz}}'), [
      'spec.containers[0].livenessProbe.httpGet.paht: unknown field (did you mean "path"?)',
    ]);
  });

  test('an unknown field with no near match lists the known ones', () => {
    const [e] = sidecar('resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired, extra: 1}]');
    assert.equal(e, 'spec.containers[0].resizePolicy[0].extra: unknown field; known fields are resourceName, restartPolicy');
  });

  test('suggest: case, swapped letters, a missing or extra letter; nothing far off', () => {
    const known = ['command', 'args', 'image', 'resources', 'ports'];
    assert.equal(suggest('Command', known), ' (did you mean "command"?)');
    assert.equal(suggest('comamnd', known), ' (did you mean "command"?)');
    assert.equal(suggest('imag', known), ' (did you mean "image"?)');
    assert.equal(suggest('portss', known), ' (did you mean "ports"?)');
    assert.equal(suggest('volumes', known), '; known fields are command, args, image, resources, ports');
  });

  test('wrong types name the field; YAML booleans in a list of strings say how to quote them', () => {
    assert.deepEqual(sidecar('command: [true]'), [
      'spec.containers[0].command[0]: must be a string, not boolean (YAML reads unquoted y, n, yes, no, on, off, true and false as booleans: write the value in quotes if a string was meant)',
    ]);
    assert.deepEqual(sidecar('args: "--verbose"'), ['spec.containers[0].args: must be a list, not string']);
    assert.deepEqual(sidecar('ports: [{containerPort: "8080"}]'), [
      'spec.containers[0].ports[0].containerPort: must be an integer, not string (write the number without quotes)',
    ]);
    assert.deepEqual(sidecar('stdin: "yes"'), ['spec.containers[0].stdin: must be true or false, not string']);
    // runAsUser is an int64, periodSeconds an int32.
    assert.deepEqual(sidecar('securityContext: {runAsUser: 3000000000}'), []);
    assert.deepEqual(sidecar('livenessProbe: {exec: {command: [x]}, periodSeconds: 3000000000}'), [
      'spec.containers[0].livenessProbe.periodSeconds: must be at most 2147483647',
    ]);
  });

  test('enum values come from the Kubernetes schema', () => {
    assert.deepEqual(sidecar('imagePullPolicy: Sometimes'), [
      'spec.containers[0].imagePullPolicy: must be one of "Always", "IfNotPresent", "Never", not "Sometimes"',
    ]);
    assert.deepEqual(sidecar('terminationMessagePolicy: Logs'), [
      'spec.containers[0].terminationMessagePolicy: must be one of "FallbackToLogsOnError", "File", not "Logs"',
    ]);
    assert.deepEqual(sidecar('ports: [{containerPort: 53, protocol: udp}]'), [
      'spec.containers[0].ports[0].protocol: must be one of "SCTP", "TCP", "UDP", not "udp"',
    ]);
    assert.deepEqual(sidecar('imagePullPolicy: IfNotPresent\nsecurityContext: {seccompProfile: {type: RuntimeDefault}}'), []);
    // Only native sidecars have a restartPolicy, and only Always.
    assert.deepEqual(sidecar('restartPolicy: OnFailure'), ['spec.containers[0].restartPolicy: must be one of "Always", not "OnFailure"']);
  });

  test('required fields of nested core/v1 types', () => {
    assert.deepEqual(sidecar('livenessProbe: {httpGet: {path: /healthz}}'), ['spec.containers[0].livenessProbe.httpGet.port: is required']);
    assert.deepEqual(sidecar('env: [{name: A, valueFrom: {secretKeyRef: {name: s}}}]'), ['spec.containers[0].env[0].valueFrom.secretKeyRef.key: is required']);
    assert.deepEqual(errorsOf('  volumeMounts: [{name: data}]\n'), ['spec.volumeMounts[0].mountPath: is required']);
  });

  test('int-or-string fields take a number or a name', () => {
    assert.deepEqual(sidecar('livenessProbe: {httpGet: {port: http}}'), []);
    assert.deepEqual(sidecar('livenessProbe: {tcpSocket: {port: 8080}}'), []);
    assert.deepEqual(sidecar('livenessProbe: {tcpSocket: {port: [8080]}}'), [
      'spec.containers[0].livenessProbe.tcpSocket.port: must be an integer or a string, not array',
    ]);
  });

  test('quantities parse as Kubernetes quantities, with the field named', () => {
    assert.deepEqual(sidecar('resources: {requests: {cpu: 100m, memory: 64Mi, ephemeral-storage: 1G}, limits: {cpu: 1, memory: "1.5Gi"}}'), []);
    assert.deepEqual(sidecar('resources: {limits: {memory: 64MB}}'), [
      'spec.containers[0].resources.limits.memory: "64MB" is not a quantity: write a number with an optional suffix, such as "500m", "1.5", "128Mi" or "1G"',
    ]);
    assert.deepEqual(sidecar('resources: {requests: {cpu: 0.5}}'), [
      'spec.containers[0].resources.requests.cpu: must be a quantity: an integer or a string such as "500m", not the number 0.5 (write it in quotes, as in "0.5")',
    ]);
    assert.deepEqual(sidecar('resources: {requests: {cpu: "-1"}}'), ['spec.containers[0].resources.requests.cpu: "-1" must not be negative']);
    assert.deepEqual(sidecar('resources: {limits: {"nvidia.com/gpu": true}}'), [
      'spec.containers[0].resources.limits["nvidia.com/gpu"]: must be a quantity such as "500m" or "1Gi", not boolean',
    ]);
  });

  test('volumes, env, envFrom and imagePullSecrets are core/v1 types too', () => {
    assert.deepEqual(errorsOf('  volumes: [{name: data, emptyDir: {sizeLimit: 1Gi, medum: Memory}}]\n'), [
      'spec.volumes[0].emptyDir.medum: unknown field (did you mean "medium"?)',
    ]);
    assert.deepEqual(errorsOf('  volumes: [{name: sock, hostPath: {path: /run/x.sock, type: Sokcet}}]\n'), [
      'spec.volumes[0].hostPath.type: must be one of "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket", not "Sokcet"',
    ]);
    assert.deepEqual(errorsOf('  env: [{name: A, valeu: b}]\n'), ['spec.env[0].valeu: unknown field (did you mean "value"?)']);
    assert.deepEqual(errorsOf('  envFrom: [{configMapRef: {name: c}, prefix: P_, secretref: {name: s}}]\n'), [
      'spec.envFrom[0].secretref: unknown field (did you mean "secretRef"?)',
    ]);
    assert.deepEqual(errorsOf('  imagePullSecrets: [{name: reg, namespace: x}]\n'), [
      'spec.imagePullSecrets[0].namespace: unknown field; known fields are name',
    ]);
    assert.deepEqual(errorsOf('  volumeMounts: [{name: data, mountPath: /d, mountPropagation: Both}]\n'), [
      'spec.volumeMounts[0].mountPropagation: must be one of "Bidirectional", "HostToContainer", "None", not "Both"',
    ]);
  });

  test('duplicates in lists Kubernetes keys by a field', () => {
    assert.deepEqual(sidecar('env: [{name: A, value: "1"}, {name: A, value: "2"}]'), [
      'spec.containers[0].env[1].name: "A" is already used by spec.containers[0].env[0]',
    ]);
    assert.deepEqual(sidecar('volumeDevices: [{name: a, devicePath: /dev/x}, {name: b, devicePath: /dev/x}]'), [
      'spec.containers[0].volumeDevices[1].devicePath: "/dev/x" is already used by spec.containers[0].volumeDevices[0]',
    ]);
  });
});
