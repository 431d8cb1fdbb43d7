export { SecretVault, SecretLeakError, type ResolvedSecret, type SubstitutionResult } from './vault.js';
