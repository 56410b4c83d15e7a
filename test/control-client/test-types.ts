/**
 * Test resource types over fixtures/test_resources.proto, implementing the client's ResourceType:
 * `Thing` is all-resources-required in SotW (like LDS/CDS), `Assignment` is not (like EDS) and takes
 * its name from cluster_name. A value containing "bad" fails validation.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ResourceType, ValidationResult } from '../../control-client/index.js';

const root = new protobuf.Root().loadSync(
  fileURLToPath(new URL('./fixtures/test_resources.proto', import.meta.url)),
  {
    keepCase: true,
  },
);
const ThingMsg = root.lookupType('remora.test.Thing');
const AssignmentMsg = root.lookupType('remora.test.Assignment');

export const THING_URL = 'type.googleapis.com/remora.test.Thing';
export const ASSIGNMENT_URL = 'type.googleapis.com/remora.test.Assignment';

export interface Thing {
  name: string;
  value: string;
}

export interface Assignment {
  cluster_name: string;
  addresses: string[];
}

export const thingType: ResourceType<Thing, Thing> = {
  typeUrl: THING_URL,
  allResourcesRequiredInSotW: true,
  decode: (bytes) => ThingMsg.toObject(ThingMsg.decode(bytes), { defaults: true }) as Thing,
  name: (raw) => raw.name,
  validate(raw): ValidationResult<Thing> {
    const errors: string[] = [];
    if (raw.value.includes('bad')) errors.push(`value: "${raw.value}" is not allowed`);
    if (raw.value === '') errors.push('value: must not be empty');
    return errors.length > 0 ? { errors } : { value: { name: raw.name, value: raw.value } };
  },
  equal: (a, b) => a.name === b.name && a.value === b.value,
};

export const assignmentType: ResourceType<Assignment, Assignment> = {
  typeUrl: ASSIGNMENT_URL,
  allResourcesRequiredInSotW: false,
  decode: (bytes) =>
    AssignmentMsg.toObject(AssignmentMsg.decode(bytes), { defaults: true, arrays: true }) as Assignment,
  name: (raw) => raw.cluster_name,
  validate(raw): ValidationResult<Assignment> {
    const bad = raw.addresses.filter((a) => a.includes('bad'));
    if (bad.length > 0) return { errors: bad.map((a) => `addresses: "${a}" is not an address`) };
    return { value: { cluster_name: raw.cluster_name, addresses: [...raw.addresses] } };
  },
  equal: (a, b) => a.cluster_name === b.cluster_name && a.addresses.join(',') === b.addresses.join(','),
};

export function thingAny(name: string, value: string): { type_url: string; value: Buffer } {
  return {
    type_url: THING_URL,
    value: Buffer.from(ThingMsg.encode(ThingMsg.fromObject({ name, value })).finish()),
  };
}

export function assignmentAny(clusterName: string, addresses: string[]): { type_url: string; value: Buffer } {
  const msg = AssignmentMsg.fromObject({ cluster_name: clusterName, addresses });
  return { type_url: ASSIGNMENT_URL, value: Buffer.from(AssignmentMsg.encode(msg).finish()) };
}
