/** A seeded PRNG and byte mutators for the fuzz tests: failures reproduce from the printed seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed: FUZZ_SEED from the environment, else a fixed one (CI stays deterministic). */
export const SEED = Number(process.env.FUZZ_SEED ?? 0x5a17ca7);
/** Iterations per target; FUZZ_ITERATIONS raises it for a longer local run. */
export const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 20_000);

/** One random structural mutation of `input`: bit flips, byte sets, cuts, inserts, length-field edits. */
export function mutate(input: Buffer, r: () => number): Buffer {
  const b = Buffer.from(input);
  const pick = (n: number) => Math.floor(r() * n);
  const interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x2e, 0x40, 0xc0, 0x3f, 0x20, 0x0d, 0x0a];
  const rounds = 1 + pick(4);
  let out = b;
  for (let k = 0; k < rounds && out.length > 0; k++) {
    const at = pick(out.length);
    switch (pick(6)) {
      case 0:
        out[at] = out[at]! ^ (1 << pick(8));
        break;
      case 1:
        out[at] = interesting[pick(interesting.length)]!;
        break;
      case 2:
        out = out.subarray(0, at);
        break;
      case 3: {
        const ins = Buffer.from(Array.from({ length: 1 + pick(8) }, () => pick(256)));
        out = Buffer.concat([out.subarray(0, at), ins, out.subarray(at)]);
        break;
      }
      case 4: // a 16-bit length field set to an edge value
        if (at + 1 < out.length) out.writeUInt16BE([0, 1, 0xff, 0x100, 0x3fff, 0x4000, 0xffff][pick(7)]!, at);
        break;
      default: {
        const from = pick(out.length);
        const len = 1 + pick(Math.min(32, out.length - from));
        out = Buffer.concat([out.subarray(0, at), out.subarray(from, from + len), out.subarray(at)]);
      }
    }
  }
  return out;
}
