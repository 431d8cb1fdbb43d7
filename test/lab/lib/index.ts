/** The lab harness: see lab.ts for the picture and the API. */
export { createLab, labSkipReason, LAB_IP, LAB_NAMES, REPO_ROOT, type Lab, type LabOptions, type CurlResult, type DigResult, type HttpEvent, type DnsEvent, type UpstreamEvent, type Role, type SettingsLayer } from './lab.js';
export { execIn, mustExec, spawnIn, stopChild, waitFor, sleep, onLines, onJsonLines, runningProcesses, type ExecResult, type ExecOptions } from './exec.js';
export { createServedGitRepo } from './git-repo.js';
export { mintTestPki, type TestPki } from './test-ca.js';
export { parseWgQuick, toWgSetconf, type WgQuickConfig } from './wg-quick.js';
