/**
 * @peculiar/x509 loads tsyringe, which refuses to load without the Reflect metadata API
 * (normally the `reflect-metadata` package). x509 only needs the basic get/define calls, so a
 * small WeakMap-backed stand-in is enough; it is installed only when nothing else provided one.
 * Import this module before @peculiar/x509 (the daemon entry imports it first; so does the lab).
 */
type Store = Map<unknown, unknown>;
const metadata = new WeakMap<object, Map<string | symbol | undefined, Store>>();

function own(target: object, property: string | symbol | undefined, create: boolean): Store | undefined {
  let byProp = metadata.get(target);
  if (!byProp) {
    if (!create) return undefined;
    byProp = new Map();
    metadata.set(target, byProp);
  }
  let store = byProp.get(property);
  if (!store && create) {
    store = new Map();
    byProp.set(property, store);
  }
  return store;
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  const getOwnMetadata = (key: unknown, target: object, property?: string | symbol): unknown => own(target, property, false)?.get(key);
  const getMetadata = (key: unknown, target: object, property?: string | symbol): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const store = own(t, property, false);
      if (store?.has(key)) return store.get(key);
    }
    return undefined;
  };
  Object.assign(R, {
    defineMetadata: (key: unknown, value: unknown, target: object, property?: string | symbol) => void own(target, property, true)!.set(key, value),
    getOwnMetadata,
    getMetadata,
    hasOwnMetadata: (key: unknown, target: object, property?: string | symbol) => own(target, property, false)?.has(key) ?? false,
    hasMetadata: (key: unknown, target: object, property?: string | symbol) => getMetadata(key, target, property) !== undefined,
    metadata: (key: unknown, value: unknown) => (target: object, property?: string | symbol) => void own(target, property, true)!.set(key, value),
  });
}
export {};
