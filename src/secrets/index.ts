export {
  SecretVault,
  SecretLeakError,
  CleartextSecretError,
  MIN_SCRUB_LENGTH,
  type ResolvedSecret,
  type SubstitutionResult,
  type PlaceholderMatch,
  type Destination,
} from './vault.js';
export { WindowedReplace } from './windowed-replace.js';
export { substituteUrl, placeholdersInUrl, percentEncodeBytes } from './url.js';
export {
  substituteHeaderValue,
  substituteRawHeaders,
  substituteHeaderMap,
  placeholdersInHeader,
  scrubRawHeaders,
  scrubHeaderMap,
  type HeaderMap,
} from './headers.js';
export {
  substituteRequestHead,
  placeholdersInRequestHead,
  requestBodyPlan,
  leakMessage,
  cleartextMessage,
  type RequestHead,
  type HeadResult,
  type HeadBlock,
  type BodyPlan,
  type BodyPlanInput,
} from './request.js';
export { responseBodyPlan, type ResponseBodyPlan, type ResponseBodyInput } from './response.js';
export { parseContentEncoding, limitAcceptEncoding, decodersFor, encodersFor, SUPPORTED_CODINGS, type Coding } from './content-coding.js';
