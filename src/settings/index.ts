export * from './model.js';
export { loadSettings, layerFiles, type SettingsPaths } from './files.js';
export { mergeLayers, parseLayer, LAYER_ORDER, type RawLayer } from './merge.js';
export { settingsFileSchema, ENV_NAME, isEnabled } from './schema.js';
export { watchSettings, type SettingsWatcher, type WatchOptions } from './watch.js';
export { describeSettingsChange, type SettingsChange } from './describe-change.js';
