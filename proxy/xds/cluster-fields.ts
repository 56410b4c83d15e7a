/**
 * The cluster translators' readers now live in proxy/config/fields.ts (one set for every
 * translator). This re-export remains for importers under proxy/upstream/ and proxy/xds/cluster.ts,
 * which other engineers are editing; once they import ../config/fields.js directly it can go.
 */
export {
  isObject,
  readArray,
  readBool,
  readDurationMs,
  readEnum,
  readObject,
  readString,
  readUint,
  rejectUnknown,
} from '../config/fields.js';
