export * from './model.js';
export { loadSettings, layerFiles, type SettingsPaths } from './files.js';
export { mergeLayers, parseLayer, type RawLayer } from './merge.js';
export { settingsFileSchema, ENV_NAME, isEnabled } from './schema.js';
